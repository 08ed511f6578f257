package workflows

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// Client-side start options: how the API (or any client) starts the
// workflows, so every start of one kind has the same ID, policies, search
// attributes and initial memo.

// JobStartOptions start the Job workflow for in on taskQueue. The workflow
// ID is derived from in.JobID and duplicates are rejected, so a retried
// start never runs a job twice. The memo holds a Pending state from the
// first moment, so the job can be read before a worker has picked it up.
// now stamps that state.
func JobStartOptions(taskQueue string, in JobInput, now time.Time) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                    JobWorkflowID(in.JobID),
		TaskQueue:             taskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		// A running job with the same ID is an error too, not a handle on
		// it: the idempotency check relies on seeing every duplicate.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		// What GET /jobs filters on; the workflow keeps the status current.
		TypedSearchAttributes: jobSearchAttributes(in.Folder, "", in.Tenancy),
		Memo:                  map[string]any{MemoKey: NewJobState(in, now)},
	}
}

// BatchStartOptions start the Batch workflow. The workflow ID is derived
// from the batch ID and a closed batch's ID is never reused; a start for a
// batch that is already running joins that run, so a retried start never
// runs a batch twice.
func BatchStartOptions(taskQueue string, in BatchInput, now time.Time) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       BatchWorkflowID(in.BatchID),
		TaskQueue:                taskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    TenantSearchAttributes(in.TenantOf()),
		Memo:                     map[string]any{BatchMemoKey: NewBatchState(in, now)},
	}
}

// RedeliverStartOptions start the RedeliverWebhook workflow for one event.
// Each redelivery is a new run under the event's ID; one still running is
// an error, not its handle.
func RedeliverStartOptions(taskQueue, eventID string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                                       RedeliverWorkflowID(eventID),
		TaskQueue:                                taskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}
}

// jobSearchAttributes are the search attributes a job starts with.
func jobSearchAttributes(folder, batchID string, t Tenancy) temporal.SearchAttributes {
	updates := []temporal.SearchAttributeUpdate{StatusKey.ValueSet(StatusPending), tenantSearchAttribute(t)}
	if folder != "" {
		updates = append(updates, FolderKey.ValueSet(folder))
	}
	if batchID != "" {
		updates = append(updates, BatchIDKey.ValueSet(batchID))
	}
	return temporal.NewSearchAttributes(updates...)
}

// TenantSearchAttributes are the search attributes of a workflow of tenant
// that has no others (batches, metadata look-ups, file deletions,
// webhook redeliveries).
func TenantSearchAttributes(tenant string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(tenantSearchAttribute(Tenancy{Tenant: tenant}))
}
