// Package proxypool is the operator's pool of upstream proxies: http://,
// https:// (TLS to the proxy) and socks5:// URLs, with credentials. A job
// attempt takes one (Pick); the network guard still resolves every target
// and checks its address, then asks the chosen proxy to connect to that
// address (never to a name the proxy would resolve itself), so the proxy
// carries connections but decides nothing about where they go.
//
// Proxies that fail (a refused connection, a 429 or 407 to CONNECT, a site
// that rate-limits the proxy's address) rest for a while: Pick skips them
// while others are healthy. Credentials never leave the package: the rest of
// riptide sees a proxy's Name ("p0") and Host ("proxy.example:3128").
package proxypool

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/proxy"

	"github.com/riptide-dev/riptide/internal/netguard"
)

// Proxy is one upstream proxy.
type Proxy struct {
	// Name identifies it in logs, metrics, heartbeat details and the
	// guarded proxy's URL: "p" and its index in the setting.
	Name string
	// Host is its host:port, without credentials, for metrics.
	Host string
	u    *url.URL
	pool *Pool
}

// Status is a proxy's health, for metrics.
type Status struct {
	Name      string
	Host      string
	Uses      int64
	Failures  int64
	LatencyMS float64 // moving average of connection set-up time
	Resting   bool
}

type health struct {
	uses, failures int64
	latency        time.Duration
	restUntil      time.Time
}

// Pool is the operator's proxies.
type Pool struct {
	proxies []*Proxy
	// sites maps a site domain to the indexes of the proxies it uses.
	sites map[string][]int
	rest  time.Duration

	mu     sync.Mutex
	health []health
	next   int
}

// Parse builds a pool from the settings: a list of proxy URLs, and an
// optional per-site mapping "domain=0|2" (indexes into the list). rest is
// how long a failing proxy is left alone.
func Parse(urls []string, siteMap []string, rest time.Duration) (*Pool, error) {
	p := &Pool{sites: map[string][]int{}, rest: rest}
	for i, s := range urls {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		u, err := url.Parse(s)
		if err != nil {
			// url's error quotes the URL, credentials included.
			return nil, fmt.Errorf("upstream proxy %d is not a URL", i)
		}
		switch u.Scheme {
		case "http", "https", "socks5", "socks5h":
		default:
			return nil, fmt.Errorf("upstream proxy %d: scheme %q is not http, https or socks5", i, u.Scheme)
		}
		if u.Hostname() == "" {
			return nil, fmt.Errorf("upstream proxy %d has no host", i)
		}
		if u.Port() == "" {
			port := map[string]string{"http": "80", "https": "443"}[u.Scheme]
			if port == "" {
				port = "1080"
			}
			u.Host = net.JoinHostPort(u.Hostname(), port)
		}
		p.proxies = append(p.proxies, &Proxy{Name: fmt.Sprintf("p%d", len(p.proxies)), Host: u.Host, u: u, pool: p})
	}
	for _, m := range siteMap {
		m = strings.TrimSpace(m)
		if m == "" {
			continue
		}
		domain, list, ok := strings.Cut(m, "=")
		if !ok || domain == "" {
			return nil, fmt.Errorf("upstream proxy site mapping %q is not domain=index|index", m)
		}
		var idx []int
		for f := range strings.SplitSeq(list, "|") {
			var n int
			if _, err := fmt.Sscanf(strings.TrimSpace(f), "%d", &n); err != nil || n < 0 || n >= len(p.proxies) {
				return nil, fmt.Errorf("upstream proxy site mapping %q: %q is not the index of a proxy", m, f)
			}
			idx = append(idx, n)
		}
		p.sites[strings.ToLower(strings.TrimSpace(domain))] = idx
	}
	p.health = make([]health, len(p.proxies))
	return p, nil
}

// Len is the number of proxies; a nil pool has none.
func (p *Pool) Len() int {
	if p == nil {
		return 0
	}
	return len(p.proxies)
}

// ByName returns the proxy named name.
func (p *Pool) ByName(name string) *Proxy {
	if p == nil {
		return nil
	}
	for _, x := range p.proxies {
		if x.Name == name {
			return x
		}
	}
	return nil
}

// candidates are the indexes of the proxies host may use.
func (p *Pool) candidates(host string) []int {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	best := ""
	for d := range p.sites {
		if (host == d || strings.HasSuffix(host, "."+d)) && len(d) > len(best) {
			best = d
		}
	}
	if best != "" {
		return p.sites[best]
	}
	out := make([]int, len(p.proxies))
	for i := range out {
		out[i] = i
	}
	return out
}

