package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// ChangePausedBatch versions paused batches: a batch whose input says
// Paused waits for StartBatchUpdate once its episodes are listed. The
// version is asked for only when the input says Paused, so batches that
// are not paused record no marker and run the commands they always did; a
// paused batch that a worker from before this change already ran unpaused
// (a rolling upgrade) replays as it ran.
const ChangePausedBatch = "paused-batch"

// MaxRenamesPerUpdate bounds one RenameEpisodesUpdate, so one update's
// payload stays far below Temporal's payload limit (each filename is at
// most 1,020 bytes in UTF-8).
const MaxRenamesPerUpdate = 1000

// RenameEpisodes is written into the manifest, not kept in the workflow:
// the handle is declared here with the paused batch's other names.
const RenameEpisodes Activity[RenameEpisodesInput, *RenameEpisodesResult] = "RenameEpisodes"

// renameOptions: rewriting a manifest is one read and one write of an
// object. A client waits on the update, so the retries are bounded: a
// store that stays down fails the rename instead of hanging it.
var renameOptions = workflow.ActivityOptions{
	StartToCloseTimeout: time.Minute,
	RetryPolicy:         backoff(time.Second, 10*time.Second, 4),
}

// registerPauseHandlers registers the start and rename updates. Without a
// paused input their validators refuse every call, so they add nothing to
// a batch that is not paused.
func (b *batch) registerPauseHandlers(ctx workflow.Context) error {
	if err := workflow.SetUpdateHandlerWithOptions(ctx, StartBatchUpdate, b.start,
		workflow.UpdateHandlerOptions{Validator: func() error { return b.checkPaused("started") }}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, RenameEpisodesUpdate, b.rename,
		workflow.UpdateHandlerOptions{Validator: b.validateRenames})
}

// pausedVersion settles whether this run honours BatchInput.Paused.
func (b *batch) pausedVersion(ctx workflow.Context) {
	if b.in.Paused && workflow.GetVersion(ctx, ChangePausedBatch, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		b.in.Paused = false
	}
}

// waitStarted blocks a paused batch until it is started or cancelled:
// workflow.Await on state the updates and the cancel signal set, so no
// timer and no polling add to the history however long it waits. Renames
// do add events; when Temporal suggests it, the batch continues as new,
// still paused.
func (b *batch) waitStarted(ctx workflow.Context) error {
	for b.in.Paused && !b.in.Cancelled {
		_ = workflow.Await(ctx, func() bool {
			return !b.in.Paused || b.in.Cancelled || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
		})
		if b.in.Paused && !b.in.Cancelled {
			// An update still running would be lost with the run.
			_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
			if b.in.Paused && !b.in.Cancelled {
				return b.continueAsNew(ctx)
			}
		}
	}
	// A rename in flight when the batch was cancelled finishes first.
	_ = workflow.Await(ctx, func() bool { return !b.renaming })
	return nil
}

// checkPaused refuses a start or rename of a batch that is not paused; a
// batch paused while running (batch_pause.go) can be started, not renamed.
func (b *batch) checkPaused(what string) error {
	switch {
	case b.in.Cancelled || b.final != "":
		return batchStateError("batch is not paused (current status: %s): it was cancelled or has ended", b.state().Status)
	case b.in.Suspended && what == "started":
		return nil
	case b.in.Suspended:
		return batchStateError("batch was paused while running: only a batch created paused can be %s", what)
	case !b.in.Paused:
		return batchStateError("batch is not paused (current status: %s): only a paused batch can be %s, once", b.state().Status, what)
	}
	return nil
}

func batchStateError(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), ErrTypeBatchState, nil)
}

// start handles StartBatchUpdate: once the episodes are listed and no
// rename is being written, the batch is no longer paused and its loop
// starts the episodes.
func (b *batch) start(ctx workflow.Context) (StartBatchResult, error) {
	// Started while still listing: answer with the episode count.
	_ = workflow.Await(ctx, func() bool { return (b.in.ManifestKey != "" || b.err != "") && !b.renaming })
	if b.err != "" {
		return StartBatchResult{}, batchStateError("the batch's episode list could not be read: %s", b.err)
	}
	if err := b.checkPaused("started"); err != nil {
		return StartBatchResult{}, err
	}
	b.in.Paused, b.in.Suspended = false, false
	b.logger.Info("Paused batch started", "episodes", b.in.Total-b.in.Offset)
	b.saveState(ctx)
	return StartBatchResult{StartedJobs: b.in.Total - b.in.Offset}, nil
}

// validateRenames admits a rename of a paused, listed batch whose every
// job ID is one of its episodes. The filenames' shape is the API's to
// check (as for POST /jobs), and the episodes' own list is the manifest's.
func (b *batch) validateRenames(renames []EpisodeRename) error {
	if err := b.checkPaused("renamed"); err != nil {
		return err
	}
	if b.in.ManifestKey == "" {
		return batchStateError("the batch's episode list is not known yet")
	}
	if len(renames) == 0 || len(renames) > MaxRenamesPerUpdate {
		return batchStateError("a rename names 1 to %d episodes, not %d", MaxRenamesPerUpdate, len(renames))
	}
	for _, r := range renames {
		if _, ok := b.episodeIndex(r.JobID); !ok {
			return batchStateError("job %q is not an episode of this batch", r.JobID)
		}
		if r.Filename == "" {
			return batchStateError("job %q: filename is empty", r.JobID)
		}
	}
	return nil
}

// episodeIndex is the manifest index of the episode whose job ID is jobID.
// The IDs are derived (EpisodeJobID), so the map is built from the count
// alone, once per run, and never stored.
func (b *batch) episodeIndex(jobID string) (int, bool) {
	if b.index == nil {
		b.index = make(map[string]int, b.in.Total)
		for i := range b.in.Total {
			b.index[EpisodeJobID(b.in.BatchID, i)] = i
		}
	}
	i, ok := b.index[jobID]
	return i, ok
}

// rename handles RenameEpisodesUpdate: the manifest is rewritten under a
// new key with the episodes' filenames, one rename at a time. The history
// keeps the update's payload and the activity's small answer, never the
// list of names, so a 5,000-episode batch renamed whole stays small.
func (b *batch) rename(ctx workflow.Context, renames []EpisodeRename) (RenameEpisodesResult, error) {
	_ = workflow.Await(ctx, func() bool { return !b.renaming })
	if err := b.checkPaused("renamed"); err != nil {
		return RenameEpisodesResult{}, err
	}
	b.renaming = true
	defer func() { b.renaming = false }()
	in := RenameEpisodesInput{ManifestKey: b.in.ManifestKey, NewKey: ManifestRevisionKey(b.in.BatchID, b.in.Renames+1)}
	for _, r := range renames {
		i, _ := b.episodeIndex(r.JobID)
		in.Renames = append(in.Renames, IndexedRename{Index: i, EpisodeRename: r})
	}
	res, err := RenameEpisodes.Execute(onControl(ctx, renameOptions), in)
	if err != nil {
		return RenameEpisodesResult{}, err
	}
	b.in.ManifestKey = res.ManifestKey
	b.in.Renames++
	b.logger.Info("Episodes renamed", "updated", res.Updated, "refused", len(res.Errors))
	if res.Errors == nil {
		res.Errors = []RenameError{}
	}
	return *res, nil
}
