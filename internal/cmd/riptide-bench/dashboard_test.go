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
)

// The dashboard section runs alone (-only dashboard) at a toy size and
// reports every endpoint and baseline.
func TestBenchDashboardSection(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole stack")
	}
	requireStackTools(t)
	out := filepath.Join(t.TempDir(), "RESULTS.md")
	o := options{sizeMB: 1 << 20, memoryMB: 1 << 20, concMB: 1 << 20, partSizeMB: 5, s3Concurrency: 2,
		dashJobs: 100, dashCold: 2, dashWarm: 1, out: out, only: map[string]bool{"dashboard": true}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// The sizes of the sections not run would not fit on the disk: they
	// must not be asked for.
	require.NoError(t, run(ctx, o))
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	md := string(b)
	require.Contains(t, md, "### Dashboard at 100 jobs")
	for _, path := range []string{"/dashboard/stats", "/dashboard/jobs", "/dashboard/batches", "/dashboard/cluster",
		"/dashboard/daily", "/jobs\\?limit=50", "/usage"} {
		require.Regexp(t, regexp.MustCompile("\\| `GET "+path+"` \\| .* \\| [0-9.]+ ms \\| [0-9.]+ ms \\| 2 \\| [0-9.]+ ms \\| [0-9.]+ ms \\|"), md)
	}
	require.Regexp(t, `\| baseline: CountWorkflowExecutions, jobs, GROUP BY ExecutionStatus \| .* \| [0-9.]+ ms \| [0-9.]+ ms \| 2 \|`, md)
	require.Regexp(t, `\| baseline: ListWorkflowExecutions, one page of 50 jobs \| .* \| [0-9.]+ ms \|`, md)
}
