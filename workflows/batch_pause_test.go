package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func (be *batchEnv) downloads() int {
	be.mu.Lock()
	defer be.mu.Unlock()
	return len(be.downloaded)
}

// TestPauseRunningBatchThenStart: a running batch paused starts no new
// episode for a month (the running one finishes and is counted); a second
// pause is refused; the start resumes it and every episode completes, with
// one batch_completed.
func TestPauseRunningBatchThenStart(t *testing.T) {
	be := newBatchEnv(t, fakeManifest{n: 4, slow: time.Hour})
	in := batchInput()
	in.WindowSize = 1
	var pause, again answer[PauseBatchResult]
	var start answer[StartBatchResult]
	var paused BatchState
	var downloadsWhilePaused int
	be.env.RegisterDelayedCallback(func() {
		be.env.UpdateWorkflow(PauseBatchUpdate, "p1", pause.callbacks())
	}, 90*time.Minute)
	be.env.RegisterDelayedCallback(func() {
		paused = be.queryState(t)
		downloadsWhilePaused = be.downloads()
		be.env.UpdateWorkflow(PauseBatchUpdate, "p2", again.callbacks())
	}, 30*24*time.Hour)
	be.env.RegisterDelayedCallback(func() {
		be.env.UpdateWorkflow(StartBatchUpdate, "s1", start.callbacks())
	}, 31*24*time.Hour)
	be.env.ExecuteWorkflow(Batch, in)

	require.NoError(t, be.env.GetWorkflowError())
	require.True(t, pause.done)
	require.NoError(t, pause.rejected)
	require.NoError(t, pause.err)
	require.Equal(t, 1, pause.v.RunningJobs, "the second episode was running when paused")
	require.True(t, paused.Paused)
	require.Equal(t, BatchPaused, paused.Status)
	require.Equal(t, 2, paused.Started)
	require.Equal(t, 2, paused.Completed, "the running episode finished and was counted")
	require.Zero(t, paused.Running)
	require.Equal(t, 2, downloadsWhilePaused, "no episode starts while paused")
	requireBatchState(t, again.rejected, "already paused")

	require.NoError(t, start.rejected)
	require.NoError(t, start.err)
	require.Equal(t, 2, start.v.StartedJobs)
	var st BatchState
	require.NoError(t, be.env.GetWorkflowResult(&st))
	require.Equal(t, BatchCompleted, st.Status)
	require.False(t, st.Paused)
	require.Equal(t, 4, st.Completed)
	require.Len(t, be.downloaded, 4)
	done := be.ofType("batch_completed")
	require.Len(t, done, 1)
	require.Equal(t, float64(4), done[0]["completed_episodes"])
}

// TestPauseRefusedUnlessRunning: a batch created paused is already paused;
// a cancelled one, or one whose every episode has started, is not running.
func TestPauseRefusedUnlessRunning(t *testing.T) {
	t.Run("created paused", func(t *testing.T) {
		be := newBatchEnv(t, fakeManifest{n: 2})
		in := batchInput()
		in.Paused = true
		var pause answer[PauseBatchResult]
		be.env.RegisterDelayedCallback(func() { be.env.UpdateWorkflow(PauseBatchUpdate, "p", pause.callbacks()) }, time.Hour)
		be.env.RegisterDelayedCallback(func() { be.env.SignalWorkflow(CancelBatchSignal, nil) }, 2*time.Hour)
		be.env.ExecuteWorkflow(Batch, in)
		require.NoError(t, be.env.GetWorkflowError())
		requireBatchState(t, pause.rejected, "batch is already paused (current status: paused)")
	})
	t.Run("cancelled", func(t *testing.T) {
		be := newBatchEnv(t, fakeManifest{n: 3, slow: time.Hour})
		in := batchInput()
		in.WindowSize = 1
		var pause answer[PauseBatchResult]
		be.env.RegisterDelayedCallback(func() {
			be.env.SignalWorkflow(CancelBatchSignal, nil)
			be.env.UpdateWorkflow(PauseBatchUpdate, "p", pause.callbacks())
		}, 30*time.Minute)
		be.env.ExecuteWorkflow(Batch, in)
		require.NoError(t, be.env.GetWorkflowError())
		require.True(t, pause.done)
		requireBatchState(t, pause.rejected, "batch is not running")
	})
	t.Run("every episode started", func(t *testing.T) {
		be := newBatchEnv(t, fakeManifest{n: 2, slow: time.Hour})
		var pause answer[PauseBatchResult]
		be.env.RegisterDelayedCallback(func() { be.env.UpdateWorkflow(PauseBatchUpdate, "p", pause.callbacks()) }, 30*time.Minute)
		be.env.ExecuteWorkflow(Batch, batchInput())
		require.NoError(t, be.env.GetWorkflowError())
		requireBatchState(t, pause.rejected, "every episode has started")
		require.Len(t, be.downloaded, 2)
	})
}

// TestPausedRunningBatchCarriedAcrossContinueAsNew: the run a paused
// running batch continued as new (Suspended, part of its episodes done)
// stays paused, starts nothing, and resumes from its offset once started.
func TestPausedRunningBatchCarriedAcrossContinueAsNew(t *testing.T) {
	be := newBatchEnv(t, fakeManifest{n: 4})
	in := batchInput()
	in.Suspended, in.Total, in.Offset, in.Completed = true, 4, 2, 2
	in.ManifestKey = ManifestKey(testBatchID)
	var st BatchState
	var downloadsWhilePaused int
	var start answer[StartBatchResult]
	be.env.RegisterDelayedCallback(func() {
		st = be.queryState(t)
		downloadsWhilePaused = be.downloads()
	}, 7*24*time.Hour)
	be.env.RegisterDelayedCallback(func() { be.env.UpdateWorkflow(StartBatchUpdate, "s", start.callbacks()) }, 8*24*time.Hour)
	be.env.ExecuteWorkflow(Batch, in)
	require.NoError(t, be.env.GetWorkflowError())
	require.Equal(t, BatchPaused, st.Status)
	require.True(t, st.Paused)
	require.Zero(t, downloadsWhilePaused)
	require.NoError(t, start.err)
	require.Equal(t, 2, start.v.StartedJobs)
	var end BatchState
	require.NoError(t, be.env.GetWorkflowResult(&end))
	require.Equal(t, BatchCompleted, end.Status)
	require.Equal(t, 4, end.Completed)
	require.ElementsMatch(t, []string{"https://feed.example/ep2.mp3", "https://feed.example/ep3.mp3"}, be.downloaded)
}
