package netguard

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	strict := New(nil)
	loopback, err := ParsePrefixes([]string{"127.0.0.0/8", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	allowLoop := New(loopback)
	cases := []struct {
		addr      string
		reason    string // "" when public
		allowLoop bool   // allowed once loopback is allowed
	}{
		{"127.0.0.1", "loopback", true},
		{"127.255.0.9", "loopback", true},
		{"::1", "loopback", true},
		{"::ffff:127.0.0.1", "loopback", true},
		{"10.1.2.3", "private", false},
		{"172.16.0.1", "private", false},
		{"172.31.255.255", "private", false},
		{"192.168.1.1", "private", false},
		{"::ffff:192.168.1.1", "private", false},
		{"100.64.0.1", "reserved", false},
		{"100.127.255.254", "reserved", false},
		{"169.254.169.254", "link-local", false},
		{"::ffff:169.254.169.254", "link-local", false},
		{"fe80::1", "link-local", false},
		{"fc00::1", "private", false},
		{"fd12:3456::1", "private", false},
		{"0.0.0.0", "unspecified", false},
		{"::", "unspecified", false},
		{"0.1.2.3", "reserved", false},
		{"224.0.0.1", "multicast", false},
		{"ff02::1", "multicast", false},
		{"255.255.255.255", "reserved", false},
		{"64:ff9b::a9fe:a9fe", "link-local", false}, // NAT64 of 169.254.169.254
		{"2002:7f00:1::1", "loopback", false},       // 6to4 of 127.0.0.1, not listed
		{"::127.0.0.1", "reserved", false},          // IPv4-compatible
		{"93.184.216.34", "", true},
		{"8.8.8.8", "", true},
		{"100.63.255.255", "", true},
		{"172.32.0.1", "", true},
		{"2606:4700::1111", "", true},
		{"64:ff9b::808:808", "", true}, // NAT64 of 8.8.8.8
	}
	for _, tc := range cases {
		t.Run(tc.addr, func(t *testing.T) {
			addr := netip.MustParseAddr(tc.addr)
			err := strict.Check(addr)
			var b *BlockedError
			switch {
			case tc.reason == "" && err != nil:
				t.Fatalf("public address refused: %v", err)
			case tc.reason != "" && !errors.As(err, &b):
				t.Fatalf("got %v, want a BlockedError (%s)", err, tc.reason)
			case tc.reason != "" && b.Reason != tc.reason:
				t.Fatalf("reason %q, want %q", b.Reason, tc.reason)
			}
			if got := allowLoop.Check(addr) == nil; got != tc.allowLoop {
				t.Fatalf("with loopback allowed: allowed=%v, want %v", got, tc.allowLoop)
			}
		})
	}
}

func TestCheckHost(t *testing.T) {
	strict := New(nil)
	allowed := New([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	for _, tc := range []struct {
		host           string
		strict, loopOK bool // whether each guard accepts it
	}{
		{"localhost", false, true},
		{"LOCALHOST.", false, true},
		{"api.localhost", false, true},
		{"127.0.0.1", false, true},
		{"[::1]", false, false}, // only 127/8 allowed
		{"::ffff:7f00:1", false, true},
		{"169.254.169.254", false, false},
		{"2130706433", false, false},
		{"0x7f.1", false, false},
		{"127.1", false, false},
		{"example.com", true, true},
		{"1.example.com", true, true},
		{"93.184.216.34", true, true},
	} {
		if got := strict.CheckHost(tc.host) == nil; got != tc.strict {
			t.Errorf("strict CheckHost(%q) accepted=%v, want %v", tc.host, got, tc.strict)
		}
		if got := allowed.CheckHost(tc.host) == nil; got != tc.loopOK {
			t.Errorf("loopback-allowing CheckHost(%q) accepted=%v, want %v", tc.host, got, tc.loopOK)
		}
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := ParsePrefixes([]string{" 127.0.0.0/8", "::1", "", "10.0.0.7/8"})
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("10.0.0.0/8")}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"localhost", "10.0.0.0/33", "1.2.3"} {
		if _, err := ParsePrefixes([]string{bad}); err == nil {
			t.Errorf("ParsePrefixes(%q) accepted", bad)
		}
	}
}

// loopbackServer serves "hello" on 127.0.0.1.
func loopbackServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	if h == nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hello") })
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func get(c *http.Client, u string) (string, error) {
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestTransportRefusesAtConnect(t *testing.T) {
	srv := loopbackServer(t, nil)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	strict := &http.Client{Transport: New(nil).Transport()}
	// A name is resolved first; the dialer judges what it resolved to.
	for _, u := range []string{srv.URL, "http://localhost:" + port + "/"} {
		if _, err := get(strict, u); !IsBlocked(err) {
			t.Errorf("GET %s: got %v, want a refusal", u, err)
		}
	}

	allow := &http.Client{Transport: New([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}).Transport()}
	if body, err := get(allow, srv.URL); err != nil || body != "hello" {
		t.Fatalf("allowed GET: %q, %v", body, err)
	}
}

func TestTransportRefusesRedirect(t *testing.T) {
	// 127.0.0.2 is loopback too, but only 127.0.0.1 is allowed: a redirect
	// there must be refused when it connects.
	target := loopbackServer(t, nil)
	_, port, _ := net.SplitHostPort(target.Listener.Addr().String())
	redirector := loopbackServer(t, http.RedirectHandler("http://127.0.0.2:"+port+"/", http.StatusFound))
	c := &http.Client{Transport: New([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}).Transport()}
	_, err := get(c, redirector.URL)
	var b *BlockedError
	if !errors.As(err, &b) || b.Addr != netip.MustParseAddr("127.0.0.2") {
		t.Fatalf("got %v, want the redirect to 127.0.0.2 refused", err)
	}
}

func proxyClient(t *testing.T, p *Proxy) *http.Client {
	t.Helper()
	pu, err := url.Parse(p.URL())
	if err != nil {
		t.Fatal(err)
	}
	// The client reaches the proxy itself over an unguarded transport.
	return &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}}
}

func TestProxy(t *testing.T) {
	plain := loopbackServer(t, nil)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "secure") }))
	t.Cleanup(tlsSrv.Close)

	for _, tc := range []struct {
		name  string
		allow []netip.Prefix
		ok    bool
	}{
		{"allowlist off", nil, false},
		{"loopback allowed", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := StartProxy(New(tc.allow), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close() })
			c := proxyClient(t, p)

			// Plain http: forwarded by the proxy.
			resp, err := c.Get(plain.URL + "/x")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tc.ok && (resp.StatusCode != 200 || string(body) != "hello") {
				t.Fatalf("http: %s %q", resp.Status, body)
			}
			if !tc.ok && (resp.StatusCode != 403 || !strings.Contains(resp.Status, RefusalReason)) {
				t.Fatalf("http: %s %q, want 403 %s", resp.Status, body, RefusalReason)
			}

			// https: a CONNECT tunnel.
			tr := c.Transport.(*http.Transport)
			tr.TLSClientConfig = tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig
			resp, err = c.Get(tlsSrv.URL)
			if !tc.ok {
				if err == nil || !strings.Contains(err.Error(), RefusalReason) {
					t.Fatalf("https: got %v, want the tunnel refused", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != "secure" {
				t.Fatalf("https body %q", body)
			}
		})
	}
}
