//go:build integration

package e2e

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
)

// proxyMode is what a faultProxy does with traffic.
type proxyMode int

const (
	// pass forwards every byte both ways.
	pass proxyMode = iota
	// refuse closes the listening socket, so new connections are refused
	// (RST from the kernel, as from a host whose service is down), and
	// resets the open ones.
	refuse
	// blackHole accepts connections and reads from both sides but forwards
	// nothing until the mode changes, as a partition that drops packets:
	// peers see silence, not an error. Bytes held meanwhile are delivered
	// when the link heals, as TCP retransmission would.
	blackHole
)

func (m proxyMode) String() string {
	return [...]string{"pass", "refuse", "black-hole"}[m]
}

// faultProxy is a TCP proxy on 127.0.0.1 in front of one target whose mode
// a test switches to inject network faults between two components.
type faultProxy struct {
	t      *testing.T
	target string
	addr   string // host:port, stable across refuse and pass

	mu      sync.Mutex
	mode    proxyMode
	changed chan struct{} // closed and replaced on every mode change
	ln      net.Listener
	conns   map[net.Conn]bool
}

// newFaultProxy listens on a free loopback port and forwards to target
// (host:port) in pass mode until the test ends.
func newFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{t: t, target: target, addr: ln.Addr().String(), changed: make(chan struct{}), conns: map[net.Conn]bool{}}
	p.serve(ln)
	t.Cleanup(p.close)
	return p
}

// Addr is the proxy's host:port.
func (p *faultProxy) Addr() string { return p.addr }

// URL is the proxy's address as an http URL.
func (p *faultProxy) URL() string { return "http://" + p.addr }

// Set switches the mode.
func (p *faultProxy) Set(m proxyMode) {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if m == p.mode {
		return
	}
	p.t.Logf("fault proxy %s → %s: %s", p.addr, p.target, m)
	p.mode = m
	close(p.changed)
	p.changed = make(chan struct{})
	switch m {
	case refuse:
		if p.ln != nil {
			_ = p.ln.Close()
			p.ln = nil
		}
		for c := range p.conns {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // RST, not FIN
			}
			_ = c.Close()
		}
	default:
		if p.ln == nil {
			// The same port again: clients keep their configured address.
			ln, err := net.Listen("tcp", p.addr)
			if err != nil {
				p.t.Errorf("fault proxy: listening again on %s: %v", p.addr, err)
				return
			}
			p.serve(ln)
		}
	}
}

// serve accepts on ln until it is closed; called with p.mu held or before
// the proxy is shared.
func (p *faultProxy) serve(ln net.Listener) {
	p.ln = ln
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.ln != ln {
				p.mu.Unlock()
				_ = c.Close()
				return
			}
			p.conns[c] = true
			p.mu.Unlock()
			go p.handle(c)
		}
	}()
}

func (p *faultProxy) handle(c net.Conn) {
	defer p.drop(c)
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	p.mu.Lock()
	if p.mode == refuse {
		p.mu.Unlock()
		_ = up.Close()
		return
	}
	p.conns[up] = true
	p.mu.Unlock()
	defer p.drop(up)
	done := make(chan struct{}, 2)
	go func() { p.pipe(up, c); done <- struct{}{} }()
	go func() { p.pipe(c, up); done <- struct{}{} }()
	<-done
	<-done
}

// pipe copies src to dst, holding each chunk while the proxy black-holes.
// An end of stream is passed on as a half close; any other end closes both.
func (p *faultProxy) pipe(dst, src net.Conn) {
	broken := func() { _ = dst.Close(); _ = src.Close() }
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitForward() {
				broken()
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				broken()
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				broken()
				return
			}
			if tc, ok := dst.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			}
			return
		}
	}
}

// waitForward blocks while the proxy black-holes and reports whether the
// connection may carry on (false once it refuses).
func (p *faultProxy) waitForward() bool {
	for {
		p.mu.Lock()
		m, ch := p.mode, p.changed
		p.mu.Unlock()
		switch m {
		case pass:
			return true
		case refuse:
			return false
		}
		<-ch
	}
}

func (p *faultProxy) drop(c net.Conn) {
	_ = c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *faultProxy) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	p.mode = refuse
	close(p.changed)
	p.changed = make(chan struct{})
	for c := range p.conns {
		_ = c.Close()
	}
}
