package workflows

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
)

// TestReplayCommittedHistories replays every history in testdata against the
// current workflow code. A change that would break running jobs (a new,
// removed or reordered command without workflow.GetVersion) fails here.
//
// Record a new history after a deliberate change with
//
//	temporal workflow show -w job-<id> --output json > workflows/testdata/<name>_v<N>.json
//
// The batch histories (batch_*_run, job_batch_episode) are recorded by the
// restart test: RIPTIDE_RECORD_HISTORIES=workflows/testdata (an absolute
// path) go test -run TestBatchSurvives ./internal/e2e; batch_reconciled_episode
// (an episode terminated by hand, found by reconciliation) likewise by
// -run TestBatchCountsTerminatedEpisodeFailed, and job_cancelled_downloading
// and job_retry_completed by -run 'TestCancelRunningDownload|TestRetryFailed'.
func TestReplayCommittedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no histories to replay")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflow(Job)
			r.RegisterWorkflow(Batch)
			r.RegisterWorkflow(RedeliverWebhook)
			require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(nil, f))
		})
	}
}
