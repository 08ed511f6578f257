package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riptide-dev/riptide/workflows"
)

// eventIterator serves a fixed history.
type eventIterator struct{ events []*historypb.HistoryEvent }

func (it *eventIterator) HasNext() bool { return len(it.events) > 0 }
func (it *eventIterator) Next() (*historypb.HistoryEvent, error) {
	e := it.events[0]
	it.events = it.events[1:]
	return e, nil
}

func deletion(status enumspb.WorkflowExecutionStatus) *workflowservice.DescribeWorkflowExecutionResponse {
	info := &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: workflows.FileDeletedWorkflowID(testJobID), RunId: "del-1"},
		Status:    status, StartTime: timestamppb.New(closed),
	}
	if status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		info.CloseTime = timestamppb.New(closed.Add(time.Second))
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: info}
}

func completedJob(t *testing.T) *workflowservice.DescribeWorkflowExecutionResponse {
	return describe{status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, memo: state(workflows.StatusCompleted, workflows.StepFinished, 100,
		func(s *workflows.JobState) {
			s.Key, s.SubtitleKey, s.ThumbnailKey = "shows/a/t.mp4", "shows/a/t.en.vtt", "shows/a/t.jpg"
		})}.response(t)
}

func TestAddFileDeletionReadsTheDeletionWorkflow(t *testing.T) {
	deletedAt := closed.Add(time.Second).UnixMilli()
	for _, tc := range []struct {
		name    string
		resp    *workflowservice.DescribeWorkflowExecutionResponse
		err     error
		deleted bool
		at      *int64
	}{
		{name: "none", err: serviceerror.NewNotFound("none")},
		{name: "running", resp: deletion(enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING), deleted: true},
		{name: "completed", resp: deletion(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED), deleted: true, at: &deletedAt},
		{name: "failed: the file may be asked for again", resp: deletion(enumspb.WORKFLOW_EXECUTION_STATUS_FAILED)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &mocks.Client{}
			c.On("DescribeWorkflowExecution", mock.Anything, "job-"+testJobID+"/file-deleted", "").Return(tc.resp, tc.err).Once()
			v := &View{ID: testJobID}
			require.NoError(t, AddFileDeletion(context.Background(), c, v))
			require.Equal(t, tc.deleted, v.FileDeleted)
			require.Equal(t, tc.at, v.FileDeletedAtMS)
			c.AssertExpectations(t)
		})
	}
}

func TestDeleteFileRefusesAJobWithoutAFile(t *testing.T) {
	for _, d := range []describe{
		{status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, memo: state(workflows.StatusProcessing, workflows.StepDownloading, 10)},
		{status: enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, memo: state(workflows.StatusFailed, workflows.StepFinished, 0)},
		{status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, memo: state(workflows.StatusWarning, workflows.StepFinished, 0)},
	} {
		c := &mocks.Client{}
		c.On("DescribeWorkflowExecution", mock.Anything, workflows.JobWorkflowID(testJobID), "").Return(d.response(t), nil).Once()
		_, err := DeleteFile(context.Background(), c, "q", workflows.DefaultTenant, testJobID, time.Second)
		require.ErrorIs(t, err, ErrNotCompleted, d.memo.Status)
		c.AssertExpectations(t) // nothing started
	}
}

func TestDeleteFileOfADeletedFileIsRefused(t *testing.T) {
	c := &mocks.Client{}
	c.On("DescribeWorkflowExecution", mock.Anything, workflows.JobWorkflowID(testJobID), "").Return(completedJob(t), nil).Once()
	c.On("DescribeWorkflowExecution", mock.Anything, workflows.FileDeletedWorkflowID(testJobID), "").
		Return(deletion(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED), nil).Once()
	_, err := DeleteFile(context.Background(), c, "q", workflows.DefaultTenant, testJobID, time.Second)
	require.ErrorIs(t, err, ErrFileDeleted)
	c.AssertExpectations(t)
}

