package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/riptide-dev/riptide/internal/codec"
	"github.com/riptide-dev/riptide/workflows"
)

// Errors of DeleteFile.
var (
	ErrNotCompleted = errors.New("only a Completed job has a file to delete")
	// ErrFileDeleted: the job's file is deleted, or being deleted.
	ErrFileDeleted = errors.New("the job's file has already been deleted")
	// ErrDeleteFailed: the deletion ran and failed (S3 kept refusing);
	// it may be asked for again.
	ErrDeleteFailed = errors.New("deleting the job's file failed")
	// ErrDeleteRunning: the deletion did not end within the wait; it goes
	// on, and the job's view already says deleted.
	ErrDeleteRunning = errors.New("the deletion of the job's file is still running")
)

// DeleteFile deletes a Completed job's objects (media, subtitles,
// thumbnail) by running a DeleteJobFile workflow under an ID derived from
// the job's, and waits up to wait for it. The keys come from the job's own
// history (its Upload result lists every subtitle, the memo only the
// first). Two calls at once start one deletion: the other gets
// ErrFileDeleted. Past wait, ErrDeleteRunning: the deletion goes on.
// tenant owns the job; the deletion is recorded as its.
func DeleteFile(ctx context.Context, c client.Client, taskQueue, tenant, jobID string, wait time.Duration) (*workflows.DeleteFileResult, error) {
	v, err := Get(ctx, c, jobID)
	if err != nil {
		return nil, err
	}
	// Completed is recorded once the upload has ended; the workflow may
	// still be delivering its last webhook, which the deletion does not
	// wait for.
	if v.Status != workflows.StatusCompleted || v.Key == nil {
		return nil, ErrNotCompleted
	}
	if err := AddFileDeletion(ctx, c, v); err != nil {
		return nil, err
	}
	if v.FileDeleted {
		return nil, ErrFileDeleted
	}
	keys, err := uploadedKeys(ctx, c, v)
	if err != nil {
		return nil, err
	}
	target, err := StorageTarget(ctx, c, v)
	if err != nil {
		return nil, err
	}
	opts := workflows.DeleteFileStartOptions(taskQueue, jobID)
	opts.TypedSearchAttributes = workflows.TenantSearchAttributes(tenant)
	run, err := c.ExecuteWorkflow(ctx, opts, workflows.DeleteFileWorkflowType,
		workflows.DeleteFileInput{JobID: jobID, Keys: keys, Storage: target})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil, ErrFileDeleted
	}
	if err != nil {
		return nil, fmt.Errorf("start deletion of job %s's file: %w", jobID, err)
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var res workflows.DeleteFileResult
	if err := run.Get(wctx, &res); err != nil {
		if wctx.Err() != nil {
			return nil, ErrDeleteRunning
		}
		return nil, fmt.Errorf("%w: %v", ErrDeleteFailed, err)
	}
	return &res, nil
}

// uploadedKeys are the objects the job's last completed Upload wrote,
// media first; the view's keys when the history does not say.
func uploadedKeys(ctx context.Context, c client.Client, v *View) ([]string, error) {
	it := c.GetWorkflowHistory(ctx, v.WorkflowID, v.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	uploads := map[int64]bool{}
	var last *workflows.UploadResult
	dc := codec.Of(c)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("read history of %s: %w", v.WorkflowID, err)
		}
		if a := e.GetActivityTaskScheduledEventAttributes(); a.GetActivityType().GetName() == workflows.Upload.Name() {
			uploads[e.GetEventId()] = true
		}
		if a := e.GetActivityTaskCompletedEventAttributes(); a != nil && uploads[a.GetScheduledEventId()] {
			if p := a.GetResult().GetPayloads(); len(p) == 1 {
				var res workflows.UploadResult
				if dc.FromPayload(p[0], &res) == nil && res.Key != "" {
					last = &res
				}
			}
		}
	}
	var keys []string
	add := func(k string) {
		if k != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	if last != nil {
		add(last.Key)
		for _, k := range last.SubtitleKeys {
			add(k)
		}
		add(last.ThumbnailKey)
	}
	for _, k := range []*string{v.Key, v.SubtitleKey, v.ThumbnailKey} {
		if k != nil {
			add(*k)
		}
	}
	return keys, nil
}

// AddFileDeletion sets v.FileDeleted and v.FileDeletedAtMS from the
// deletion workflow of v's job, if there is one: a running deletion counts
// as deleted (the objects may be gone already), a failed one does not.
func AddFileDeletion(ctx context.Context, c client.Client, v *View) error {
	//lint:ignore SA1019 see Get.
	resp, err := c.DescribeWorkflowExecution(ctx, workflows.FileDeletedWorkflowID(v.ID), "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("describe deletion of job %s's file: %w", v.ID, err)
	}
	v.setFileDeletion(resp.GetWorkflowExecutionInfo())
	return nil
}

// AddFileDeletions is AddFileDeletion for a page of views, in one
// visibility query. Visibility may lag a deletion by a moment; GET
// /jobs/{id} (AddFileDeletion) never does.
func AddFileDeletions(ctx context.Context, c client.Client, views []*View) error {
	byWorkflow := map[string]*View{}
	var ids []string
	for _, v := range views {
		if v.Status != workflows.StatusCompleted || v.Key == nil {
			continue
		}
		id := workflows.FileDeletedWorkflowID(v.ID)
		byWorkflow[id] = v
		ids = append(ids, quote(id))
	}
	if len(ids) == 0 {
		return nil
	}
	q := "WorkflowType = " + quote(workflows.DeleteFileWorkflowType) + " AND WorkflowId IN (" + strings.Join(ids, ", ") + ")"
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			PageSize: int32(len(ids)), NextPageToken: token, Query: q,
		})
		if err != nil {
			return fmt.Errorf("list file deletions: %w", err)
		}
		for _, info := range resp.GetExecutions() {
			// The latest run first: one deletion that failed and was
			// asked for again has two runs.
			if v := byWorkflow[info.GetExecution().GetWorkflowId()]; v != nil && !v.FileDeleted {
				v.setFileDeletion(info)
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return nil
		}
	}
}

func (v *View) setFileDeletion(info *workflowpb.WorkflowExecutionInfo) {
	switch info.GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		v.FileDeleted = true
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		v.FileDeleted = true
		if t := timeOf(info.GetCloseTime()); !t.IsZero() {
			ms := t.UnixMilli()
			v.FileDeletedAtMS = &ms
		}
	}
}

// StorageTarget is the target (with its credentials) v's objects went to,
// from the job's input: nil for the deployment's bucket.
func StorageTarget(ctx context.Context, c client.Client, v *View) (*workflows.StorageTarget, error) {
	if v.Storage == nil {
		return nil, nil
	}
	in, err := startInput(ctx, c, v.WorkflowID, v.RunID)
	if err != nil {
		return nil, err
	}
	return in.Storage, nil
}
