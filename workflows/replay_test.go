package workflows

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
)

// TestReplayCommittedHistories replays every history in testdata against the
// current workflow code, registered as the worker registers it. A change
// that would break running workflows (a new, removed or reordered command
// without a version marker) fails here.
//
// The histories are recorded from real runs by the end-to-end tests:
// `make record-histories` runs them and writes testdata/<scenario>.json.
func TestReplayCommittedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no histories to replay")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			Register(r)
			require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(nil, f))
		})
	}
}