// Pick chooses a proxy for a job attempt on host, in turn among the
// healthy ones, never avoid (the previous attempt's, when it failed)
// while another may be used. nil when the pool is empty.
func (p *Pool) Pick(host, avoid string) *Proxy {
	if p.Len() == 0 {
		return nil
	}
	cands := p.candidates(host)
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	var healthy, others []int
	for _, i := range cands {
		if p.proxies[i].Name == avoid && len(cands) > 1 {
			continue
		}
		if p.health[i].restUntil.After(now) {
			others = append(others, i)
		} else {
			healthy = append(healthy, i)
		}
	}
	choose := healthy
	if len(choose) == 0 {
		// All resting: the one whose rest ends first.
		choose = others
		slices.SortFunc(choose, func(a, b int) int { return p.health[a].restUntil.Compare(p.health[b].restUntil) })
		choose = choose[:min(1, len(choose))]
	}
	if len(choose) == 0 {
		return p.proxies[cands[0]]
	}
	// Round-robin: the first candidate at or after the cursor.
	for k := range len(p.proxies) {
		i := (p.next + k) % len(p.proxies)
		if slices.Contains(choose, i) {
			p.next = i + 1
			return p.proxies[i]
		}
	}
	return p.proxies[choose[0]]
}

// Fail rests x: a connection through it failed, or the site rate-limited
// its address.
func (x *Proxy) Fail() {
	if x == nil {
		return
	}
	p := x.pool
	i := slices.Index(p.proxies, x)
	p.mu.Lock()
	p.health[i].failures++
	p.health[i].restUntil = time.Now().Add(p.rest)
	p.mu.Unlock()
}

func (x *Proxy) ok(latency time.Duration) {
	p := x.pool
	i := slices.Index(p.proxies, x)
	p.mu.Lock()
	h := &p.health[i]
	h.uses++
	if h.latency == 0 {
		h.latency = latency
	} else {
		h.latency = (h.latency*7 + latency) / 8
	}
	p.mu.Unlock()
}

// Statuses reports every proxy's health.
func (p *Pool) Statuses() []Status {
	if p == nil {
		return nil
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Status, len(p.proxies))
	for i, x := range p.proxies {
		h := p.health[i]
		out[i] = Status{Name: x.Name, Host: x.Host, Uses: h.uses, Failures: h.failures,
			LatencyMS: float64(h.latency) / float64(time.Millisecond), Resting: h.restUntil.After(now)}
	}
	return out
}

// connectTimeout bounds the proxy's connection and its answer to CONNECT.
const connectTimeout = 30 * time.Second

// DialThrough connects to addr (an IP address and port the guard has
// checked) through the proxy. A proxy that refuses gives a
// *netguard.UpstreamStatusError with its status, so the guarded proxy can
// pass it on (yt-dlp then reads "429 Too Many Requests").
func (x *Proxy) DialThrough(ctx context.Context, addr string) (net.Conn, error) {
	start := time.Now()
	conn, err := x.dial(ctx, addr)
	if err != nil {
		x.Fail()
		return nil, err
	}
	x.ok(time.Since(start))
	return conn, nil
}

func (x *Proxy) dial(ctx context.Context, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	// The operator's proxy may be anywhere, loopback included: it is
	// configuration, not a job's input. Only the targets are guarded.
	d := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	if strings.HasPrefix(x.u.Scheme, "socks5") {
		var auth *proxy.Auth
		if x.u.User != nil {
			pw, _ := x.u.User.Password()
			auth = &proxy.Auth{User: x.u.User.Username(), Password: pw}
		}
		sd, err := proxy.SOCKS5("tcp", x.u.Host, auth, d)
		if err != nil {
			return nil, fmt.Errorf("upstream proxy %s: %v", x.Name, err)
		}
		c, err := sd.(proxy.ContextDialer).DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("upstream proxy %s: %w", x.Name, scrub(err, x.u))
		}
		return c, nil
	}
	conn, err := d.DialContext(ctx, "tcp", x.u.Host)
	if err != nil {
		return nil, fmt.Errorf("upstream proxy %s: %w", x.Name, err)
	}
	if x.u.Scheme == "https" {
		tc := tls.Client(conn, &tls.Config{ServerName: x.u.Hostname(), MinVersion: tls.VersionTLS12})
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("upstream proxy %s: TLS: %w", x.Name, err)
		}
		conn = tc
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	req := "CONNECT " + addr + " HTTP/1.1\r\nHost: " + addr + "\r\n"
	if x.u.User != nil {
		pw, _ := x.u.User.Password()
		req += "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(x.u.User.Username()+":"+pw)) + "\r\n"
	}
	req += "\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("upstream proxy %s: %w", x.Name, err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("upstream proxy %s: reading its answer to CONNECT: %w", x.Name, err)
	}
	if resp.StatusCode != http.StatusOK {
		conn.Close()
		return nil, &netguard.UpstreamStatusError{Proxy: x.Name, Code: resp.StatusCode, Status: resp.Status}
	}
	_ = conn.SetDeadline(time.Time{})
	if br.Buffered() > 0 {
		// The proxy sent bytes of the tunnel with its answer.
		return &bufConn{Conn: conn, r: br}, nil
	}
	return conn, nil
}

type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// scrub removes the proxy's password from an error's text.
func scrub(err error, u *url.URL) error {
	if u.User == nil {
		return err
	}
	pw, ok := u.User.Password()
	if !ok || pw == "" || !strings.Contains(err.Error(), pw) {
		return err
	}
	return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), pw, "***"))
}
