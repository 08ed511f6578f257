package workflows

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// DELETE /jobs/{id}/file runs as a DeleteJobFile workflow under an ID
// derived from the job's (FileDeletedWorkflowID): the job's own workflow
// has closed, and Temporal stays the only record. That workflow's existence
// is what the job's view reads: once it has completed, the job's file is
// gone. Its ID is never reused after it completed, so the objects are
// deleted once however many DELETEs arrive at once; a failed deletion may
// be asked for again.

// DeleteFileInput is the input of the DeleteJobFile workflow: the objects
// of one completed job, media first.
type DeleteFileInput struct {
	JobID string
	Keys  []string
	// Storage is the job's target; nil: the deployment's bucket.
	Storage *StorageTarget `json:",omitempty"`
}

// DeleteObjectsInput is the input of DeleteObjects.
type DeleteObjectsInput struct {
	Keys    []string
	Storage *StorageTarget `json:",omitempty"`
}

// DeleteFileResult is the DeleteJobFile workflow's result.
type DeleteFileResult struct {
	JobID string `json:"job_id"`
	// Keys are the deleted objects' keys, media first.
	Keys      []string  `json:"keys"`
	DeletedAt time.Time `json:"deleted_at"`
}

// FileDeleteWait is how long the API waits for a deletion to end.
const FileDeleteWait = 30 * time.Second

var deleteObjectsOptions = workflow.ActivityOptions{
	StartToCloseTimeout: time.Minute,
	// S3 outages end; a deletion that still fails after these ends Failed
	// and may be asked for again.
	RetryPolicy: backoff(time.Second, time.Minute, 10),
}

// DeleteJobFile deletes a completed job's objects (media, subtitles,
// thumbnail) with one DeleteObjects activity on the control queue.
func DeleteJobFile(ctx workflow.Context, in DeleteFileInput) (*DeleteFileResult, error) {
	if in.JobID == "" || len(in.Keys) == 0 {
		return nil, temporal.NewNonRetryableApplicationError("job id and keys are required", ErrTypeInvalidInput, nil)
	}
	if _, err := DeleteObjects.Execute(onControl(ctx, deleteObjectsOptions), DeleteObjectsInput{Keys: in.Keys, Storage: in.Storage}); err != nil {
		return nil, err
	}
	return &DeleteFileResult{JobID: in.JobID, Keys: in.Keys, DeletedAt: workflow.Now(ctx).UTC()}, nil
}

// DeleteFileStartOptions start the deletion of jobID's file. A deletion
// running or completed under the same ID is an error (the file is already
// being deleted, or gone), not its handle; a failed one may run again.
func DeleteFileStartOptions(taskQueue, jobID string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                                       FileDeletedWorkflowID(jobID),
		TaskQueue:                                taskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}
}
