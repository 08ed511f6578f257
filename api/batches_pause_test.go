package api

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/riptide-dev/riptide/workflows"
)

func runningState() workflows.BatchState {
	st := pausedState()
	st.Paused, st.Status, st.Started, st.Running = false, workflows.BatchRunning, 1, 1
	return st
}

// TestPauseBatch: a running batch is paused through the workflow's pause
// update, under both spellings of the path; the answer says paused.
func TestPauseBatch(t *testing.T) {
	for _, p := range []string{"/batch/", "/batches/"} {
		h := newBatchHarness(t)
		pausedBatch(t, h, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, runningState())
		expectUpdate(h, workflows.PauseBatchUpdate, nil, func(out any) {
			*out.(*workflows.PauseBatchResult) = workflows.PauseBatchResult{RunningJobs: 1}
		}, nil)
		rec := h.do(http.MethodPost, p+testBatchID+"/pause", "", testKey)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Equal(t, map[string]any{"batch_id": testBatchID, "running_jobs": float64(1), "paused": true,
			"status": "paused", "riptide_status": "paused"}, decodeBody(t, rec))
	}
}

// TestPauseBatchRefused: a paused batch, an ended one and one the
// workflow refuses (every episode started meanwhile) answer 409 saying
// why; the first two never reach the workflow.
func TestPauseBatchRefused(t *testing.T) {
	ended := runningState()
	ended.Status = workflows.BatchCompleted
	for _, tc := range []struct {
		status enumspb.WorkflowExecutionStatus
		st     workflows.BatchState
		want   string
	}{
		{enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, pausedState(), "Batch is already paused (current status: paused)"},
		{enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, ended, "Batch is not running (current status: completed)"},
	} {
		h := newBatchHarness(t)
		pausedBatch(t, h, tc.status, tc.st)
		m := requireError(t, h.do(http.MethodPost, "/batches/"+testBatchID+"/pause", "", testKey), http.StatusConflict, codeConflict, "")
		require.Equal(t, tc.want, m["error"])
		h.tc.AssertNumberOfCalls(t, "UpdateWorkflow", 0)
	}

	h := newBatchHarness(t)
	pausedBatch(t, h, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, runningState())
	expectUpdate(h, workflows.PauseBatchUpdate, nil, nil,
		temporal.NewNonRetryableApplicationError("batch is not running (current status: running): every episode has started already", workflows.ErrTypeBatchState, nil))
	m := requireError(t, h.do(http.MethodPost, "/batch/"+testBatchID+"/pause", "", testKey), http.StatusConflict, codeConflict, "")
	require.Equal(t, "Batch is not running (current status: running): every episode has started already", m["error"])
}
