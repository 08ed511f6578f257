//go:build integration

package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/devstack"
)

// requireStackTools skips unless the Temporal CLI and versitygw are
// installed (fails when integration tests are required).
func requireStackTools(t *testing.T) {
	t.Helper()
	for _, tool := range [][2]string{{devstack.TemporalBinEnv, "temporal"}, {devstack.VersitygwBinEnv, "versitygw"}} {
		if _, err := devstack.Tool(tool[0], tool[1]); err != nil {
			if os.Getenv("RIPTIDE_REQUIRE_INTEGRATION") == "1" {
				t.Fatal(err)
			}
			t.Skip(err)
		}
	}
}

// Every section of make bench runs end to end at toy sizes and reports every
// figure: the bench broke once (the SSRF guard refused its loopback media)
// without any test noticing.
func TestBenchRunsEverySection(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole stack")
	}
	requireStackTools(t)
	out := filepath.Join(t.TempDir(), "RESULTS.md")
	o := options{
		sizeMB: 8, memoryMB: 8, concMB: 8, jobs: 4, submitters: 2, tinyConcurrency: 2, workerConcurrency: 2,
		concurrency: []int{1, 2}, partSizeMB: 5, s3Concurrency: 2, fragSeconds: 3, fragConcurrency: []int{2},
		transcodeSeconds: 2, dashSourceMB: 8, segMemJobs: 2, segMemSeconds: 2, out: out,
		only: map[string]bool{"datapath": true, "memory": true, "orchestration": true, "concurrency": true, "fragments": true,
			"dash": true, "segmem": true, "transcode": true},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	require.NoError(t, run(ctx, o))
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	md := string(b)
	for _, row := range []string{
		`\| data path, 8 MiB: POST → completed \| [0-9.]+ s .*\| \*\*[0-9.]+\*\* \|`,
		`\| · upload \| [0-9.]+ s \|`,
		`\| peak worker RSS \(VmHWM\), 0.0 GiB job \| [0-9]+ MiB \|`,
		`\| orchestration: 4 tiny jobs via the API, worker concurrency 2 \| [0-9]+ jobs/min \| [0-9]+ workflows/min`,
		`\| · · Temporal server \| [0-9]+ ms \| [0-9]+ ms \|`,
		`\| 2 concurrent 8 MiB jobs, worker concurrency 2 \| [0-9.]+ jobs/min`,
		`\| HLS, [0-9]+ fragments .*2 at once: riptide[^|]*, download stage \| [0-9.]+ s \| [0-9.]+ s: plain GETs of the playlist \+ fragments`,
		`\| · same vs yt-dlp's CLI \(` + "`--concurrent-fragments 2" + `[^|]*\| [0-9.]+ s \| [0-9.]+ s: yt-dlp alone \| [0-9.]+ \|`,
		`\| · riptide \([^)]+\), download stage \| [0-9.]+ s \|`,
		`\| DASH, separate video \+ audio .*remuxed to mp4: riptide[^|]*, POST → completed \| [0-9.]+ s .*\| \*\*[0-9.]+\*\* \| ≥ 1.2 \|`,
		`\| · mux \| [0-9.]+ s \| [0-9.]+ s: ` + "`ffmpeg -c copy` of the two files",
		`\| riptide/floor \*\*[0-9.]+\*\* \|`,
		`\| · vs yt-dlp's CLI \(` + "`-f bv\\+ba" + `.*\| [0-9.]+ s \| [0-9.]+ s \| [0-9.]+ \|`,
		`\| peak worker RSS \(VmHWM\), 2 concurrent HLS jobs .*\| [0-9]+ MiB \(all done in [0-9.]+ s\) \| [0-9]+ MiB: same worker idle \|`,
		`\| transcode to H.264 .*2 s of 1280x720 at 30 fps: mux stage \| [0-9]+ fps .*\| \*\*[0-9.]+\*\* \|`,
	} {
		require.Regexp(t, regexp.MustCompile(row), md)
	}
	require.NotContains(t, md, "did not complete")
}
