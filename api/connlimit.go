package api

import (
	"net"
	"net/netip"
	"sync"
)

// limitListener bounds the connections the API holds open: at most perIP
// at once from one client address and total in all (0: no bound). A
// connection over either bound is closed as soon as it is accepted, before
// a byte is read, so a client that opens connections without end costs the
// server one accept each and holds nothing.
type limitListener struct {
	net.Listener
	perIP, total int

	mu    sync.Mutex
	byIP  map[netip.Addr]int
	count int
	// refused counts the connections closed at accept (tests read it).
	refused int
}

func newLimitListener(l net.Listener, perIP, total int) *limitListener {
	return &limitListener{Listener: l, perIP: perIP, total: total, byIP: map[netip.Addr]int{}}
}

// Accept returns the next connection within the bounds, closing the ones
// beyond them.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		if l.admit(ip) {
			return &limitConn{Conn: c, release: func() { l.release(ip) }}, nil
		}
		_ = c.Close()
	}
}

func (l *limitListener) admit(ip netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if (l.total > 0 && l.count >= l.total) || (l.perIP > 0 && l.byIP[ip] >= l.perIP) {
		l.refused++
		return false
	}
	l.count++
	l.byIP[ip]++
	return true
}

func (l *limitListener) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count--
	if l.byIP[ip]--; l.byIP[ip] <= 0 {
		delete(l.byIP, ip)
	}
}

func (l *limitListener) refusedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refused
}

// remoteIP is the peer's address without port or zone, IPv4-mapped IPv6
// addresses as IPv4: one client, one count. Addresses that are not IP
// (unix sockets) share the zero address.
func remoteIP(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().WithZone("").Unmap()
	}
	return netip.Addr{}
}

// limitConn gives its place back once, however often it is closed.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
