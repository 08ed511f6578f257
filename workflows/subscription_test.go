package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

const testSubID = "0b7f6a4e-2a5c-4c59-9d59-0d3d8c8f1a11"

func newSweepEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	registerActivityStubs(env)
	env.RegisterWorkflowWithOptions(Batch, workflow.RegisterOptions{Name: BatchWorkflowType})
	return env
}

// TestSweepRecordsItsPlanBeforeItsBatch: the sweep asks the subscription,
// plans, records the plan (the new seen set) and only then starts the new
// episodes as one batch child under its derived batch ID, and reports the
// batch's counts at the end.
func TestSweepRecordsItsPlanBeforeItsBatch(t *testing.T) {
	env := newSweepEnv(t)
	state := SubscriptionWorkflowID(testSubID)
	var order []string
	var planned SweepPlanned
	var done SweepDone
	env.OnSignalExternalWorkflow(mock.Anything, state, "", SweepBeginSignal, mock.Anything).Return(func(_, _, _, _ string, _ any) error {
		order = append(order, "begin")
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(SweepParamsSignal, SweepParams{
				SourceURL: "https://feed.example/feed.xml", Options: SubscriptionOptions{Folder: "pods"},
				Seen: SeenSet{Key: "seen-old", Count: 2}, Backfill: BackfillAll,
			})
		}, 0)
		return nil
	}).Once()
	env.OnSignalExternalWorkflow(mock.Anything, state, "", SweepPlannedSignal, mock.Anything).Return(func(_, _, _, _ string, arg any) error {
		order = append(order, "planned")
		planned = arg.(SweepPlanned)
		return nil
	}).Once()
	env.OnSignalExternalWorkflow(mock.Anything, state, "", SweepDoneSignal, mock.Anything).Return(func(_, _, _, _ string, arg any) error {
		order = append(order, "done")
		done = arg.(SweepDone)
		return nil
	}).Once()
	env.OnActivity(PlanSweep.Name(), mock.Anything, mock.MatchedBy(func(in PlanSweepInput) bool {
		return in.SubscriptionID == testSubID && in.SeenKey == "seen-old" && !in.First && in.BatchID != ""
	})).Return(&PlanSweepResult{ManifestKey: "m", Listed: 5, New: 3, Skipped: 2, Seen: SeenSet{Key: "seen-new", Count: 5}}, nil).Once()
	var batchIn BatchInput
	env.OnWorkflow(BatchWorkflowType, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in BatchInput) (*BatchState, error) {
		order = append(order, "batch")
		batchIn = in
		return &BatchState{Completed: 2, Failed: 1}, nil
	}).Once()
	env.ExecuteWorkflow(Sweep, SweepInput{SubscriptionID: testSubID})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, []string{"begin", "planned", "batch", "done"}, order)
	require.Equal(t, "seen-old", planned.Base)
	require.Equal(t, "seen-new", planned.Seen.Key)
	require.Equal(t, 3, planned.Summary.New)
	require.Equal(t, "m", batchIn.ManifestKey)
	require.Equal(t, 3, batchIn.Total)
	require.Equal(t, "https://feed.example/feed.xml", batchIn.ShowURL)
	require.Equal(t, "pods", batchIn.Folder)
	require.Equal(t, planned.Summary.BatchID, batchIn.BatchID)
	require.Equal(t, 2, done.Summary.Completed)
	require.Equal(t, 1, done.Summary.Failed)
}

// TestSweepOfASourceThatIsDownFailsVisibly: the error goes to the
// subscription (GET shows it) and fails the sweep; no batch starts.
func TestSweepOfASourceThatIsDownFailsVisibly(t *testing.T) {
	env := newSweepEnv(t)
	state := SubscriptionWorkflowID(testSubID)
	var done SweepDone
	env.OnSignalExternalWorkflow(mock.Anything, state, "", SweepBeginSignal, mock.Anything).Return(func(_, _, _, _ string, _ any) error {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(SweepParamsSignal, SweepParams{SourceURL: "https://feed.example/feed.xml"}) }, 0)
		return nil
	})
	env.OnSignalExternalWorkflow(mock.Anything, state, "", SweepDoneSignal, mock.Anything).Return(func(_, _, _, _ string, arg any) error {
		done = arg.(SweepDone)
		return nil
	}).Once()
	env.OnActivity(PlanSweep.Name(), mock.Anything, mock.Anything).
		Return(nil, temporal.NewNonRetryableApplicationError("feed answered 503", "SourceUnavailable", nil))
	env.ExecuteWorkflow(Sweep, SweepInput{SubscriptionID: testSubID})
	require.Error(t, env.GetWorkflowError())
	require.Contains(t, done.Summary.Error, "503")
	require.Empty(t, done.Summary.BatchID)
}

