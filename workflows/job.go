package workflows

import (
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riptide-dev/riptide/internal/webhook"
)

// Job downloads one media URL, muxes it, uploads it to the bucket and
// notifies the client's webhook. Its JobState lives in the memo for the API
// to read, and is its result.
//
// Reading order: setup (here), then run: transfer (job_transfer.go), then
// the outcome, its status and its webhook (job_outcome.go).
func Job(ctx workflow.Context, in JobInput) (*JobState, error) {
	j, err := newJob(ctx, in)
	if err != nil {
		return nil, err
	}
	return j.run(ctx)
}

type job struct {
	in       JobInput
	state    JobState
	logger   log.Logger
	webhooks *notifier
	// sent records progress stages already announced, so a chain restarted
	// on another worker does not announce them twice.
	sent map[string]bool
	// indexed is the status last written to the RiptideStatus search
	// attribute (started as Pending: JobStartOptions, the batch's child
	// options).
	indexed string
}

// newJob checks the input, fills in defaults and answers the status query
// from the first moment.
func newJob(ctx workflow.Context, in JobInput) (*job, error) {
	if in.JobID == "" || in.URL == "" {
		return nil, temporal.NewNonRetryableApplicationError("job_id and url are required", ErrTypeInvalidInput, nil)
	}
	if in.Format == "" {
		in.Format = DefaultFormat
	}
	j := &job{
		in:      in,
		logger:  log.With(workflow.GetLogger(ctx), "job_id", in.JobID),
		indexed: StatusPending,
	}
	j.state = NewJobState(in, workflow.Now(ctx))
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (JobState, error) { return j.state, nil }); err != nil {
		return nil, err
	}
	j.webhooks = newNotifier(ctx, in.WebhookURL, j.logger, &j.state.Webhooks, j.saveState)
	return j, nil
}

func (j *job) run(ctx workflow.Context) (*JobState, error) {
	up, dl, err := j.transfer(ctx)
	if err != nil && ctx.Err() != nil {
		return nil, j.cancelled(ctx)
	}
	j.settle(ctx, up, dl, err)
	// The job's outcome is settled; webhooks only report it, so a receiver
	// that never answers delays the workflow's end but never changes it.
	j.webhooks.drain(ctx)
	j.reportToBatch(ctx)
	if j.state.Status == StatusFailed {
		return nil, err
	}
	return &j.state, nil
}

// cancelled ends a job cancelled before it finished: its transfer stopped
// and its files are gone (transfer). No webhook: the hosted service has no
// cancellation event, and the client asked for the cancellation.
func (j *job) cancelled(ctx workflow.Context) error {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	j.finish(dctx, StatusCancelled, "cancelled")
	j.reportToBatch(ctx)
	return temporal.NewCanceledError()
}

// reportToBatch tells the batch that started this job how it ended. Jobs
// started through the API have no parent and send nothing. The batch's
// workflow ID without a run ID reaches whichever run is current after
// continue-as-new. A cancelled job still reports, from a disconnected
// context.
func (j *job) reportToBatch(ctx workflow.Context) {
	parent := workflow.GetInfo(ctx).ParentWorkflowExecution
	if parent == nil {
		return
	}
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	err := workflow.SignalExternalWorkflow(ctx, parent.ID, "", EpisodeDoneSignal,
		EpisodeDone{JobID: j.in.JobID, Status: j.state.Status, Bytes: j.state.FileSizeBytes}).Get(ctx, nil)
	if err != nil {
		// The batch is gone (terminated): nobody is left to count this job.
		j.logger.Warn("Reporting to the batch failed", "batch_workflow_id", parent.ID, "error", err)
	}
}

// step records a new step in the memo and announces its stage.
func (j *job) step(ctx workflow.Context, step string, stage Stage) {
	j.state.Status, j.state.Step, j.state.ProgressPercent = StatusProcessing, step, stage.Percent
	j.saveState(ctx)
	j.progress(ctx, stage)
}

// progress queues a progress webhook once per stage, if the client asked.
func (j *job) progress(ctx workflow.Context, stage Stage) {
	if !j.in.EnableProgressWebhook || j.sent[stage.Name] {
		return
	}
	if j.sent == nil {
		j.sent = map[string]bool{}
	}
	j.sent[stage.Name] = true
	j.webhooks.sendProgress(TypeProgress, ProgressEventID(j.in.JobID, stage.Name), webhook.Progress{
		Type: TypeProgress, JobID: j.in.JobID, URL: j.in.URL,
		Stage: stage.Name, ProgressPercent: stage.Percent,
	})
}

func (j *job) finish(ctx workflow.Context, status, errMsg string) {
	j.state.Status, j.state.Step, j.state.Error = status, StepFinished, errMsg
	j.saveState(ctx)
}

// saveState writes the state to the memo, and the status to its search
// attribute when it changed.
func (j *job) saveState(ctx workflow.Context) {
	j.state.UpdatedAt = workflow.Now(ctx)
	if err := workflow.UpsertMemo(ctx, map[string]any{MemoKey: j.state}); err != nil {
		j.logger.Error("Saving job state to memo failed", "error", err)
	}
	if j.state.Status != j.indexed {
		j.indexed = j.state.Status
		if err := workflow.UpsertTypedSearchAttributes(ctx, StatusKey.ValueSet(j.state.Status)); err != nil {
			j.logger.Error("Indexing job status failed", "error", err)
		}
	}
}
