package activities

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/workflows"
)

// guarded makes a's connections go through a guard allowing allow: the HTTP
// client dials with it and yt-dlp goes through its proxy, as in the worker.
func guarded(t *testing.T, a *Activities, allow ...netip.Prefix) {
	t.Helper()
	g := netguard.New(allow)
	p, err := netguard.StartProxy(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	a.HTTP = &http.Client{Transport: g.Transport()}
	a.Webhook = &http.Client{Transport: g.Transport()}
	a.YtdlpProxy = p.URL()
}

func requireBlocked(t *testing.T, err error) {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != workflows.ErrTypeBlockedAddress || !appErr.NonRetryable() {
		t.Fatalf("got %v, want a non-retryable %s", err, workflows.ErrTypeBlockedAddress)
	}
}

// TestYtdlpThroughGuardProxy: yt-dlp cannot reach a loopback page while
// the allowlist is off, and can once loopback is allowed.
func TestYtdlpThroughGuardProxy(t *testing.T) {
	src := t.TempDir()
	ffmpegClip(t, src, "-f", "dash", "-seg_duration", "1",
		"-adaptation_sets", "id=0,streams=v id=1,streams=a", "clip.mpd")

	t.Run("allowlist off", func(t *testing.T) {
		a, base := ytdlpEnv(t, src)
		guarded(t, a)
		env, _ := newDownloadEnv(t, a)
		_, err := download(t, env, a, base+"/clip.mpd")
		requireBlocked(t, err)
	})
	t.Run("loopback allowed", func(t *testing.T) {
		a, base := ytdlpEnv(t, src)
		guarded(t, a, netip.MustParsePrefix("127.0.0.0/8"))
		env, _ := newDownloadEnv(t, a)
		res, err := download(t, env, a, base+"/clip.mpd")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Files) != 2 {
			t.Fatalf("files %v, want video and audio", res.Files)
		}
	})
}

func TestDownloadHTTPBlocked(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		_, _ = w.Write([]byte("not reached"))
	}))
	t.Cleanup(srv.Close)
	a := newHTTPActivities(t)
	guarded(t, a)
	env, _ := newDownloadEnv(t, a)
	_, err := download(t, env, a, srv.URL+"/clip.mp4")
	requireBlocked(t, err)
}

func TestDeliverWebhookBlockedIsFinal(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits++ }))
	t.Cleanup(srv.Close)
	a := &Activities{}
	guarded(t, a)
	rec := deliver(t, a, workflows.WebhookInput{URL: srv.URL, EventID: "evt_1", Body: []byte(`{}`)})
	if !rec.Final || rec.Delivered || hits != 0 {
		t.Fatalf("record %+v, %d hits; want a final refusal that reached nothing", rec, hits)
	}
}
