package netguard

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestProxyAnswersNameNoAddress: what the yt-dlp proxy tells its client
// about a refused port or a blocked address (the body yt-dlp may quote)
// names neither; its status lines stay as yt-dlp's classification expects.
func TestProxyAnswersNameNoAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	p, err := StartProxy(New([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	proxyURL, _ := url.Parse(p.URL())
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}, Timeout: 10 * time.Second}

	for _, tc := range []struct {
		target, want string
		code         int
	}{
		{"http://127.0.0.1:" + refused + "/x", MsgSourceUnreachable, http.StatusBadGateway},
		{"http://127.0.0.2:" + refused + "/x", MsgSourceBlocked, http.StatusForbidden},
	} {
		resp, err := client.Get(tc.target)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || strings.TrimSpace(string(body)) != tc.want {
			t.Errorf("%s: %s %q, want %d %q", tc.target, resp.Status, body, tc.code, tc.want)
		}
		if strings.Contains(string(body), refused) || strings.Contains(string(body), "127.") {
			t.Errorf("%s: body %q names the address", tc.target, body)
		}
	}
}

func TestMessagesSortFailures(t *testing.T) {
	g := New(nil)
	d := g.Dialer()
	_, blocked := d.DialContext(context.Background(), "tcp", "127.0.0.2:5432")
	if !IsNetError(blocked) || SourceMessage(blocked) != MsgSourceBlocked || ReceiverMessage(blocked) != MsgReceiverBlocked {
		t.Errorf("blocked: %v → %q", blocked, SourceMessage(blocked))
	}
	timeout := &url.Error{Op: "Get", URL: "http://x", Err: &net.OpError{Op: "dial", Err: timeoutErr{}}}
	if SourceMessage(timeout) != MsgSourceTimeout {
		t.Errorf("timeout: %q", SourceMessage(timeout))
	}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	if !IsNetError(refused) || SourceMessage(refused) != MsgSourceUnreachable {
		t.Errorf("refused: %q", SourceMessage(refused))
	}
	if IsNetError(errors.New("no space left on device")) {
		t.Error("a local error is no connection failure")
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }
