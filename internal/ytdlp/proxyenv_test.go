package ytdlp

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/riptide-dev/riptide/internal/childproc"
	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/workflows"
)

// internalSite is an "internal" web server on 127.0.0.2 that logs every
// request it gets.
func internalSite(t *testing.T) (addr string, hits func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	require.NoError(t, err)
	var mu sync.Mutex
	n := 0
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<html><title>internal</title><video src="/secret.mp4"></video></html>`))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}

// TestInheritedProxyVariablesDoNotBypassTheGuard is issue 13's item 3 with
// the real yt-dlp: no_proxy=* (which Python's urllib honours even with
// --proxy) and http_proxy set for the worker, a source on an internal
// address. yt-dlp still goes through the guarded proxy, which refuses it;
// the internal server logs nothing. It holds with the sandbox off too: the
// minimal environment alone closes this hole.
func TestInheritedProxyVariablesDoNotBypassTheGuard(t *testing.T) {
	path, err := exec.LookPath("yt-dlp")
	if err != nil {
		t.Skip("yt-dlp not installed")
	}
	addr, hits := internalSite(t)
	for _, k := range []string{"no_proxy", "NO_PROXY"} {
		t.Setenv(k, "*")
	}
	for _, k := range []string{"http_proxy", "HTTP_PROXY", "https_proxy", "all_proxy"} {
		t.Setenv(k, "http://"+addr)
	}
	proxy, err := netguard.StartProxy(netguard.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}), nil)
	require.NoError(t, err)
	defer proxy.Close()
	r := Runner{Path: path, Proxy: proxy.URL()}

	t.Cleanup(func() { _, _ = childproc.SetMode(childproc.ModeAuto, nil) })
	for _, mode := range []childproc.Mode{childproc.ModeAuto, childproc.ModeOff} {
		t.Run(string(mode), func(t *testing.T) {
			_, err := childproc.SetMode(mode, nil)
			require.NoError(t, err)
			// Run heartbeats: it needs an activity's context.
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestActivityEnvironment()
			env.RegisterActivityWithOptions(func(ctx context.Context, u string) error {
				_, _, err := r.Info(ctx, u, "b")
				return err
			}, activity.RegisterOptions{Name: "Info"})
			env.SetTestTimeout(time.Minute)
			_, err = env.ExecuteActivity("Info", "http://"+addr+"/page.html")
			requireBlocked(t, err, workflows.ErrTypeBlockedAddress, netguard.RefusalReason)
			require.Zero(t, hits(), "yt-dlp reached the internal server")
		})
	}
}
