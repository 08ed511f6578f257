package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/riptide-dev/riptide/internal/codec"
	"github.com/riptide-dev/riptide/workflows"
)

// Errors of Cancel and Retry: the job is not in a state that allows it.
var (
	ErrFinished     = errors.New("the job has already finished")
	ErrNotRetryable = errors.New("only a Failed, Cancelled or Skipped job can be retried")
)

// retryable are the statuses Retry accepts.
var retryable = []string{workflows.StatusFailed, StatusCancelled, workflows.StatusSkipped}

// Cancel cancels a pending or running job and returns its view as of right
// after the request. The workflow stops its transfer, cleans up and ends as
// Cancelled on its own; ErrFinished when it had already ended.
func Cancel(ctx context.Context, c client.Client, jobID string) (*View, error) {
	v, err := Get(ctx, c, jobID)
	if err != nil {
		return nil, err
	}
	// A job delivering its last webhook has its outcome already.
	if v.Done() || (v.Status != workflows.StatusPending && v.Status != workflows.StatusProcessing) {
		return v, ErrFinished
	}
	if err := c.CancelWorkflow(ctx, v.WorkflowID, v.RunID); err != nil {
		var notFound *serviceerror.NotFound
		if errors.As(err, &notFound) {
			// It ended between the read and the request.
			return v, ErrFinished
		}
		return nil, fmt.Errorf("cancel job %s: %w", jobID, err)
	}
	return Get(ctx, c, jobID)
}

// Retry starts a new job with the options of a Failed, Cancelled or Skipped
// one and returns its ID; started is false when an earlier retry of the
// same job already started it. The options come from the original
// workflow's start event, so they need no store of their own; the new
// job carries tenancy (its tenant's limits as of now).
func Retry(ctx context.Context, c client.Client, taskQueue, jobID string, tenancy workflows.Tenancy) (newID string, started bool, err error) {
	v, err := Get(ctx, c, jobID)
	if err != nil {
		return "", false, err
	}
	if !v.Done() || !slices.Contains(retryable, v.Status) {
		return "", false, ErrNotRetryable
	}
	in, err := startInput(ctx, c, v.WorkflowID, v.RunID)
	if err != nil {
		return "", false, err
	}
	in.JobID, in.RetryOf, in.Tenancy = workflows.RetryJobID(jobID), jobID, tenancy
	_, err = c.ExecuteWorkflow(ctx, workflows.JobStartOptions(taskQueue, *in, time.Now()), workflows.Job, *in)
	var dup *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &dup) {
		return in.JobID, false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("start retry of job %s: %w", jobID, err)
	}
	return in.JobID, true, nil
}

// startInput reads the JobInput a workflow run was started with from the
// first event of its history.
func startInput(ctx context.Context, c client.Client, workflowID, runID string) (*workflows.JobInput, error) {
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return nil, fmt.Errorf("history of %s is empty", workflowID)
	}
	e, err := it.Next()
	if err != nil {
		return nil, fmt.Errorf("read history of %s: %w", workflowID, err)
	}
	payloads := e.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()
	if len(payloads) != 1 {
		return nil, fmt.Errorf("start event of %s has %d inputs, want 1", workflowID, len(payloads))
	}
	var in workflows.JobInput
	if err := codec.Of(c).FromPayload(payloads[0], &in); err != nil {
		return nil, fmt.Errorf("decode input of %s: %w", workflowID, err)
	}
	return &in, nil
}
