package api

import (
	"os/exec"
	"strings"
	"testing"
)

// TestAPIBinaryLinksNoMediaCode: the API binary must carry none of the
// activities, media drivers or source listers (they run on workers). It
// regressed once when /healthz's yt-dlp version check imported the yt-dlp
// driver; the policy now lives in internal/ytdlp/release.
func TestAPIBinaryLinksNoMediaCode(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command:", err)
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/riptide-dev/riptide/api/cmd").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := []string{
		"github.com/riptide-dev/riptide/activities",
		"github.com/riptide-dev/riptide/internal/ytdlp",
		"github.com/riptide-dev/riptide/internal/ffmpeg",
		"github.com/riptide-dev/riptide/internal/httpget",
		"github.com/riptide-dev/riptide/internal/feeds",
		"github.com/riptide-dev/riptide/internal/spotify",
		"github.com/riptide-dev/riptide/internal/mp4",
		"github.com/mmcdole/gofeed",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if dep == f {
				t.Errorf("the API binary links %s", dep)
			}
		}
	}
}
