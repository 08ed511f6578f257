package ffmpeg

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/riptide-dev/riptide/internal/mediatest"
	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/stretchr/testify/require"
)

// tlsServerOn serves h over TLS on addr (a loopback address).
func tlsServerOn(t *testing.T, addr string, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	srv.Listener = l
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// The duration probe of an https URL goes through the guard's proxy (a
// CONNECT tunnel: ffmpeg's httpproxy protocol, which the whitelist once
// lacked, so it never worked) and reads the duration before any download.
// The guard still decides where it may connect: an "internal" address is
// never reached, and a playlist served as media is not followed to the
// worker's files.
func TestURLDurationOverHTTPSThroughTheGuard(t *testing.T) {
	mediatest.RequireTools(t, "ffmpeg", "ffprobe")
	dir := t.TempDir()
	clip := filepath.Join(dir, "clip.m4a")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "sine", "-t", "2", "-c:a", "aac", clip)
	secret := filepath.Join(dir, "secret.ts")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "sine", "-t", "7", "-c:a", "aac", "-f", "mpegts", secret)
	playlist := "#EXTM3U\n#EXT-X-TARGETDURATION:7\n#EXTINF:7.0,\nfile://" + secret + "\n#EXT-X-ENDLIST\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "playlist.mp4"), []byte(playlist), 0o644))

	// 127.0.0.1 plays the public internet; 127.0.0.2 an internal host
	// that logs every connection it gets.
	public := tlsServerOn(t, "127.0.0.1:0", http.FileServer(http.Dir(dir)))
	var internalConns atomic.Int32
	internal := httptest.NewUnstartedServer(http.FileServer(http.Dir(dir)))
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2: %v", err)
	}
	internal.Listener = l
	internal.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			internalConns.Add(1)
		}
	}
	internal.StartTLS()
	defer internal.Close()

	guard := netguard.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})
	proxy, err := netguard.StartProxy(guard, nil)
	require.NoError(t, err)
	defer proxy.Close()
	ctx := context.Background()

	require.InDelta(t, 2.0, URLDuration(ctx, "ffprobe", proxy.URL(), public.URL+"/clip.m4a"), 0.2,
		"https through the guard's proxy")
	require.Zero(t, URLDuration(ctx, "ffprobe", proxy.URL(), internal.URL+"/clip.m4a"), "an internal address")
	require.Zero(t, URLDuration(ctx, "ffprobe", proxy.URL(), public.URL+"/playlist.mp4"),
		"a playlist served as media is not followed (its segment lasts 7 s)")
	require.Zero(t, internalConns.Load(), "the internal listener saw a connection")
}
