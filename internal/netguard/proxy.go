package netguard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Proxy is a forward HTTP proxy whose outbound connections go through a
// Guard. The worker runs one on loopback and points yt-dlp (a Python program
// that resolves and connects on its own) at it, so yt-dlp's connections get
// the same connect-time check as riptide's own: CONNECT tunnels for https,
// absolute-URL requests for plain http.
type Proxy struct {
	guard     *Guard
	logger    *slog.Logger
	transport *http.Transport
	srv       *http.Server
	ln        net.Listener
	wg        sync.WaitGroup

	// upstream finds the operator's proxy a client named (SetUpstreams).
	upstream   func(name string) Upstream
	transports map[string]*http.Transport

	mu      sync.Mutex
	closed  bool
	tunnels map[net.Conn]struct{} // hijacked, so srv.Close does not see them
}

// StartProxy listens on a free loopback port and serves until Close.
func StartProxy(g *Guard, logger *slog.Logger) (*Proxy, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{guard: g, logger: logger, transport: g.Transport(), ln: ln, tunnels: map[net.Conn]struct{}{}}
	// No ReadTimeout or WriteTimeout: a response the proxy forwards is a
	// media download that may take hours (and net/http cancels a request
	// when its ReadTimeout passes mid-response). The header and idle
	// timeouts still free a connection that sends nothing.
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second}
	p.wg.Go(func() { _ = p.srv.Serve(ln) })
	return p, nil
}

// URL is the proxy's address for yt-dlp's --proxy option.
func (p *Proxy) URL() string { return "http://" + p.ln.Addr().String() }

// SetUpstreams lets clients name an upstream proxy (URLVia) that carries
// their connections after the guard has checked them. Call it before the
// proxy serves jobs.
func (p *Proxy) SetUpstreams(find func(name string) Upstream) { p.upstream = find }

// URLVia is URL for a client whose connections go through the upstream
// proxy named name (a proxypool name: letters and digits): the name rides
// as the proxy URL's user, which yt-dlp sends as Proxy-Authorization.
func (p *Proxy) URLVia(name string) string {
	if name == "" {
		return p.URL()
	}
	return "http://" + name + ":x@" + p.ln.Addr().String()
}

// upstreamOf is the upstream the request's Proxy-Authorization names; ok
// is false for a name no upstream has.
func (p *Proxy) upstreamOf(r *http.Request) (name string, up Upstream, ok bool) {
	user, _, has := proxyBasicAuth(r)
	if !has || user == "" {
		return "", nil, true
	}
	if p.upstream == nil {
		return user, nil, false
	}
	up = p.upstream(user)
	return user, up, up != nil
}

func proxyBasicAuth(r *http.Request) (user, pass string, ok bool) {
	h := r.Header.Get("Proxy-Authorization")
	if h == "" {
		return "", "", false
	}
	fake := &http.Request{Header: http.Header{"Authorization": {h}}}
	return fake.BasicAuth()
}

// transportVia is the forwarding transport of one upstream.
func (p *Proxy) transportVia(name string, up Upstream) *http.Transport {
	if up == nil {
		return p.transport
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.transports == nil {
		p.transports = map[string]*http.Transport{}
	}
	t := p.transports[name]
	if t == nil {
		t = p.guard.TransportVia(up)
		p.transports[name] = t
	}
	return t
}

// relayRefusal answers with the upstream proxy's refusal (its status
// line) when err is one.
func (p *Proxy) relayRefusal(w http.ResponseWriter, host string, err error) bool {
	var se *UpstreamStatusError
	if !errors.As(err, &se) {
		return false
	}
	p.logger.Info("Upstream proxy refused a connection", "host", host, "proxy", se.Proxy, "status", se.Status)
	http.Error(w, se.Error(), se.Code)
	return true
}

// Close stops the proxy and its open tunnels.
func (p *Proxy) Close() error {
	err := p.srv.Close()
	p.transport.CloseIdleConnections()
	p.mu.Lock()
	for _, t := range p.transports {
		t.CloseIdleConnections()
	}
	p.closed = true
	for c := range p.tunnels {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

// track registers conns of a tunnel; false when the proxy is closing.
func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for _, c := range conns {
		p.tunnels[c] = struct{}{}
	}
	return true
}

func (p *Proxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		delete(p.tunnels, c)
	}
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		p.tunnel(w, r)
		return
	}
	if !r.URL.IsAbs() || (r.URL.Scheme != "http" && r.URL.Scheme != "https") {
		http.Error(w, "this is a forward proxy: absolute http URLs only", http.StatusBadRequest)
		return
	}
	p.forward(w, r)
}

