package ytdlp

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/riptide-dev/riptide/workflows"
	"go.temporal.io/sdk/temporal"
)

// FuzzClassifyYtdlpError: any stderr yt-dlp might print becomes a typed
// application error of a known type, never a panic.
func FuzzClassifyYtdlpError(f *testing.F) {
	for _, s := range []string{
		"", "ERROR:", "ERROR: [youtube] abc: Private video. Sign in if you've been granted access",
		"WARNING: x\nERROR: Unable to download webpage: HTTP Error 404: Not Found",
		"ERROR: Unable to download webpage: HTTP Error 403: Blocked by riptide netguard (caused by x)",
		"ERROR: [generic] Unsupported URL: https://example.com/", "ERROR: This video is DRM protected",
		"ERROR: [youtube] x: Sign in to confirm you're not a bot. Use --cookies", "Traceback (most recent call last):\n",
		"ERROR: \x00\xff\n", "ERROR: [a]  : ",
	} {
		f.Add(s)
	}
	known := []string{workflows.ErrTypeTechnical, workflows.ErrTypeContentUnavailable, workflows.ErrTypeDRMProtected, workflows.ErrTypeUnsupported,
		workflows.ErrTypeNotFound, workflows.ErrTypeInvalidInput, workflows.ErrTypeBlockedAddress, workflows.ErrTypeRateLimited}
	f.Fuzz(func(t *testing.T, stderr string) {
		err := classifyError(stderr, errors.New("exit status 1"))
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) {
			t.Fatalf("not an application error: %v", err)
		}
		if !slices.Contains(known, appErr.Type()) {
			t.Fatalf("unknown type %q", appErr.Type())
		}
		if appErr.NonRetryable() == (appErr.Type() == workflows.ErrTypeTechnical || appErr.Type() == workflows.ErrTypeRateLimited) {
			t.Fatalf("type %s with non-retryable=%v", appErr.Type(), appErr.NonRetryable())
		}
	})
}

// FuzzYtdlpTracker: whatever yt-dlp writes to stdout, progress stays sane:
// no negative byte counts, a percentage within [0, 100].
func FuzzYtdlpTracker(f *testing.F) {
	for _, s := range []string{
		`PROG {"status":"downloading","downloaded_bytes":100,"total_bytes":1000}` + "\n",
		"PROG {\"status\":\"finished\",\"downloaded_bytes\":1000,\"total_bytes\":1000}\nFILE 137 /w/src.137.mp4\n",
		`PROG {"status":"downloading","downloaded_bytes":-5,"total_bytes_estimate":1e300}` + "\n",
		`PROG {"status":"downloading","downloaded_bytes":1e19,"total_bytes":-1}` + "\n",
		"FILE  \nPROG null\nPROG {\nFILE a b c\r\n",
	} {
		f.Add(s, int64(1000), int64(0))
	}
	f.Fuzz(func(t *testing.T, out string, size1, size2 int64) {
		// Expected sizes come from the info JSON through byteCount.
		tr := &tracker{expected: []int64{byteCount(float64(size1)), byteCount(float64(size2))}, files: map[string]string{}}
		w := &lineWriter{fn: tr.line}
		for chunk := range strings.SplitSeq(out, "\x01") { // arbitrary write boundaries
			if _, err := w.Write([]byte(chunk)); err != nil {
				t.Fatal(err)
			}
			p := tr.progress()
			if p.Bytes < 0 || p.Total < 0 || math.IsNaN(p.Percent) || p.Percent < 0 || p.Percent > 100 {
				t.Fatalf("progress %+v", p)
			}
		}
	})
}
