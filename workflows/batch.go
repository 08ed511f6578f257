package workflows

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riptide-dev/riptide/activities"
	"github.com/riptide-dev/riptide/internal/webhook"
)

// Batch names, as public as the Job's.
const (
	// BatchStateQuery returns the batch's BatchState.
	BatchStateQuery = "state"
	// BatchMemoKey is the memo entry holding the BatchState as of the
	// current run's start (and the final state once it ended).
	BatchMemoKey = "batch"
	// BatchListedUpdate waits until the batch's episode list is known (or
	// could not be read) and returns its BatchState. The API sends it with
	// the batch's start (update-with-start), so one call both starts the
	// batch and answers with its episodes.
	BatchListedUpdate = "listed"
	// EpisodeDoneSignal is sent by each episode job to its batch when it
	// ends; the payload is an EpisodeDone.
	EpisodeDoneSignal = "episode-done"
	// CancelBatchSignal asks a batch to cancel its unfinished episodes.
	CancelBatchSignal = "cancel"

	batchWorkflowIDPrefix = "batch-"
)

// Batch statuses.
const (
	BatchResolving = "resolving"
	BatchRunning   = "running"
	// BatchCompleted and BatchFinished are the hosted service's final
	// statuses: every episode succeeded, or some failed or were skipped.
	BatchCompleted = "completed"
	BatchFinished  = "finished"
)

// Defaults of BatchInput's tuning fields.
const (
	DefaultBatchWindow   = 20
	DefaultBatchPageSize = 500
	// episodeFetchSize is how many episodes one BatchEpisodes call returns:
	// small enough that a page is a few tens of KiB of history.
	episodeFetchSize = 100
	// DefaultReconcileEvery is how often a batch looks for episodes that
	// closed without reporting.
	DefaultReconcileEvery = 5 * time.Minute
)

// reconcileChange versions the periodic check for episodes that closed
// without reporting (workflow.GetVersion).
const reconcileChange = "reconcile-closed-episodes"

// BatchWorkflowID is the workflow ID of the batch with the given ID.
func BatchWorkflowID(batchID string) string { return batchWorkflowIDPrefix + batchID }

// EpisodeJobID is the job ID of a batch's index-th episode (0-based): a
// UUID v5 of the batch ID and the index, so every run of the batch, the API
// and clients derive the same ID without storing it.
func EpisodeJobID(batchID string, index int) string {
	ns, err := uuid.Parse(batchID)
	name := strconv.Itoa(index)
	if err != nil {
		ns, name = uuid.NameSpaceURL, "riptide:batch:"+batchID+"/"+name
	}
	return uuid.NewSHA1(ns, []byte(name)).String()
}

// BatchInput is the single input of the Batch workflow. The fields after
// the job options carry the state from one run to the next across
// continue-as-new; a new batch leaves them zero.
type BatchInput struct {
	BatchID               string
	ShowURL               string
	WebhookURL            string `json:",omitempty"`
	Folder                string `json:",omitempty"`
	EnableProgressWebhook bool   `json:",omitempty"`
	DownloadSubtitles     bool   `json:",omitempty"`
	Format                string `json:",omitempty"`
	JobOptions
	// WindowSize is how many episodes run at once; PageSize how many
	// episodes one run starts before it continues as new.
	WindowSize int `json:",omitempty"`
	PageSize   int `json:",omitempty"`
	// ReconcileEvery is how often the batch asks Temporal whether episodes
	// it counts as running have closed without reporting.
	ReconcileEvery time.Duration `json:",omitempty"`

	ManifestKey string   `json:",omitempty"`
	Total       int      `json:",omitempty"`
	Offset      int      `json:",omitempty"`
	Completed   int      `json:",omitempty"`
	Failed      int      `json:",omitempty"`
	Running     []string `json:",omitempty"`
	Cancelled   bool     `json:",omitempty"`
	StartedAt   time.Time
}