// RefusalReason is the reason phrase of the proxy's 403 for a blocked
// address. yt-dlp quotes status lines in its errors ("HTTP Error 403: …",
// "Tunnel connection failed: 403 …"), so riptide can tell a refusal from
// the target's own 403.
const RefusalReason = "Blocked by riptide netguard"

// refuse answers a request the guard blocked with a 403 carrying
// RefusalReason, which net/http cannot set, so the response is written raw.
func (p *Proxy) refuse(w http.ResponseWriter, host string, err error) {
	p.logger.Warn("Proxy refused a connection", "host", host, "error", err)
	// The detail (the address a name resolved to) stays in the log.
	body := MsgSourceBlocked + "\n"
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, body, http.StatusForbidden)
		return
	}
	conn, buf, herr := hj.Hijack()
	if herr != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 403 %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		RefusalReason, len(body), body)
	_ = buf.Flush()
}

// badGateway answers a request whose upstream could not be reached with a
// 502 that names no address or port; the dial error goes to the log.
func (p *Proxy) badGateway(w http.ResponseWriter, host string, err error) {
	p.logger.Info("Proxy could not reach upstream", "host", host, "error", err)
	http.Error(w, SourceMessage(err), http.StatusBadGateway)
}

func (p *Proxy) tunnel(w http.ResponseWriter, r *http.Request) {
	if err := p.guard.CheckHost(hostOnly(r.Host)); err != nil {
		p.refuse(w, r.Host, err)
		return
	}
	name, up, ok := p.upstreamOf(r)
	if !ok {
		http.Error(w, "unknown upstream proxy "+name, http.StatusBadGateway)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	upstream, err := p.guard.DialVia(ctx, "tcp", r.Host, up)
	cancel()
	if err != nil {
		if IsBlocked(err) {
			p.refuse(w, r.Host, err)
			return
		}
		if p.relayRefusal(w, r.Host, err) {
			return
		}
		p.badGateway(w, r.Host, err)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		upstream.Close()
		http.Error(w, "tunnelling not supported", http.StatusInternalServerError)
		return
	}
	client, buf, err := hj.Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	if !p.track(client, upstream) {
		client.Close()
		upstream.Close()
		return
	}
	_, _ = io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n")
	var once sync.Once
	closeBoth := func() {
		once.Do(func() {
			client.Close()
			upstream.Close()
			p.untrack(client, upstream)
		})
	}
	p.wg.Go(func() {
		// Bytes the client sent after the CONNECT line sit in buf.
		_, _ = io.Copy(upstream, buf)
		closeBoth()
	})
	p.wg.Go(func() {
		_, _ = io.Copy(client, upstream)
		closeBoth()
	})
}

// hopHeaders are per-connection headers a proxy must not forward (RFC 9110 §7.6.1).
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

func (p *Proxy) forward(w http.ResponseWriter, r *http.Request) {
	if err := p.guard.CheckHost(r.URL.Hostname()); err != nil {
		p.refuse(w, r.URL.Host, err)
		return
	}
	name, up, ok := p.upstreamOf(r)
	if !ok {
		http.Error(w, "unknown upstream proxy "+name, http.StatusBadGateway)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	for _, h := range connectionHeaders(r.Header) {
		out.Header.Del(h)
	}
	resp, err := p.transportVia(name, up).RoundTrip(out)
	if err != nil {
		if IsBlocked(err) {
			p.refuse(w, r.URL.Host, err)
			return
		}
		if p.relayRefusal(w, r.URL.Host, err) {
			return
		}
		p.badGateway(w, r.URL.Host, err)
		return
	}
	defer resp.Body.Close()
	for _, h := range connectionHeaders(resp.Header) {
		resp.Header.Del(h)
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, err = io.Copy(w, resp.Body)
	if err != nil && !errors.Is(err, context.Canceled) {
		p.logger.Debug("Proxy copy ended", "error", err)
	}
}

// connectionHeaders lists the hop-by-hop headers of h, including those the
// Connection header names.
func connectionHeaders(h http.Header) []string {
	out := append([]string(nil), hopHeaders...)
	for _, v := range h.Values("Connection") {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
	}
	return out
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}
