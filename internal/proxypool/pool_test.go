package proxypool

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/netguard"
)

func TestParseNamesProxiesWithoutCredentials(t *testing.T) {
	p, err := Parse([]string{"http://user:hunter2@proxy.example:3128", " socks5://u:p@10.0.0.1", "https://tls.example"},
		[]string{"youtube.com=0|2"}, time.Minute)
	require.NoError(t, err)
	require.Equal(t, 3, p.Len())
	for _, s := range p.Statuses() {
		require.NotContains(t, s.Name+s.Host, "hunter2")
	}
	require.Equal(t, []string{"proxy.example:3128", "10.0.0.1:1080", "tls.example:443"},
		[]string{p.proxies[0].Host, p.proxies[1].Host, p.proxies[2].Host})
	require.Equal(t, []int{0, 2}, p.candidates("www.youtube.com"))
	require.Equal(t, []int{0, 1, 2}, p.candidates("vimeo.com"))

	for _, bad := range [][]string{{"ftp://x"}, {"http://"}, {"http://user:hunter2@[::1"}} {
		_, err := Parse(bad, nil, time.Minute)
		require.Error(t, err, bad)
		require.NotContains(t, err.Error(), "hunter2")
	}
	_, err = Parse([]string{"http://a:1"}, []string{"youtube.com=3"}, time.Minute)
	require.Error(t, err)
}

func TestPickRotatesAvoidsAndRests(t *testing.T) {
	p, err := Parse([]string{"http://a:1", "http://b:1", "http://c:1"}, nil, time.Hour)
	require.NoError(t, err)
	var got []string
	for range 4 {
		got = append(got, p.Pick("x.com", "").Name)
	}
	require.Equal(t, []string{"p0", "p1", "p2", "p0"}, got)
	// The previous attempt's proxy is skipped.
	require.NotEqual(t, "p1", p.Pick("x.com", "p1").Name)
	// A failed proxy rests while others are healthy.
	p.proxies[1].Fail()
	p.proxies[2].Fail()
	for range 3 {
		require.Equal(t, "p0", p.Pick("x.com", "").Name)
	}
	// All resting: the one whose rest ends first, still not the avoided.
	p.proxies[0].Fail()
	require.Equal(t, "p1", p.Pick("x.com", "p0").Name)
	st := p.Statuses()
	require.True(t, st[0].Resting)
	require.Equal(t, int64(1), st[1].Failures)

	var empty *Pool
	require.Nil(t, empty.Pick("x.com", ""))
}

// connectProxy is a CONNECT proxy that records the addresses it is asked
// for; status, when not 200, is its only answer.
func connectProxy(t *testing.T, status int, asked *[]string, wantAuth string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*asked = append(*asked, r.Host)
		if wantAuth != "" && r.Header.Get("Proxy-Authorization") != wantAuth {
			w.WriteHeader(http.StatusProxyAuthRequired)
			return
		}
		if status != http.StatusOK {
			w.WriteHeader(status)
			return
		}
		up, err := net.Dial("tcp", r.Host)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
		c, buf, _ := w.(http.Hijacker).Hijack()
		go func() { _, _ = io.Copy(up, buf); up.Close() }()
		_, _ = io.Copy(c, up)
		c.Close()
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func TestDialThroughTheGuard(t *testing.T) {
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	defer site.Close()
	var okAsked, sickAsked []string
	okAddr := connectProxy(t, http.StatusOK, &okAsked, "Basic dTpodW50ZXIy") // u:hunter2
	sickAddr := connectProxy(t, http.StatusTooManyRequests, &sickAsked, "")
	p, err := Parse([]string{"http://" + sickAddr, "http://u:hunter2@" + okAddr}, nil, time.Hour)
	require.NoError(t, err)
	// Loopback is allowed for the site only: 127.0.0.2 stays forbidden.
	g := netguard.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})

	sick := p.Pick("localhost", "")
	_, err = g.DialVia(context.Background(), "tcp", strings.TrimPrefix(site.URL, "http://"), sick)
	var se *netguard.UpstreamStatusError
	require.True(t, errors.As(err, &se), "%v", err)
	require.Equal(t, 429, se.Code)
	require.True(t, p.Statuses()[0].Resting)

	healthy := p.Pick("localhost", sick.Name)
	require.Equal(t, "p1", healthy.Name)
	c := &http.Client{Transport: g.TransportVia(healthy)}
	resp, err := c.Get(site.URL)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "hello", string(body))
	require.Equal(t, strings.TrimPrefix(site.URL, "http://"), okAsked[len(okAsked)-1])

	// A forbidden address is refused before the proxy hears of it,
	// although the proxy could reach it.
	n := len(okAsked)
	_, err = g.DialVia(context.Background(), "tcp", "127.0.0.2:80", healthy)
	require.True(t, netguard.IsBlocked(err), "%v", err)
	_, err = c.Get("http://127.0.0.2:1/")
	require.True(t, netguard.IsBlocked(err), "%v", err)
	require.Len(t, okAsked, n)
}

