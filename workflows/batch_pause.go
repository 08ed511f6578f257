package workflows

import "go.temporal.io/sdk/workflow"

// ChangePauseRunningBatch versions pausing a running batch
// (PauseBatchUpdate). A batch only behaves differently once it was paused
// this way, so the version is asked for only then: by the pause handler
// and by a run continued as new while paused (BatchInput.Suspended).
// Batches never paused record no marker and run the commands they always
// did.
const ChangePauseRunningBatch = "pause-running-batch"

// PauseBatchResult answers PauseBatchUpdate: the episodes still running,
// which finish and are counted as usual.
type PauseBatchResult struct {
	RunningJobs int `json:"running_jobs"`
}

// registerPauseRunning registers PauseBatchUpdate.
func (b *batch) registerPauseRunning(ctx workflow.Context) error {
	return workflow.SetUpdateHandlerWithOptions(ctx, PauseBatchUpdate, b.pause,
		workflow.UpdateHandlerOptions{Validator: b.checkRunning})
}

// suspendedVersion settles whether this run honours BatchInput.Suspended
// (set by a run before it continued as new).
func (b *batch) suspendedVersion(ctx workflow.Context) {
	if b.in.Suspended && workflow.GetVersion(ctx, ChangePauseRunningBatch, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		b.in.Suspended = false
	}
}

// checkRunning refuses a pause of a batch that is not running (listing,
// created paused and not started, cancelled, ended, or with every episode
// started already) or is paused.
func (b *batch) checkRunning() error {
	st := b.state()
	switch {
	case st.Paused:
		return batchStateError("batch is already paused (current status: %s)", st.Status)
	case st.Status != BatchRunning || b.in.Cancelled:
		return batchStateError("batch is not running (current status: %s)", st.Status)
	case b.in.Offset >= b.in.Total:
		return batchStateError("batch is not running (current status: %s): every episode has started already", st.Status)
	}
	return nil
}

// pause handles PauseBatchUpdate: the loop (batch.go) starts no new
// episode while Suspended is set.
func (b *batch) pause(ctx workflow.Context) (PauseBatchResult, error) {
	if err := b.checkRunning(); err != nil {
		return PauseBatchResult{}, err
	}
	// Marks the history: only code that knows the pause records one.
	_ = workflow.GetVersion(ctx, ChangePauseRunningBatch, workflow.DefaultVersion, 1)
	b.in.Suspended = true
	b.logger.Info("Batch paused", "running", len(b.running), "left", b.in.Total-b.in.Offset)
	b.saveState(ctx)
	return PauseBatchResult{RunningJobs: len(b.running)}, nil
}

// mayStart reports whether the loop may start the next episode now.
func (b *batch) mayStart() bool {
	return len(b.running) < b.in.WindowSize && !b.in.Suspended
}
