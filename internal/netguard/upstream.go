package netguard

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
)

// Upstream carries the guard's connections to an operator's proxy
// (internal/proxypool). The guard resolves and checks every target first,
// so an upstream is only ever asked for a checked IP address and port.
type Upstream interface {
	DialThrough(ctx context.Context, addr string) (net.Conn, error)
}

// UpstreamStatusError is an upstream proxy's refusal of a CONNECT (429,
// 407, 403, 5xx). The guarded proxy answers its client with the same
// status, so yt-dlp's error names it ("Tunnel connection failed: 429 Too
// Many Requests") and the classifier can tell a rate limit.
type UpstreamStatusError struct {
	Proxy  string // the proxy's name (no credentials)
	Code   int
	Status string
}

func (e *UpstreamStatusError) Error() string {
	return fmt.Sprintf("upstream proxy %s answered %s", e.Proxy, e.Status)
}

// DialVia connects to address (host:port) through up: the host is
// resolved here and each of its addresses checked as Control checks a
// direct connection; the first allowed one is handed to the upstream as a
// numeric address, so the proxy cannot resolve the name to somewhere else.
// A nil up dials directly.
func (g *Guard) DialVia(ctx context.Context, network, address string, up Upstream) (net.Conn, error) {
	if up == nil {
		return g.DialContext(ctx, network, address)
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	if err := g.CheckHost(host); err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		if addrs, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host); err != nil {
			return nil, err
		}
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("netguard: bad port %q", port)
	}
	var firstErr error
	for _, a := range addrs {
		if err := g.Check(a); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		conn, err := up.DialThrough(ctx, netip.AddrPortFrom(a.Unmap(), uint16(p)).String())
		if err == nil {
			return conn, nil
		}
		if _, ok := err.(*UpstreamStatusError); ok {
			return nil, err // the proxy's answer, not the address's fault
		}
		firstErr = err
	}
	if firstErr == nil {
		firstErr = fmt.Errorf("netguard: %s resolved to no address", host)
	}
	return nil, firstErr
}

// TransportVia is Transport whose connections go through up (nil: direct).
func (g *Guard) TransportVia(up Upstream) *http.Transport {
	t := g.Transport()
	if up != nil {
		t.DialContext = func(ctx context.Context, network, address string) (net.Conn, error) {
			return g.DialVia(ctx, network, address, up)
		}
	}
	return t
}
