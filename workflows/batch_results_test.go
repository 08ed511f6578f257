package workflows

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"
)

// TestEpisodeReportsByResultUnlessMoved: an episode whose batch reads its
// result sends no signal; told that its batch run moved on, it signals.
func TestEpisodeReportsByResultUnlessMoved(t *testing.T) {
	for _, tellMoved := range []bool{false, true} {
		t.Run(fmt.Sprintf("moved=%v", tellMoved), func(t *testing.T) {
			env, _ := newEnv(t)
			mockPipeline(env)
			parent := func(ctx workflow.Context) (int, error) {
				in := testInput()
				in.ReportByResult = true
				cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: JobWorkflowID(in.JobID)})
				fut := workflow.ExecuteChildWorkflow(cctx, Job, in)
				if err := fut.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
					return 0, err
				}
				if tellMoved {
					if err := workflow.SignalExternalWorkflow(ctx, JobWorkflowID(in.JobID), "", BatchMovedSignal, nil).Get(ctx, nil); err != nil {
						return 0, err
					}
				}
				var st JobState
				if err := fut.Get(ctx, &st); err != nil {
					return 0, err
				}
				if st.Status != StatusCompleted {
					return 0, fmt.Errorf("status %s", st.Status)
				}
				signals := 0
				var d EpisodeDone
				for workflow.GetSignalChannel(ctx, EpisodeDoneSignal).ReceiveAsync(&d) {
					signals++
				}
				return signals, nil
			}
			env.RegisterWorkflowWithOptions(parent, workflow.RegisterOptions{Name: "TestParent"})
			env.ExecuteWorkflow("TestParent")
			require.NoError(t, env.GetWorkflowError())
			var signals int
			require.NoError(t, env.GetWorkflowResult(&signals))
			want := 0
			if tellMoved {
				want = 1
			}
			require.Equal(t, want, signals)
		})
	}
}