// TestDeleteFileDeletesEveryUploadedObject: the keys come from the job's
// Upload result, every subtitle included (the memo has the first only);
// a concurrent DELETE that lost the start race is told the file is gone.
func TestDeleteFileDeletesEveryUploadedObject(t *testing.T) {
	h := &history{t: t}
	h.activity(workflows.Upload.Name(), 1, 1, 2, 1, workflows.UploadResult{
		Key: "shows/a/t.mp4", SubtitleKeys: []string{"shows/a/t.en.vtt", "shows/a/t.de.vtt"}, ThumbnailKey: "shows/a/t.jpg"})
	want := []string{"shows/a/t.mp4", "shows/a/t.en.vtt", "shows/a/t.de.vtt", "shows/a/t.jpg"}

	for _, raced := range []bool{false, true} {
		c := &mocks.Client{}
		c.On("DescribeWorkflowExecution", mock.Anything, workflows.JobWorkflowID(testJobID), "").Return(completedJob(t), nil).Once()
		c.On("DescribeWorkflowExecution", mock.Anything, workflows.FileDeletedWorkflowID(testJobID), "").
			Return(nil, serviceerror.NewNotFound("none")).Once()
		c.On("GetWorkflowHistory", mock.Anything, workflows.JobWorkflowID(testJobID), "run-1", false,
			enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT).Return(&eventIterator{events: h.events}).Once()
		start := c.On("ExecuteWorkflow", mock.Anything, mock.MatchedBy(func(o client.StartWorkflowOptions) bool {
			return o.ID == "job-"+testJobID+"/file-deleted" && o.TaskQueue == "q" &&
				o.WorkflowIDReusePolicy == enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY &&
				o.WorkflowExecutionErrorWhenAlreadyStarted
		}), workflows.DeleteFileWorkflowType, workflows.DeleteFileInput{JobID: testJobID, Keys: want}).Once()
		if raced {
			start.Return(nil, serviceerror.NewWorkflowExecutionAlreadyStarted("started", "", "del-1"))
			_, err := DeleteFile(context.Background(), c, "q", workflows.DefaultTenant, testJobID, time.Second)
			require.ErrorIs(t, err, ErrFileDeleted)
		} else {
			run := &mocks.WorkflowRun{}
			run.On("Get", mock.Anything, mock.Anything).Run(func(args mock.Arguments) {
				*args.Get(1).(*workflows.DeleteFileResult) = workflows.DeleteFileResult{JobID: testJobID, Keys: want, DeletedAt: closed}
			}).Return(nil).Once()
			start.Return(run, nil)
			res, err := DeleteFile(context.Background(), c, "q", workflows.DefaultTenant, testJobID, time.Second)
			require.NoError(t, err)
			require.Equal(t, want, res.Keys)
		}
		c.AssertExpectations(t)
	}
}

func TestAddFileDeletionsOneQueryPerPage(t *testing.T) {
	done := &View{ID: "a", Status: workflows.StatusCompleted, Key: nullable("a.mp4")}
	kept := &View{ID: "b", Status: workflows.StatusCompleted, Key: nullable("b.mp4")}
	failed := &View{ID: "c", Status: workflows.StatusFailed}
	c := &mocks.Client{}
	c.On("ListWorkflow", mock.Anything, &workflowservice.ListWorkflowExecutionsRequest{
		PageSize: 2,
		Query:    "WorkflowType = 'DeleteJobFile' AND WorkflowId IN ('job-a/file-deleted', 'job-b/file-deleted')",
	}).Return(&workflowservice.ListWorkflowExecutionsResponse{Executions: []*workflowpb.WorkflowExecutionInfo{
		deletion(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED).GetWorkflowExecutionInfo(),
	}}, nil).Once()
	// The fake's execution is the deletion of testJobID's file: rename it.
	c.ExpectedCalls[0].ReturnArguments[0].(*workflowservice.ListWorkflowExecutionsResponse).Executions[0].Execution.WorkflowId = "job-a/file-deleted"
	require.NoError(t, AddFileDeletions(context.Background(), c, []*View{done, kept, failed}))
	require.True(t, done.FileDeleted)
	require.NotNil(t, done.FileDeletedAtMS)
	require.False(t, kept.FileDeleted)
	require.False(t, failed.FileDeleted)
	c.AssertExpectations(t)
}
