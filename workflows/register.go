package workflows

import (
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Register registers every workflow on r (a worker, or a replayer) under its
// type name (names.go). The activities they call (Activities) are
// registered by the worker, from package activities.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(Job, workflow.RegisterOptions{Name: JobWorkflowType})
	r.RegisterWorkflowWithOptions(Batch, workflow.RegisterOptions{Name: BatchWorkflowType})
	r.RegisterWorkflowWithOptions(RedeliverWebhook, workflow.RegisterOptions{Name: RedeliverWorkflowType})
	r.RegisterWorkflowWithOptions(MetadataWorkflow, workflow.RegisterOptions{Name: MetadataWorkflowType})
	r.RegisterWorkflowWithOptions(DeleteJobFile, workflow.RegisterOptions{Name: DeleteFileWorkflowType})
	r.RegisterWorkflowWithOptions(Tenant, workflow.RegisterOptions{Name: TenantWorkflowType})
	r.RegisterWorkflowWithOptions(Subscription, workflow.RegisterOptions{Name: SubscriptionWorkflowType})
	r.RegisterWorkflowWithOptions(Sweep, workflow.RegisterOptions{Name: SweepWorkflowType})
}
