package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/riptide-dev/riptide/workflows"
)

// ErrMetadataTimeout: the lookup did not answer within its wait. It goes on
// (and ends by its own timeouts); nothing waits for it.
var ErrMetadataTimeout = errors.New("the metadata lookup did not finish in time")

// SourceError is a lookup the source made fail: Type is the activity's
// error type (workflows.ErrType*), Message says why in words.
type SourceError struct {
	Type, Message string
}

func (e *SourceError) Error() string { return e.Message }

// Metadata looks up url's metadata without downloading it: a Metadata
// workflow (ID metadata-<uuid>) whose one activity runs yt-dlp or ffprobe
// on a worker, waited for at most wait. A failure of the source is a
// *SourceError; a lookup past wait, ErrMetadataTimeout. workflowID names
// the lookup's workflow whatever the outcome, once it was started.
// tenant is the caller's, recorded on the workflow.
func Metadata(ctx context.Context, c client.Client, taskQueue, tenant, url string, wait time.Duration) (md *workflows.Metadata, workflowID string, err error) {
	id, err := uuid.NewRandom()
	if err != nil {
		return nil, "", err
	}
	opts := workflows.MetadataStartOptions(taskQueue, id.String())
	opts.TypedSearchAttributes = workflows.TenantSearchAttributes(tenant)
	run, err := c.ExecuteWorkflow(ctx, opts, workflows.MetadataWorkflowType, workflows.MetadataInput{URL: url})
	if err != nil {
		return nil, "", fmt.Errorf("start metadata lookup: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var res workflows.Metadata
	err = run.Get(wctx, &res)
	var appErr *temporal.ApplicationError
	var timeoutErr *temporal.TimeoutError
	switch {
	case err == nil:
		return &res, opts.ID, nil
	case errors.As(err, &appErr):
		return nil, opts.ID, &SourceError{Type: appErr.Type(), Message: appErr.Message()}
	case errors.As(err, &timeoutErr), wctx.Err() != nil && ctx.Err() == nil:
		return nil, opts.ID, ErrMetadataTimeout
	default:
		return nil, opts.ID, fmt.Errorf("metadata lookup %s: %w", opts.ID, err)
	}
}
