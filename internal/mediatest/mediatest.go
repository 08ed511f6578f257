// Package mediatest helps tests that run the real ffmpeg and ffprobe.
package mediatest

import (
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

// RequireTools skips when the external programs are missing, unless the
// run demands integration tests.
func RequireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("RIPTIDE_REQUIRE_INTEGRATION") == "1" {
				t.Fatalf("%s is required: %v", tool, err)
			}
			t.Skipf("%s not installed", tool)
		}
	}
}

// FFmpeg runs ffmpeg quietly with args, failing the test if it fails.
func FFmpeg(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)...).CombinedOutput()
	require.NoError(t, err, "%s", out)
}
