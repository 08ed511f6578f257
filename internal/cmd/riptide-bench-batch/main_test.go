//go:build integration

package main

import (
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/devstack"
)

// make bench-batch runs end to end at a toy size: run fails unless the batch
// completes every episode.
func TestBatchBenchCompletesABatch(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole stack")
	}
	for _, tool := range [][2]string{{devstack.TemporalBinEnv, "temporal"}, {devstack.VersitygwBinEnv, "versitygw"}} {
		if _, err := devstack.Tool(tool[0], tool[1]); err != nil {
			if os.Getenv("RIPTIDE_REQUIRE_INTEGRATION") == "1" {
				t.Fatal(err)
			}
			t.Skip(err)
		}
	}
	worker := filepath.Join(t.TempDir(), "riptide-worker")
	out, err := exec.Command("go", "build", "-o", worker, "github.com/riptide-dev/riptide/worker/cmd").CombinedOutput()
	require.NoError(t, err, "%s", out)
	o := options{n: 12, window: 4, page: 5, concurrency: 2, baseline: 12, workerBin: worker}
	require.NoError(t, run(o, slog.New(slog.NewTextHandler(io.Discard, nil))))
}
