// Package netguard keeps riptide's outbound connections (downloads, yt-dlp
// and webhooks) away from the worker's own network: loopback, private,
// link-local (cloud metadata at 169.254.169.254), unique-local, multicast and
// unspecified addresses. The check runs in the dialer, on the address about
// to be connected, so neither DNS rebinding nor a redirect gets around it.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// blocked lists the ranges no job may reach unless allowed. netip's
// predicates cover loopback, RFC 1918, fc00::/7, link-local, multicast and
// unspecified; these are the rest that are not the public internet.
var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("fec0::/10"),       // deprecated site-local
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated)
	netip.MustParsePrefix("::ffff:0:0:0/96"), // SIIT IPv4-translated
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// BlockedError says a connection was refused and why.
type BlockedError struct {
	Addr   netip.Addr
	Reason string
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("connection to %s refused: %s address", e.Addr, e.Reason)
}

// Guard decides which addresses outbound connections may reach. The zero
// value blocks every non-public address; Allow lists exceptions.
type Guard struct {
	allow []netip.Prefix
}

// New returns a guard that lets connections reach the allowed prefixes even
// when they are not public.
func New(allow []netip.Prefix) *Guard {
	return &Guard{allow: allow}
}

// ParsePrefixes parses a list of CIDRs or single addresses.
func ParsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("%q is neither a CIDR nor an address", s)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR: %v", s, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Check returns a *BlockedError when addr may not be reached.
func (g *Guard) Check(addr netip.Addr) error {
	addr = addr.WithZone("")
	for _, p := range g.allow {
		if p.Contains(addr) || p.Contains(addr.Unmap()) {
			return nil
		}
	}
	reason := classify(addr)
	if reason == "" {
		return nil
	}
	return &BlockedError{Addr: addr, Reason: reason}
}

// classify names the kind of non-public address addr is, or "" when it is
// public. IPv6 forms that embed an IPv4 address are judged by that address.
func classify(addr netip.Addr) string {
	if addr.Is4In6() {
		return classify(addr.Unmap())
	}
	if addr.Is6() {
		b := addr.As16()
		switch {
		case nat64.Contains(addr):
			return classify(netip.AddrFrom4([4]byte(b[12:16])))
		case sixToFour.Contains(addr):
			return classify(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	switch {
	case !addr.IsValid():
		return "invalid"
	case addr.IsUnspecified():
		return "unspecified"
	case addr.IsLoopback():
		return "loopback"
	case addr.IsPrivate():
		return "private"
	case addr.IsLinkLocalUnicast():
		return "link-local"
	case addr.IsMulticast(), addr.IsLinkLocalMulticast(), addr.IsInterfaceLocalMulticast():
		return "multicast"
	}
	for _, p := range blocked {
		if p.Contains(addr) {
			return "reserved"
		}
	}
	return ""
}

// Control is a net.Dialer Control function: it runs after name resolution,
// right before each connect, with the numeric address.
func (g *Guard) Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("netguard: unexpected dial address %q: %w", address, err)
	}
	return g.Check(ap.Addr())
}

// Dialer returns a dialer that refuses blocked addresses.
func (g *Guard) Dialer() *net.Dialer {
	return &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: g.Control}
}

// Transport returns an HTTP transport whose every connection, redirects
// included, goes through the guarded dialer. It ignores HTTP_PROXY and
// friends: a proxy would make the dialer see the proxy, not the target.
func (g *Guard) Transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = g.Dialer().DialContext
	return t
}

// CheckHost judges a URL's host before any connection: literal addresses
// and localhost names are refused early with a clear error. Other names are
// left to the dialer, which sees what they resolve to.
func (g *Guard) CheckHost(host string) error {
	h := strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		// Resolvers answer 127.0.0.1, ::1 or both.
		if g.Check(netip.AddrFrom4([4]byte{127, 0, 0, 1})) == nil || g.Check(netip.IPv6Loopback()) == nil {
			return nil
		}
		return &BlockedError{Addr: netip.IPv6Loopback(), Reason: "loopback"}
	}
	if addr, err := netip.ParseAddr(h); err == nil {
		return g.Check(addr)
	}
	// Some resolvers read "2130706433", "0x7f.1" or "127.1" as IPv4
	// addresses; no real host name ends in a numeric label.
	labels := strings.Split(h, ".")
	if last := labels[len(labels)-1]; last != "" && strings.Trim(strings.TrimPrefix(last, "0x"), "0123456789abcdef") == "" &&
		(strings.HasPrefix(last, "0x") || strings.Trim(last, "0123456789") == "") {
		return ErrNumericHost
	}
	return nil
}

// ErrNumericHost refuses host names that are IPv4 addresses in a
// non-canonical form.
var ErrNumericHost = errors.New("host is a numeric address in a non-canonical form")

// IsBlocked reports whether err comes from the guard refusing a connection.
func IsBlocked(err error) bool {
	var b *BlockedError
	return errors.As(err, &b)
}

// DialContext dials through the guard; the proxy uses it.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return g.Dialer().DialContext(ctx, network, address)
}
