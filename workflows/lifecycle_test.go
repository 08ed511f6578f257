package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// recordStatusIndex records the RiptideStatus values the workflow upserts.
func recordStatusIndex(env *testsuite.TestWorkflowEnvironment) *[]string {
	var got []string
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		if v, ok := sa.GetKeyword(StatusKey); ok {
			got = append(got, v)
		}
	}).Return(nil)
	return &got
}

func TestJobIndexesStatusOnlyWhenItChanges(t *testing.T) {
	env, _ := newEnv(t)
	mockPipeline(env)
	indexed := recordStatusIndex(env)
	env.ExecuteWorkflow(Job, testInput())
	require.NoError(t, env.GetWorkflowError())
	// Pending is set at start; three steps of Processing make one upsert.
	require.Equal(t, []string{StatusProcessing, StatusCompleted}, *indexed)
}

// TestJobCancelledDuringDownload cancels the workflow while its download
// runs: the job ends Cancelled without a webhook. The download removes its
// own files: no worker holds the job's files yet, so no Cleanup runs.
// (The test environment resolves a cancelled activity at once; that the
// workflow waits for it to stop is shown end to end in internal/e2e.)
func TestJobCancelledDuringDownload(t *testing.T) {
	env, h := newEnv(t)
	indexed := recordStatusIndex(env)
	env.OnActivity(Download.Name(), mock.Anything, mock.Anything).Return(
		func(ctx context.Context, _ DownloadInput) (*DownloadResult, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}).Once()
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Second)
	env.ExecuteWorkflow(Job, testInput())

	require.True(t, env.IsWorkflowCompleted())
	require.True(t, temporal.IsCanceledError(env.GetWorkflowError()), "%v", env.GetWorkflowError())
	env.AssertExpectations(t)
	require.Empty(t, h.cleanups)
	require.Equal(t, []string{"progress:downloading"}, h.types(), "no terminal webhook")
	require.Equal(t, []string{StatusProcessing, StatusCancelled}, *indexed)
	v, err := env.QueryWorkflow(StatusQuery)
	require.NoError(t, err)
	var st JobState
	require.NoError(t, v.Get(&st))
	require.Equal(t, StatusCancelled, st.Status)
	require.Equal(t, StepFinished, st.Step)
}

// TestJobCancelledDuringMuxCleansUpOnTheHost cancels the workflow while its
// mux runs on the worker holding the files: Cleanup runs there.
func TestJobCancelledDuringMuxCleansUpOnTheHost(t *testing.T) {
	env, h := newEnv(t)
	env.OnActivity(Download.Name(), mock.Anything, mock.Anything).Return(okDownload, nil).Once()
	env.OnActivity(Mux.Name(), mock.Anything, mock.Anything).Return(
		func(ctx context.Context, _ MuxInput) (*MuxResult, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}).Once()
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Second)
	env.ExecuteWorkflow(Job, testInput())

	require.True(t, temporal.IsCanceledError(env.GetWorkflowError()), "%v", env.GetWorkflowError())
	env.AssertExpectations(t)
	require.Equal(t, []string{testHostQueue}, h.cleanups)
}
