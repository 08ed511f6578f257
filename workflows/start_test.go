package workflows

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
)

const testStartJobID = "3f1b0c8e-1d2a-4c5b-9e7f-0a1b2c3d4e5f"

func TestStartOptions(t *testing.T) {
	in := JobInput{JobID: testStartJobID, URL: "https://example.com/v", Folder: "f", Format: "mkv"}
	now := time.Date(2026, 2, 1, 12, 0, 0, 0, time.FixedZone("X", 3600))
	opts := JobStartOptions("q", in, now)
	require.Equal(t, "job-"+testStartJobID, opts.ID)
	require.Equal(t, "q", opts.TaskQueue)
	require.Equal(t, enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, opts.WorkflowIDReusePolicy)
	require.Equal(t, JobState{
		JobID: testStartJobID, URL: in.URL, Folder: "f", Status: StatusPending, Step: StepQueued,
		UpdatedAt: now.UTC(),
	}, opts.Memo[MemoKey])
}

func TestIDsParseBack(t *testing.T) {
	id, ok := ParseJobWorkflowID(JobWorkflowID(testStartJobID))
	require.True(t, ok)
	require.Equal(t, testStartJobID, id)
	for _, bad := range []string{"", "job-", "batch-" + testStartJobID, testStartJobID} {
		_, ok := ParseJobWorkflowID(bad)
		require.False(t, ok, bad)
	}
	require.True(t, IsJobEventID(testStartJobID, JobEventID(testStartJobID, TypeJobCompleted)))
	require.True(t, IsJobEventID(testStartJobID, ProgressEventID(testStartJobID, StageMuxing.Name)))
	require.False(t, IsJobEventID(testStartJobID, JobEventID("other", TypeJobCompleted)))
	require.False(t, IsJobEventID(testStartJobID, JobEventID(testStartJobID, strings.Repeat("x", 100))))
	require.Equal(t, RetryJobID(testStartJobID), RetryJobID(testStartJobID), "a retry's ID is derived")
	require.NotEqual(t, testStartJobID, RetryJobID(testStartJobID))
	require.Equal(t, EpisodeJobID(testStartJobID, 3), EpisodeJobID(testStartJobID, 3))
	require.NotEqual(t, EpisodeJobID(testStartJobID, 3), EpisodeJobID(testStartJobID, 4))
}
