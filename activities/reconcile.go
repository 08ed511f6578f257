package activities

import (
	"context"
	"errors"

	"github.com/riptide-dev/riptide/workflows"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
)

// WorkflowDescriber is the slice of the Temporal client that
// ClosedWorkflows needs; client.Client satisfies it.
type WorkflowDescriber interface {
	DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error)
}

// ClosedWorkflows returns those of the given workflows (their latest runs)
// that have closed. A batch uses it to find episodes that ended without
// reporting, such as one terminated by hand. Workflows not found yet (a
// start not yet recorded) count as open.
func (a *Activities) ClosedWorkflows(ctx context.Context, workflowIDs []string) ([]workflows.ClosedWorkflow, error) {
	if a.Workflows == nil {
		return nil, permanent(workflows.ErrTypeInvalidInput, "this worker has no Temporal client for describing workflows")
	}
	var out []workflows.ClosedWorkflow
	for _, id := range workflowIDs {
		resp, err := a.Workflows.DescribeWorkflowExecution(ctx, id, "")
		if _, ok := errors.AsType[*serviceerror.NotFound](err); ok {
			continue
		}
		if err != nil {
			return nil, technical(err, "describing %s: %v", id, err)
		}
		st := resp.GetWorkflowExecutionInfo().GetStatus()
		if st == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING || st == enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {
			continue
		}
		out = append(out, workflows.ClosedWorkflow{WorkflowID: id, Status: st.String()})
	}
	return out, nil
}
