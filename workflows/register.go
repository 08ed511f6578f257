package workflows

import (
	"go.temporal.io/sdk/worker"

	"github.com/riptide-dev/riptide/activities"
)

// Register registers every workflow and activity on w. Names are the Go
// function and method names: renaming one breaks running jobs.
func Register(w worker.Registry, acts *activities.Activities) {
	w.RegisterWorkflow(Job)
	w.RegisterWorkflow(RedeliverWebhook)
	w.RegisterWorkflow(Batch)
	w.RegisterActivity(acts)
}