// BatchState is a batch as clients see it.
type BatchState struct {
	BatchID   string `json:"batch_id"`
	ShowURL   string `json:"show_url"`
	Folder    string `json:"folder,omitempty"`
	Status    string `json:"status"`
	Resolved  bool   `json:"resolved"`
	Total     int    `json:"total_episodes"`
	Started   int    `json:"started_episodes"`
	Completed int    `json:"completed_episodes"`
	Failed    int    `json:"failed_episodes"`
	Running   int    `json:"running_episodes"`
	Cancelled bool   `json:"cancelled"`
	Error     string `json:"error,omitempty"`
	// ManifestKey is where the episode list is stored in the bucket.
	ManifestKey string    `json:"manifest_key,omitempty"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// EpisodeDone is the payload of EpisodeDoneSignal.
type EpisodeDone struct {
	JobID  string
	Status string
}

// Batch lists the episodes of a show, playlist or feed and runs one Job
// child per episode through a sliding window, continuing as new every
// PageSize episodes (or sooner when Temporal suggests it) so no run's
// history grows large. Children are abandoned on continue-as-new and report
// their end by signal to the batch's workflow ID, whichever run is current.
// batch_completed is sent once, by the run that sees the last episode end.
func Batch(ctx workflow.Context, in BatchInput) (*BatchState, error) {
	if in.BatchID == "" || in.ShowURL == "" {
		return nil, temporal.NewNonRetryableApplicationError("batch_id and show_url are required", activities.ErrTypeInvalidInput, nil)
	}
	if in.WindowSize <= 0 {
		in.WindowSize = DefaultBatchWindow
	}
	if in.PageSize <= 0 {
		in.PageSize = DefaultBatchPageSize
	}
	if in.StartedAt.IsZero() {
		in.StartedAt = workflow.Now(ctx)
	}
	b := &batch{
		in:      in,
		running: slices.Clone(in.Running),
		logger:  log.With(workflow.GetLogger(ctx), "batch_id", in.BatchID),
		doneCh:  workflow.GetSignalChannel(ctx, EpisodeDoneSignal),
		cancel:  workflow.GetSignalChannel(ctx, CancelBatchSignal),
	}
	if err := workflow.SetQueryHandler(ctx, BatchStateQuery, func() (BatchState, error) { return b.state(), nil }); err != nil {
		return nil, err
	}
	// An update handler adds no command: batches started before it replay.
	if err := workflow.SetUpdateHandler(ctx, BatchListedUpdate, func(ctx workflow.Context) (BatchState, error) {
		err := workflow.Await(ctx, func() bool { return b.in.ManifestKey != "" || b.err != "" })
		return b.state(), err
	}); err != nil {
		return nil, err
	}
	workflow.Go(ctx, b.pumpSignals)
	// Runs that started before reconciliation existed replay without it.
	if workflow.GetVersion(ctx, reconcileChange, workflow.DefaultVersion, 1) == 1 {
		if b.in.ReconcileEvery <= 0 {
			b.in.ReconcileEvery = DefaultReconcileEvery
		}
		workflow.Go(ctx, b.reconcile)
	}
	return b.run(ctx)
}

type batch struct {
	in      BatchInput
	running []string // job IDs started and not yet reported done
	pending int      // child starts not yet confirmed
	logger  log.Logger
	doneCh  workflow.ReceiveChannel
	cancel  workflow.ReceiveChannel
	err     string
	final   string
	// cancelSent is set once the running episodes were asked to stop.
	cancelSent bool
	now        time.Time
}

func (b *batch) run(ctx workflow.Context) (*BatchState, error) {
	if b.in.ManifestKey == "" {
		b.saveState(ctx)
		var res activities.ResolveBatchResult
		rctx := workflow.WithActivityOptions(ctx, onControl(ctx, resolveOptions))
		if err := workflow.ExecuteActivity(rctx, a.ResolveBatch, activities.ResolveBatchInput{
			BatchID: b.in.BatchID, ShowURL: b.in.ShowURL,
		}).Get(ctx, &res); err != nil {
			b.err = errorMessage(err)
			b.saveState(ctx)
			// The listed update answers with the error before the run ends.
			_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
			return nil, err
		}
		b.in.ManifestKey, b.in.Total = res.ManifestKey, res.Total
		b.logger.Info("Batch resolved", "episodes", res.Total, "source", res.Source)
	}
	b.saveState(ctx)

	startedThisRun := 0
	var page []activities.Episode
	for b.in.Offset < b.in.Total && !b.in.Cancelled {
		if startedThisRun >= b.in.PageSize || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return nil, b.continueAsNew(ctx)
		}
		if len(page) == 0 {
			var err error
			if page, err = b.fetch(ctx, min(episodeFetchSize, b.in.PageSize-startedThisRun)); err != nil {
				return nil, err
			}
		}
		_ = workflow.Await(ctx, func() bool { return len(b.running) < b.in.WindowSize || b.in.Cancelled })
		if b.in.Cancelled {
			break
		}
		b.startEpisode(ctx, page[0])
		page = page[1:]
		startedThisRun++
	}
	for {
		_ = workflow.Await(ctx, func() bool {
			return (len(b.running) == 0 && b.pending == 0) || (b.in.Cancelled && !b.cancelSent)
		})
		if !b.in.Cancelled || b.cancelSent {
			return b.finish(ctx)
		}
		b.cancelRemaining(ctx)
	}
}

// fetch reads the next episodes from the manifest.
func (b *batch) fetch(ctx workflow.Context, limit int) ([]activities.Episode, error) {
	var page []activities.Episode
	pctx := workflow.WithActivityOptions(ctx, onControl(ctx, pageOptions))
	err := workflow.ExecuteActivity(pctx, a.BatchEpisodes, activities.BatchEpisodesInput{
		ManifestKey: b.in.ManifestKey, Offset: b.in.Offset, Limit: limit,
	}).Get(ctx, &page)
	if err == nil && len(page) == 0 {
		// The manifest is shorter than it was when resolved: a bug or a
		// tampered object. Stop listing rather than loop.
		err = temporal.NewNonRetryableApplicationError("manifest ended early", activities.ErrTypeInvalidInput, nil)
	}
	return page, err
}

func (b *batch) startEpisode(ctx workflow.Context, ep activities.Episode) {
	jobID := EpisodeJobID(b.in.BatchID, b.in.Offset)
	b.in.Offset++
	in := JobInput{
		JobID: jobID, URL: ep.URL, WebhookURL: b.in.WebhookURL, Folder: b.in.Folder,
		EnableProgressWebhook: b.in.EnableProgressWebhook, DownloadSubtitles: b.in.DownloadSubtitles,
		Format: b.in.Format, Title: ep.Title, Description: ep.Description, ReleaseDate: ep.ReleaseDate,
		JobOptions: b.in.JobOptions,
	}
	in.Filename = EpisodeFilename(in.Filename, jobID)
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
		TypedSearchAttributes: JobSearchAttributes(b.in.Folder, b.in.BatchID),
		Memo: map[string]any{MemoKey: JobState{
			JobID: jobID, URL: ep.URL, Folder: b.in.Folder, Status: StatusPending, Step: StepQueued,
			Title: ep.Title, Description: ep.Description, ReleaseDate: ep.ReleaseDate, UpdatedAt: workflow.Now(ctx),
		}},
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
	actx := workflow.WithActivityOptions(ctx, onControl(ctx, reconcileOptions))
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
		var closed []activities.ClosedWorkflow
		if err := workflow.ExecuteActivity(actx, a.ClosedWorkflows, ids).Get(ctx, &closed); err != nil {
			b.logger.Warn("Checking running episodes failed", "error", err)
			continue
		}
		if len(closed) == 0 {
			continue
		}
		b.drainSignals()
		for _, c := range closed {
			jobID := strings.TrimPrefix(c.WorkflowID, jobWorkflowIDPrefix)
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

func (b *batch) finish(ctx workflow.Context) (*BatchState, error) {
	b.final = BatchCompleted
	if b.in.Failed > 0 {
		b.final = BatchFinished
	}
	// The batch keeps no delivery records of its own: its one event's
	// attempts are in this run's history.
	var events []WebhookEvent
	n := newNotifier(ctx, b.in.WebhookURL, b.logger, &events, func(workflow.Context) {})
	n.send(webhook.TypeBatchCompleted, "evt_batch_"+b.in.BatchID+"_"+webhook.TypeBatchCompleted, webhook.BatchCompleted{
		Type:              webhook.TypeBatchCompleted,
		BatchID:           b.in.BatchID,
		Status:            b.final,
		ShowURL:           b.in.ShowURL,
		Folder:            nullable(b.in.Folder),
		TotalEpisodes:     b.in.Total,
		CompletedEpisodes: b.in.Completed,
		FailedEpisodes:    b.in.Failed,
	})
	n.drain(ctx)
	b.saveState(ctx)
	st := b.state()
	b.logger.Info("Batch ended", "status", st.Status, "completed", st.Completed, "failed", st.Failed)
	return &st, nil
}

func (b *batch) state() BatchState {
	st := BatchState{
		BatchID: b.in.BatchID, ShowURL: b.in.ShowURL, Folder: b.in.Folder,
		Status: BatchRunning, Resolved: b.in.ManifestKey != "", Total: b.in.Total,
		Started: b.in.Offset, Completed: b.in.Completed, Failed: b.in.Failed, Running: len(b.running),
		Cancelled: b.in.Cancelled, Error: b.err, ManifestKey: b.in.ManifestKey, UpdatedAt: b.now,
	}
	switch {
	case b.final != "":
		st.Status = b.final
	case !st.Resolved:
		st.Status = BatchResolving
	}
	return st
}

func (b *batch) saveState(ctx workflow.Context) {
	b.now = workflow.Now(ctx)
	if err := workflow.UpsertMemo(ctx, map[string]any{BatchMemoKey: b.state()}); err != nil {
		b.logger.Error("Saving batch state to memo failed", "error", err)
	}
}