// socks5Server is a minimal SOCKS5 server (RFC 1928/1929) that asks for
// user/password and records the CONNECT targets.
func socks5Server(t *testing.T, user, pass string, asked *[]string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 512)
				if _, err := io.ReadFull(c, buf[:2]); err != nil {
					return
				}
				if _, err := io.ReadFull(c, buf[:buf[1]]); err != nil {
					return
				}
				_, _ = c.Write([]byte{5, 2}) // user/password
				_, _ = io.ReadFull(c, buf[:2])
				u := make([]byte, buf[1])
				_, _ = io.ReadFull(c, u)
				_, _ = io.ReadFull(c, buf[:1])
				p := make([]byte, buf[0])
				_, _ = io.ReadFull(c, p)
				if string(u) != user || string(p) != pass {
					_, _ = c.Write([]byte{1, 1})
					return
				}
				_, _ = c.Write([]byte{1, 0})
				_, _ = io.ReadFull(c, buf[:4]) // ver cmd rsv atyp
				var host string
				switch buf[3] {
				case 1:
					_, _ = io.ReadFull(c, buf[:4])
					host = net.IP(buf[:4]).String()
				default:
					return // the guard only ever sends addresses
				}
				_, _ = io.ReadFull(c, buf[:2])
				addr := net.JoinHostPort(host, strconv.Itoa(int(buf[0])<<8|int(buf[1])))
				*asked = append(*asked, addr)
				up, err := net.Dial("tcp", addr)
				if err != nil {
					_, _ = c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
					return
				}
				defer up.Close()
				_, _ = c.Write([]byte{5, 0, 0, 1, 127, 0, 0, 1, 0, 0})
				go func() { _, _ = io.Copy(up, c) }()
				_, _ = io.Copy(c, up)
			}()
		}
	}()
	return ln.Addr().String()
}

func TestSOCKS5CarriesCheckedAddresses(t *testing.T) {
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "via socks") }))
	defer site.Close()
	var asked []string
	addr := socks5Server(t, "u", "s3cret", &asked)
	g := netguard.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})

	p, err := Parse([]string{"socks5://u:s3cret@" + addr}, nil, time.Hour)
	require.NoError(t, err)
	c := &http.Client{Transport: g.TransportVia(p.Pick("localhost", ""))}
	// By name: the guard resolves localhost and hands SOCKS the address.
	resp, err := c.Get(strings.Replace(site.URL, "127.0.0.1", "localhost", 1))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "via socks", string(body))
	require.Equal(t, []string{strings.TrimPrefix(site.URL, "http://")}, asked)

	bad, err := Parse([]string{"socks5://u:wrong-pass@" + addr}, nil, time.Hour)
	require.NoError(t, err)
	c = &http.Client{Transport: g.TransportVia(bad.Pick("localhost", ""))}
	_, err = c.Get(site.URL)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "wrong-pass")
	require.True(t, bad.Statuses()[0].Resting)
}
