//go:build integration

package e2e

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// dumpStall logs what Temporal says a stalled workflow waits for: its
// pending workflow task, activities and children, and the same for every
// workflow still running, so a test that times out shows where it stopped.
func dumpStall(t *testing.T, tc client.Client, workflowID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	describe := func(id, run string) {
		desc, err := tc.DescribeWorkflow(ctx, id, run)
		if err != nil {
			t.Logf("stall: describe %s: %v", id, err)
			return
		}
		d := desc.RawResponse
		info := d.GetWorkflowExecutionInfo()
		t.Logf("stall: %s run %s status %s history %d events, children pending %d",
			id, info.GetExecution().GetRunId(), info.GetStatus(), info.GetHistoryLength(), len(d.GetPendingChildren()))
		if wt := d.GetPendingWorkflowTask(); wt != nil {
			t.Logf("stall:   workflow task %s attempt %d scheduled %v started %v",
				wt.GetState(), wt.GetAttempt(), wt.GetScheduledTime().AsTime().Format(time.RFC3339Nano), wt.GetStartedTime().AsTime().Format(time.RFC3339Nano))
		}
		for _, a := range d.GetPendingActivities() {
			t.Logf("stall:   activity %s %s attempt %d scheduled %v last started %v heartbeat %v failure %v",
				a.GetActivityType().GetName(), a.GetState(), a.GetAttempt(), a.GetScheduledTime().AsTime().Format(time.RFC3339Nano),
				a.GetLastStartedTime().AsTime().Format(time.RFC3339Nano), a.GetLastHeartbeatTime().AsTime().Format(time.RFC3339Nano), a.GetLastFailure().GetMessage())
		}
		for _, c := range d.GetPendingChildren() {
			t.Logf("stall:   child %s %s initiated %d", c.GetWorkflowId(), c.GetWorkflowTypeName(), c.GetInitiatedId())
		}
	}
	describe(workflowID, "")
	resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: `ExecutionStatus = "Running"`, PageSize: 50})
	if err != nil {
		t.Logf("stall: list running: %v", err)
		return
	}
	for _, e := range resp.GetExecutions() {
		if e.GetExecution().GetWorkflowId() != workflowID {
			describe(e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId())
		}
	}
}
