package jobs

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/riptide-dev/riptide/internal/codec"
	"github.com/riptide-dev/riptide/workflows"
)

// Start starts the Job workflow for in on taskQueue. The workflow ID is
// derived from in.JobID and duplicates are rejected, so a retried start never
// runs a job twice. The memo holds a Pending state from the first moment, so
// Get reports the job before a worker has picked it up.
func Start(ctx context.Context, c client.Client, taskQueue string, in workflows.JobInput) (client.WorkflowRun, error) {
	return c.ExecuteWorkflow(ctx, workflows.JobStartOptions(taskQueue, in, time.Now()), workflows.Job, in)
}

// StartIdempotent starts the job like Start and records requestDigest in
// the memo, so a later request with the same idempotency key (hence the
// same job ID) can tell a repeat from a different request.
func StartIdempotent(ctx context.Context, c client.Client, taskQueue string, in workflows.JobInput, requestDigest string) (client.WorkflowRun, error) {
	opts := workflows.JobStartOptions(taskQueue, in, time.Now())
	opts.Memo[workflows.RequestMemoKey] = requestDigest
	return c.ExecuteWorkflow(ctx, opts, workflows.Job, in)
}

// RequestDigest returns the digest StartIdempotent recorded for the job,
// "" when it was started without one.
func RequestDigest(ctx context.Context, c client.Client, jobID string) (string, error) {
	//lint:ignore SA1019 see Get.
	resp, err := c.DescribeWorkflowExecution(ctx, workflows.JobWorkflowID(jobID), "")
	if err != nil {
		return "", fmt.Errorf("describe job %s: %w", jobID, err)
	}
	p, ok := resp.GetWorkflowExecutionInfo().GetMemo().GetFields()[workflows.RequestMemoKey]
	if !ok {
		return "", nil
	}
	var d string
	if err := codec.Of(c).FromPayload(p, &d); err != nil {
		return "", fmt.Errorf("decode request digest of job %s: %w", jobID, err)
	}
	return d, nil
}

// StartInGroup starts the job like Start, recorded as one of group (the
// batch_id of a bulk create): its RiptideBatchID search attribute, so GET
// /jobs?batch_id= lists the group and the job's view names it.
func StartInGroup(ctx context.Context, c client.Client, taskQueue string, in workflows.JobInput, group string) (client.WorkflowRun, error) {
	opts := workflows.JobStartOptions(taskQueue, in, time.Now())
	updates := []temporal.SearchAttributeUpdate{workflows.StatusKey.ValueSet(workflows.StatusPending), workflows.BatchIDKey.ValueSet(group),
		workflows.TenantKey.ValueSet(in.TenantOf())}
	if in.Folder != "" {
		updates = append(updates, workflows.FolderKey.ValueSet(in.Folder))
	}
	opts.TypedSearchAttributes = temporal.NewSearchAttributes(updates...)
	return c.ExecuteWorkflow(ctx, opts, workflows.Job, in)
}
