package ytdlp

import (
	"strings"
	"testing"

	"github.com/riptide-dev/riptide/workflows"
	"github.com/stretchr/testify/require"
)

func TestFormatSelector(t *testing.T) {
	require.Equal(t, "bv*+ba/b", FormatSelector(workflows.DownloadInput{}))
	require.Equal(t, "ba/b", FormatSelector(workflows.DownloadInput{Format: "m4a", MaxHeight: 720}))
	require.Equal(t, "bv*[height<=480][width>480]+ba/bv*[width<=480][height>480]+ba/bv*[height<=?480][width<=?480]+ba/"+
		"b[height<=480][width>480]/b[width<=480][height>480]/b[height<=?480][width<=?480]/wv*+ba/w",
		FormatSelector(workflows.DownloadInput{MaxHeight: 480}))
}

// The progress of a DASH download as yt-dlp reports it: the video's
// fragments with a growing estimate, its end, then the audio's.
func TestYtdlpTrackerProgress(t *testing.T) {
	tr := &tracker{expected: []int64{0, 30000}, files: map[string]string{}}
	steps := []struct {
		line string
		want workflows.Progress
	}{
		{`PROG {"status": "downloading", "downloaded_bytes": 806, "fragment_index": 0, "fragment_count": 4, "filename": "/j/src.0.mp4", "total_bytes_estimate": 3224.0, "eta": 0}`,
			workflows.Progress{Bytes: 806, Total: 3224 + 30000, Percent: 806 * 100 / float64(33224)}},
		{`PROG {"status": "downloading", "downloaded_bytes": 41445, "filename": "/j/src.0.mp4", "total_bytes_estimate": 55260.0}`,
			workflows.Progress{Bytes: 41445, Total: 55260 + 30000, Percent: 41445 * 100 / float64(85260)}},
		{`PROG {"downloaded_bytes": 63246, "total_bytes": 63246, "filename": "/j/src.0.mp4", "status": "finished", "elapsed": 0.02}`,
			workflows.Progress{Bytes: 63246, Total: 63246 + 30000, Percent: 63246 * 100 / float64(93246)}},
		{`FILE 0 /j/src.0.mp4`, workflows.Progress{Bytes: 63246, Total: 93246, Percent: 63246 * 100 / float64(93246)}},
		{`PROG {"status": "downloading", "downloaded_bytes": 765, "filename": "/j/src.1.m4a", "total_bytes_estimate": 3060.0}`,
			workflows.Progress{Bytes: 63246 + 765, Total: 63246 + 3060, Percent: (63246 + 765) * 100 / float64(63246+3060)}},
		// Already downloaded by an earlier attempt: only the total is known.
		{`PROG {"status": "finished", "total_bytes": 26491, "filename": "/j/src.1.m4a"}`,
			workflows.Progress{Bytes: 63246 + 26491, Total: 63246 + 26491, Percent: 100}},
		{`FILE 1 /j/src with space.1.m4a`, workflows.Progress{Bytes: 63246 + 26491, Total: 63246 + 26491, Percent: 100}},
		{`PROG not json`, workflows.Progress{Bytes: 63246 + 26491, Total: 63246 + 26491, Percent: 100}},
	}
	for _, s := range steps {
		tr.line(s.line)
		if got := tr.progress(); got != s.want {
			t.Errorf("after %.40q: %+v, want %+v", s.line, got, s.want)
		}
	}
	if tr.files["0"] != "/j/src.0.mp4" || tr.files["1"] != "/j/src with space.1.m4a" {
		t.Errorf("files %v", tr.files)
	}

	// Unknown sizes: no total until the last format reports an estimate.
	tr = &tracker{expected: []int64{0, 0}, files: map[string]string{}}
	tr.line(`PROG {"status": "downloading", "downloaded_bytes": 100, "total_bytes_estimate": 1000}`)
	if got := tr.progress(); got != (workflows.Progress{Bytes: 100}) {
		t.Errorf("unknown audio size: %+v, want bytes only", got)
	}
}

func TestLineWriter(t *testing.T) {
	var lines []string
	w := &lineWriter{fn: func(l string) { lines = append(lines, l) }}
	for _, chunk := range []string{"PROG {", "}\r\nFILE a b\nFI", "LE c d\n", "partial"} {
		if n, err := w.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if want := []string{"PROG {}", "FILE a b", "FILE c d"}; strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("lines %q, want %q", lines, want)
	}
}
