package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riptide-dev/riptide/internal/webhook"
)

// episodeFetchSize is how many episodes one BatchEpisodes call returns:
// small enough that a page is a few tens of KiB of history.
const episodeFetchSize = 100

// Batch lists the episodes of a show, playlist or feed and runs one Job
// child per episode through a sliding window, continuing as new every
// PageSize episodes (or sooner when Temporal suggests it) so no run's
// history grows large. Children are abandoned on continue-as-new and report
// their end by signal to the batch's workflow ID, whichever run is current.
// batch_completed is sent once, by the run that sees the last episode end.
//
// Reading order: setup and the listing (here), then the episodes' window,
// reports and cancellation (batch_episodes.go).
func Batch(ctx workflow.Context, in BatchInput) (*BatchState, error) {
	b, err := newBatch(ctx, in)
	if err != nil {
		return nil, err
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
	// renaming is set while a rename rewrites the manifest; index maps
	// episode job IDs to manifest indexes (batch_paused.go).
	renaming bool
	index    map[string]int
}

func newBatch(ctx workflow.Context, in BatchInput) (*batch, error) {
	if in.BatchID == "" || in.ShowURL == "" {
		return nil, temporal.NewNonRetryableApplicationError("batch_id and show_url are required", ErrTypeInvalidInput, nil)
	}
	if in.WindowSize <= 0 {
		in.WindowSize = DefaultBatchWindow
	}
	if in.PageSize <= 0 {
		in.PageSize = DefaultBatchPageSize
	}
	if in.ReconcileEvery <= 0 {
		in.ReconcileEvery = DefaultReconcileEvery
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
	if err := workflow.SetUpdateHandler(ctx, BatchListedUpdate, func(ctx workflow.Context) (BatchState, error) {
		err := workflow.Await(ctx, func() bool { return b.in.ManifestKey != "" || b.err != "" })
		return b.state(), err
	}); err != nil {
		return nil, err
	}
	if err := b.registerPauseHandlers(ctx); err != nil {
		return nil, err
	}
	if err := b.registerPauseRunning(ctx); err != nil {
		return nil, err
	}
	workflow.Go(ctx, b.pumpSignals)
	workflow.Go(ctx, b.reconcile)
	return b, nil
}

func (b *batch) run(ctx workflow.Context) (*BatchState, error) {
	b.pausedVersion(ctx)
	b.suspendedVersion(ctx)
	if b.in.ManifestKey == "" {
		if err := b.resolve(ctx); err != nil {
			return nil, err
		}
	}
	b.saveState(ctx)
	if b.in.Paused {
		if err := b.waitStarted(ctx); err != nil {
			return nil, err
		}
	}

	startedThisRun := 0
	var page []Episode
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
		_ = workflow.Await(ctx, func() bool {
			return b.mayStart() || b.in.Cancelled || (b.in.Suspended && workflow.GetInfo(ctx).GetContinueAsNewSuggested())
		})
		if b.in.Cancelled {
			break
		}
		if !b.mayStart() {
			// Paused (batch_pause.go) and the history is long: the next
			// run waits on, still paused, once no update is in flight.
			_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
			if b.in.Suspended && !b.in.Cancelled {
				return nil, b.continueAsNew(ctx)
			}
			continue
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

// resolve lists the source into a manifest in the bucket; the history
// keeps only its key and size.
func (b *batch) resolve(ctx workflow.Context) error {
	b.saveState(ctx)
	res, err := ResolveBatch.Execute(onControl(ctx, resolveOptions), ResolveBatchInput{
		BatchID: b.in.BatchID, ShowURL: b.in.ShowURL,
	})
	if err != nil {
		b.err = errorMessage(err)
		b.saveState(ctx)
		// The listed update answers with the error before the run ends.
		_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
		return err
	}
	b.in.ManifestKey, b.in.Total = res.ManifestKey, res.Total
	b.logger.Info("Batch resolved", "episodes", res.Total, "source", res.Source)
	return nil
}

// fetch reads the next episodes from the manifest.
func (b *batch) fetch(ctx workflow.Context, limit int) ([]Episode, error) {
	page, err := BatchEpisodes.Execute(onControl(ctx, pageOptions), BatchEpisodesInput{
		ManifestKey: b.in.ManifestKey, Offset: b.in.Offset, Limit: limit,
	})
	if err == nil && len(page) == 0 {
		// The manifest is shorter than it was when resolved: a bug or a
		// tampered object. Stop listing rather than loop.
		err = temporal.NewNonRetryableApplicationError("manifest ended early", ErrTypeInvalidInput, nil)
	}
	return page, err
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
	n.send(TypeBatchCompleted, BatchEventID(b.in.BatchID), webhook.BatchCompleted{
		Type:              TypeBatchCompleted,
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
		Status: BatchRunning, Resolved: b.in.ManifestKey != "", Total: b.in.Total, Format: b.in.Format,
		Paused:  (b.in.Paused || b.in.Suspended) && !b.in.Cancelled && b.final == "",
		Started: b.in.Offset, Completed: b.in.Completed, Failed: b.in.Failed, Running: len(b.running),
		Cancelled: b.in.Cancelled, Error: b.err, ManifestKey: b.in.ManifestKey, UpdatedAt: b.now,
	}
	switch {
	case b.final != "":
		st.Status = b.final
	case !st.Resolved:
		st.Status = BatchResolving
	case st.Paused:
		st.Status = BatchPaused
	}
	return st
}

func (b *batch) saveState(ctx workflow.Context) {
	b.now = workflow.Now(ctx)
	if err := workflow.UpsertMemo(ctx, map[string]any{BatchMemoKey: b.state()}); err != nil {
		b.logger.Error("Saving batch state to memo failed", "error", err)
	}
}
