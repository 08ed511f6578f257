package batches

import (
	"context"
	"errors"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/riptide-dev/riptide/workflows"
)

// StateError is a start or rename the batch refused because of its state
// (not paused, cancelled, ended); Message says why, for the client.
type StateError struct{ Message string }

func (e *StateError) Error() string { return e.Message }

// StartPaused starts the episodes of a paused batch (the workflow's start
// update) and returns how many episode jobs it now runs.
func StartPaused(ctx context.Context, c client.Client, batchID string) (int, error) {
	var res workflows.StartBatchResult
	err := update(ctx, c, batchID, workflows.StartBatchUpdate, &res)
	return res.StartedJobs, err
}

// Pause pauses a running batch (the workflow's pause update): it starts
// no new episode until StartPaused; it answers the episodes still running.
func Pause(ctx context.Context, c client.Client, batchID string) (int, error) {
	var res workflows.PauseBatchResult
	err := update(ctx, c, batchID, workflows.PauseBatchUpdate, &res)
	return res.RunningJobs, err
}

// Rename renames episodes of a paused batch (the workflow's rename
// update). Every job ID must be one of the batch's episodes.
func Rename(ctx context.Context, c client.Client, batchID string, renames []workflows.EpisodeRename) (*workflows.RenameEpisodesResult, error) {
	var res workflows.RenameEpisodesResult
	if err := update(ctx, c, batchID, workflows.RenameEpisodesUpdate, &res, renames); err != nil {
		return nil, err
	}
	return &res, nil
}

func update(ctx context.Context, c client.Client, batchID, name string, out any, args ...any) error {
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.BatchWorkflowID(batchID), UpdateName: name, Args: args,
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, out)
	}
	if app, ok := errors.AsType[*temporal.ApplicationError](err); ok && app.Type() == workflows.ErrTypeBatchState {
		return &StateError{Message: app.Message()}
	}
	if _, ok := errors.AsType[*serviceerror.NotFound](err); ok {
		// Ended between the read and the update.
		return &StateError{Message: "batch is not paused: it has ended"}
	}
	return err
}
