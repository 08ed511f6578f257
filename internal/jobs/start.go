package jobs

import (
	"context"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/riptide-dev/riptide/workflows"
)

// Start starts the Job workflow for in on taskQueue. The workflow ID is
// derived from in.JobID and duplicates are rejected, so a retried start never
// runs a job twice. The memo holds a Pending state from the first moment, so
// Get reports the job before a worker has picked it up.
func Start(ctx context.Context, c client.Client, taskQueue string, in workflows.JobInput) (client.WorkflowRun, error) {
	return c.ExecuteWorkflow(ctx, StartOptions(taskQueue, in, time.Now()), workflows.Job, in)
}

// StartOptions are the options Start uses; now stamps the initial state.
func StartOptions(taskQueue string, in workflows.JobInput, now time.Time) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                    workflows.JobWorkflowID(in.JobID),
		TaskQueue:             taskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		Memo: map[string]any{
			workflows.MemoKey: workflows.JobState{
				JobID:     in.JobID,
				URL:       in.URL,
				Folder:    in.Folder,
				Status:    workflows.StatusPending,
				Step:      workflows.StepQueued,
				UpdatedAt: now.UTC(),
			},
		},
	}
}
