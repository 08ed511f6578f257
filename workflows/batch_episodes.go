package workflows

import (
	"slices"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

func (b *batch) startEpisode(ctx workflow.Context, ep Episode) {
	jobID := EpisodeJobID(b.in.BatchID, b.in.Offset)
	if ep.JobID != "" {
		// A subscription's episode: its ID says which episode it is, so
		// no later sweep can start it again. Only a child's workflow ID
		// changes, which replay does not compare: no version needed.
		jobID = ep.JobID
	}
	b.in.Offset++
	in := JobInput{
		JobID: jobID, URL: ep.URL, WebhookURL: b.in.WebhookURL, Folder: b.in.Folder,
		EnableProgressWebhook: b.in.EnableProgressWebhook, DownloadSubtitles: b.in.DownloadSubtitles,
		Format: b.in.Format, Title: ep.Title, Description: ep.Description, ReleaseDate: ep.ReleaseDate,
		JobOptions: b.in.JobOptions, Tenancy: b.episodeTenancy(), Storage: b.in.Storage,
	}
	in.Filename = EpisodeFilename(in.Filename, jobID)
	if ep.Filename != "" {
		// Renamed while the batch was paused: exactly the client's name.
		in.Filename = ep.Filename
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: JobWorkflowID(jobID),
		// Children outlive the run that started them (continue-as-new)
		// and report to the batch by signal instead of by result.
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		// A cancelled episode runs its own clean-up and still reports.
		WaitForCancellation: true,
		// Replay matches a child's start by workflow type only, so adding
		// search attributes changes no command of running batches.
		TypedSearchAttributes: jobSearchAttributes(b.in.Folder, b.in.BatchID, b.in.Tenancy),
		Memo:                  map[string]any{MemoKey: NewJobState(in, workflow.Now(ctx))},
	})
	fut := workflow.ExecuteChildWorkflow(cctx, Job, in)
	b.running = append(b.running, jobID)
	b.pending++
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { b.pending-- }()
		err := fut.GetChildWorkflowExecution().Get(ctx, nil)
		if err == nil {
			return
		}
		if _, ok := err.(*temporal.ChildWorkflowExecutionAlreadyStartedError); ok {
			// Started by an earlier attempt: it reports like any other.
			return
		}
		b.logger.Error("Starting episode failed", "job_id", jobID, "error", err)
		b.done(EpisodeDone{JobID: jobID, Status: StatusFailed})
	})
}

// pumpSignals applies episode reports and cancellation as they arrive.
func (b *batch) pumpSignals(ctx workflow.Context) {
	for {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(b.doneCh, func(c workflow.ReceiveChannel, _ bool) {
			var d EpisodeDone
			c.Receive(ctx, &d)
			b.done(d)
		})
		sel.AddReceive(b.cancel, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			b.requestCancel()
		})
		sel.Select(ctx)
	}
}

// reconcile counts as failed the episodes that closed without reporting
// their end: an episode workflow terminated by hand (or timed out) never
// signals, and the batch would wait for it forever. Every ReconcileEvery,
// while episodes run, it asks Temporal which of them have closed. A child
// signals before it closes, so by the time the answer arrives any report of
// a closed child is already in the signal channel: drained first, it is
// counted as reported, and done ignores the second count.
func (b *batch) reconcile(ctx workflow.Context) {
	actx := onControl(ctx, reconcileOptions)
	for {
		_ = workflow.Await(ctx, func() bool { return len(b.running) > 0 })
		if err := workflow.Sleep(ctx, b.in.ReconcileEvery); err != nil {
			return
		}
		ids := make([]string, 0, len(b.running))
		for _, id := range b.running {
			ids = append(ids, JobWorkflowID(id))
		}
		if len(ids) == 0 {
			continue
		}
		closed, err := ClosedWorkflows.Execute(actx, ids)
		if err != nil {
			b.logger.Warn("Checking running episodes failed", "error", err)
			continue
		}
		if len(closed) == 0 {
			continue
		}
		b.drainSignals()
		for _, c := range closed {
			jobID, _ := ParseJobWorkflowID(c.WorkflowID)
			if !slices.Contains(b.running, jobID) {
				continue
			}
			b.logger.Warn("Episode closed without reporting; counting it failed", "job_id", jobID, "workflow_status", c.Status)
			b.done(EpisodeDone{JobID: jobID, Status: StatusFailed})
		}
		b.saveState(ctx)
	}
}

// drainSignals applies the signals already received, before the run ends:
// a signal left in a channel would be lost with the run.
func (b *batch) drainSignals() {
	for {
		var d EpisodeDone
		if !b.doneCh.ReceiveAsync(&d) {
			break
		}
		b.done(d)
	}
	for b.cancel.ReceiveAsync(nil) {
		b.requestCancel()
	}
}

// done counts an episode's end once: reports for an episode not running
// (a duplicate, or one already counted at a failed start) are ignored.
func (b *batch) done(d EpisodeDone) {
	i := slices.Index(b.running, d.JobID)
	if i < 0 {
		return
	}
	b.running = slices.Delete(b.running, i, i+1)
	if d.Status == StatusCompleted {
		b.in.Completed++
		b.in.StoredBytes += d.Bytes
	} else {
		// Failed, Warning and Skipped all count as failed, as the hosted
		// service counts them.
		b.in.Failed++
	}
}

func (b *batch) requestCancel() {
	if !b.in.Cancelled {
		b.logger.Info("Batch cancellation requested")
	}
	b.in.Cancelled = true
}

// cancelRemaining counts the episodes never started as failed and asks the
// running ones to stop; those still report their end by signal.
func (b *batch) cancelRemaining(ctx workflow.Context) {
	b.cancelSent = true
	b.in.Failed += b.in.Total - b.in.Offset
	b.in.Offset = b.in.Total
	_ = workflow.Await(ctx, func() bool { return b.pending == 0 })
	futures := make([]workflow.Future, 0, len(b.running))
	for _, id := range b.running {
		futures = append(futures, workflow.RequestCancelExternalWorkflow(ctx, JobWorkflowID(id), ""))
	}
	for i, f := range futures {
		if err := f.Get(ctx, nil); err != nil {
			// Already ended: its report is on its way or counted.
			b.logger.Info("Cancelling episode failed", "workflow_id", JobWorkflowID(b.running[i]), "error", err)
		}
	}
	b.saveState(ctx)
}

// continueAsNew hands the batch to a fresh run once every child start is
// confirmed and every received signal is applied.
func (b *batch) continueAsNew(ctx workflow.Context) error {
	_ = workflow.Await(ctx, func() bool { return b.pending == 0 })
	b.drainSignals()
	next := b.in
	next.Running = slices.Clone(b.running)
	b.logger.Info("Batch continuing as new", "offset", next.Offset, "running", len(next.Running))
	return workflow.NewContinueAsNewError(ctx, Batch, next)
}

// episodeTenancy is the batch's tenancy as the next episode gets it: the
// storage the tenant had used when the batch was created plus what the
// batch's episodes have stored since, so the episode's download refuses
// to start once the quota is spent (activities: checkTenantLimits).
func (b *batch) episodeTenancy() Tenancy {
	t := b.in.Tenancy
	if t.Limits != nil {
		l := *t.Limits
		l.StorageUsedBytes += b.in.StoredBytes
		t.Limits = &l
	}
	return t
}
