package workflows

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

func newEndpointEnv() *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(MetadataWorkflow, workflow.RegisterOptions{Name: MetadataWorkflowType})
	env.RegisterWorkflowWithOptions(DeleteJobFile, workflow.RegisterOptions{Name: DeleteFileWorkflowType})
	registerActivityStubs(env)
	return env
}

func TestMetadataRunsOneLookupOnTheControlQueue(t *testing.T) {
	env := newEndpointEnv()
	title := "Clip"
	var queue string
	env.OnActivity(FetchMetadata.Name(), mock.Anything, MetadataInput{URL: "https://example.com/v"}).Return(
		func(ctx context.Context, _ MetadataInput) (*Metadata, error) {
			queue = activity.GetInfo(ctx).TaskQueue
			return &Metadata{Title: &title, Source: "ytdlp"}, nil
		}).Once()
	env.ExecuteWorkflow(MetadataWorkflowType, MetadataInput{URL: "https://example.com/v"})
	require.NoError(t, env.GetWorkflowError())
	var md Metadata
	require.NoError(t, env.GetWorkflowResult(&md))
	require.Equal(t, "Clip", *md.Title)
	require.Equal(t, ControlQueue("default-test-taskqueue"), queue)
	env.AssertExpectations(t)
}

func TestMetadataDoesNotRetryAPermanentFailure(t *testing.T) {
	env := newEndpointEnv()
	env.OnActivity(FetchMetadata.Name(), mock.Anything, mock.Anything).Return(nil,
		temporal.NewNonRetryableApplicationError("HTTP Error 404", ErrTypeNotFound, nil)).Once()
	env.ExecuteWorkflow(MetadataWorkflowType, MetadataInput{URL: "https://example.com/v"})
	appErr, ok := errorAs[*temporal.ApplicationError](env.GetWorkflowError())
	require.True(t, ok, "%v", env.GetWorkflowError())
	require.Equal(t, ErrTypeNotFound, appErr.Type())
	env.AssertExpectations(t)
}

func TestMetadataAttemptsEndBeforeTheAPIStopsWaiting(t *testing.T) {
	worst := metadataOptions.ScheduleToCloseTimeout
	require.Less(t, worst, MetadataWait, "the API answers what the lookup said, not its own timeout")
}

func TestDeleteJobFileDeletesEveryKeyOnTheControlQueue(t *testing.T) {
	env := newEndpointEnv()
	keys := []string{"v/a.mp4", "v/a.en.vtt", "v/a.jpg"}
	var queue string
	env.OnActivity(DeleteObjects.Name(), mock.Anything, DeleteObjectsInput{Keys: keys}).Return(
		func(ctx context.Context, _ DeleteObjectsInput) error {
			queue = activity.GetInfo(ctx).TaskQueue
			return nil
		}).Once()
	env.ExecuteWorkflow(DeleteFileWorkflowType, DeleteFileInput{JobID: "j", Keys: keys})
	require.NoError(t, env.GetWorkflowError())
	var res DeleteFileResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, keys, res.Keys)
	require.False(t, res.DeletedAt.IsZero())
	require.Equal(t, ControlQueue("default-test-taskqueue"), queue)
}

func TestDeleteJobFileRefusesAnEmptyInput(t *testing.T) {
	env := newEndpointEnv()
	env.ExecuteWorkflow(DeleteFileWorkflowType, DeleteFileInput{JobID: "j"})
	require.Error(t, env.GetWorkflowError())
}

func TestFileDeletedIDIsNoJobID(t *testing.T) {
	id := FileDeletedWorkflowID("550e8400-e29b-41d4-a716-446655440000")
	require.Equal(t, "job-550e8400-e29b-41d4-a716-446655440000/file-deleted", id)
	_, ok := ParseJobWorkflowID(id)
	require.False(t, ok, "a deletion's ID must not parse as a job's")
	jobID, ok := ParseFileDeletedWorkflowID(id)
	require.True(t, ok)
	require.Equal(t, "550e8400-e29b-41d4-a716-446655440000", jobID)
	_, ok = ParseFileDeletedWorkflowID(JobWorkflowID("550e8400-e29b-41d4-a716-446655440000"))
	require.False(t, ok)
	got, ok := ParseJobWorkflowID(JobWorkflowID("550e8400-e29b-41d4-a716-446655440000"))
	require.True(t, ok)
	require.Equal(t, "550e8400-e29b-41d4-a716-446655440000", got)

	o := DeleteFileStartOptions("q", "x")
	require.Equal(t, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY, o.WorkflowIDReusePolicy)
	require.True(t, o.WorkflowExecutionErrorWhenAlreadyStarted, "a concurrent DELETE learns it lost")
}

func errorAs[E error](err error) (E, bool) { return errors.AsType[E](err) }