// TestSubscriptionKeepsSeenSetAndCounts: the entity answers the first
// sweep with First (backfill applies), records its plan and its end, and
// answers the next with the new seen set and First false; deleted, it
// ends.
func TestSubscriptionKeepsSeenSetAndCounts(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	registerActivityStubs(env)
	var answers []SweepParams
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", SweepParamsSignal, mock.Anything).Return(func(_, _, _, _ string, arg any) error {
		answers = append(answers, arg.(SweepParams))
		return nil
	})
	sum := SweepSummary{SweepID: "sweep-1", BatchID: "b1", Listed: 4, New: 2, Skipped: 2}
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SweepBeginSignal, SweepBegin{SweepWorkflowID: "sweep-1"}) }, time.Second)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SweepPlannedSignal, SweepPlanned{Summary: sum, Seen: SeenSet{Key: "seen-1", Count: 4, Digest: "d1"}})
	}, 2*time.Second)
	env.RegisterDelayedCallback(func() {
		done := sum
		done.Completed, done.Failed, done.EndedAt = 1, 1, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		env.SignalWorkflow(SweepDoneSignal, SweepDone{Summary: done})
	}, 3*time.Second)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SweepBeginSignal, SweepBegin{SweepWorkflowID: "sweep-2"}) }, 4*time.Second)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SweepDoneSignal, SweepDone{Summary: SweepSummary{SweepID: "sweep-2", Error: "feed answered 503"}})
	}, 5*time.Second)
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(SubscriptionStateQuery)
		require.NoError(t, err)
		var st SubscriptionState
		require.NoError(t, v.Get(&st))
		require.Equal(t, 4, st.Seen)
		require.Equal(t, "d1", st.SeenDigest)
		require.Equal(t, 1, st.Downloaded)
		require.Equal(t, 1, st.Failed)
		require.Equal(t, 2, st.Sweeps)
		require.Equal(t, "feed answered 503", st.LastError)
		require.Len(t, st.Recent, 2)
		require.Equal(t, "sweep-2", st.Recent[0].SweepID)
		env.SignalWorkflow(SubscriptionDeleteSignal, nil)
	}, 6*time.Second)
	env.ExecuteWorkflow(Subscription, SubscriptionInput{
		SubscriptionID: testSubID, SourceURL: "https://feed.example/feed.xml", Backfill: "latest:3", Every: time.Hour,
	})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, answers, 2)
	require.True(t, answers[0].First)
	require.Equal(t, "latest:3", answers[0].Backfill)
	require.Empty(t, answers[0].Seen.Key)
	require.False(t, answers[1].First)
	require.Equal(t, "seen-1", answers[1].Seen.Key)
}

// TestSubscriptionContinuesAsNewWithItsState: after subscriptionRunSignals
// signals a run hands its state to the next.
func TestSubscriptionContinuesAsNewWithItsState(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	registerActivityStubs(env)
	for i := range subscriptionRunSignals + 1 {
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(SweepDoneSignal, SweepDone{Summary: SweepSummary{SweepID: "s", Completed: 1}})
		}, time.Duration(i+1)*time.Second)
	}
	env.ExecuteWorkflow(Subscription, SubscriptionInput{SubscriptionID: testSubID, SourceURL: "https://feed.example/feed.xml"})
	err := env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, err, &can)
	var next SubscriptionInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.Equal(t, subscriptionRunSignals+1, next.Sweeps)
	require.Equal(t, subscriptionRunSignals+1, next.Downloaded)
	require.Len(t, next.Recent, 1, "the same sweep ID is one entry")
}
