package ffmpeg

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/riptide-dev/riptide/internal/mediatest"
	"github.com/stretchr/testify/require"
)

// Duration reads a file's length; URLDuration reads a URL's through the
// proxy it is given, and says 0 for what it cannot read.
func TestDurations(t *testing.T) {
	mediatest.RequireTools(t, "ffmpeg", "ffprobe")
	file := filepath.Join(t.TempDir(), "clip.m4a")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "sine", "-t", "2", "-c:a", "aac", file)
	ctx := context.Background()
	require.InDelta(t, 2*time.Second, Duration(ctx, "ffprobe", file), float64(200*time.Millisecond))
	require.Zero(t, Duration(ctx, "ffprobe", file+".missing"))

	var mu sync.Mutex
	var asked []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.Host)
		mu.Unlock()
		http.ServeFile(w, r, file)
	}))
	defer proxy.Close()
	require.InDelta(t, 2.0, URLDuration(ctx, "ffprobe", proxy.URL, "http://media.example/clip.m4a"), 0.2)
	mu.Lock()
	require.Contains(t, asked, "media.example:80", "ffprobe went through the proxy")
	mu.Unlock()
	require.Zero(t, URLDuration(ctx, "ffprobe", proxy.URL, "file://"+file), "only HTTP(S)")
}
