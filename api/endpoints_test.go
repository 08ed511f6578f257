package api

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riptide-dev/riptide/workflows"
)

// ownDeletions drops the harness's "no file deleted" answer, for a test
// that says how the job's file deletion went.
func (h *harness) ownDeletions() {
	calls := h.tc.ExpectedCalls[:0]
	for _, c := range h.tc.ExpectedCalls {
		if c.Method != "DescribeWorkflowExecution" || len(c.Arguments) < 2 || c.Arguments[1] == nil ||
			!isMatcherOfDeletions(c.Arguments[1]) {
			calls = append(calls, c)
		}
	}
	h.tc.ExpectedCalls = calls
}

func isMatcherOfDeletions(arg any) bool {
	m, ok := arg.(interface{ Matches(any) bool })
	return ok && m.Matches(workflows.FileDeletedWorkflowID(testJobID))
}

func isMetadataStart(o client.StartWorkflowOptions) bool {
	return len(o.ID) == len("metadata-")+36 && o.ID[:len("metadata-")] == "metadata-" && o.TaskQueue == testQueue &&
		o.WorkflowExecutionTimeout > 0
}

func TestMetadataValidatesLikeCreateJob(t *testing.T) {
	h := newHarness(t, nil)
	for _, tc := range []struct{ body, code, field string }{
		{`{}`, codeMissingField, "url"},
		{`{"url": ""}`, codeMissingField, "url"},
		{`{"url": 42}`, codeInvalidType, "url"},
		{`{"url": "ftp://example.com/v"}`, codeInvalidField, "url"},
		{`{"url": "http://127.0.0.1/v.mp4"}`, codeInvalidField, "url"},
		{`{"url": "http://localhost/v.mp4"}`, codeInvalidField, "url"},
		{`{"url": "https://user:pw@example.com/v"}`, codeInvalidField, "url"},
		{`{"url": "https://example.com/v", "format": "mp4"}`, codeUnknownField, "format"},
	} {
		requireError(t, h.do(http.MethodPost, "/metadata", tc.body, testKey), http.StatusBadRequest, tc.code, tc.field)
	}
	requireError(t, h.do(http.MethodPost, "/metadata", `[]`, testKey), http.StatusBadRequest, codeInvalidJSON, "")
	h.tc.AssertNumberOfCalls(t, "ExecuteWorkflow", 0)
}

func TestMetadataAnswersTheWorkflowsResult(t *testing.T) {
	h := newHarness(t, nil)
	run := &mocks.WorkflowRun{}
	title, dur, w, views := "Clip", 4.5, int64(320), int64(7)
	run.On("Get", mock.Anything, mock.Anything).Run(func(args mock.Arguments) {
		*args.Get(1).(*workflows.Metadata) = workflows.Metadata{Title: &title, Duration: &dur, Width: &w, Height: &w,
			ViewCount: &views, Source: "ytdlp"}
	}).Return(nil).Once()
	h.tc.On("ExecuteWorkflow", mock.Anything, mock.MatchedBy(isMetadataStart), workflows.MetadataWorkflowType,
		workflows.MetadataInput{URL: "https://example.com/watch?v=1"}).Return(run, nil).Once()
	rec := h.do(http.MethodPost, "/metadata", `{"url": "https://example.com/watch?v=1"}`, testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	m := decodeBody(t, rec)
	for _, k := range []string{"title", "duration", "width", "height", "extractor", "uploader", "thumbnail", "description",
		"view_count", "like_count", "upload_date", "filesize_approx"} {
		require.Contains(t, m, k, "the reference's fields are always present")
	}
	require.Equal(t, "Clip", m["title"])
	require.Equal(t, 4.5, m["duration"])
	require.EqualValues(t, 320, m["width"])
	require.Nil(t, m["uploader"])
	require.Equal(t, schemaKeys(t, "Metadata"), jsonKeys(t, metadataAnswer{Metadata: &workflows.Metadata{}}))
	require.Equal(t, m["workflow_id"], rec.Header().Get(workflowIDHeader))
	require.Regexp(t, `^metadata-[0-9a-f-]{36}$`, m["workflow_id"])
}

func TestMetadataFailuresAreClientErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		code   string
		field  string
	}{
		{"source gone", temporal.NewNonRetryableApplicationError("HTTP Error 404: Not Found", workflows.ErrTypeNotFound, nil),
			http.StatusUnprocessableEntity, codeUnreadableSource, "url"},
		{"unreachable after retries", temporal.NewApplicationError("Connection refused", workflows.ErrTypeTechnical),
			http.StatusUnprocessableEntity, codeUnreadableSource, "url"},
		{"a playlist", temporal.NewNonRetryableApplicationError("is a playlist", workflows.ErrTypeUnsupported, nil),
			http.StatusUnprocessableEntity, codeUnreadableSource, "url"},
		{"resolves to a private address", temporal.NewNonRetryableApplicationError("blocked", workflows.ErrTypeBlockedAddress, nil),
			http.StatusBadRequest, codeInvalidField, "url"},
		{"attempts timed out", temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_START_TO_CLOSE, nil),
			http.StatusGatewayTimeout, codeTimeout, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			run := &mocks.WorkflowRun{}
			run.On("Get", mock.Anything, mock.Anything).Return(wrapAsWorkflowError(tc.err)).Once()
			run.On("GetID").Return("metadata-x").Maybe()
			h.tc.On("ExecuteWorkflow", mock.Anything, mock.MatchedBy(isMetadataStart), workflows.MetadataWorkflowType,
				mock.Anything).Return(run, nil).Once()
			m := requireError(t, h.do(http.MethodPost, "/metadata", `{"url": "https://example.com/v"}`, testKey), tc.status, tc.code, tc.field)
			require.NotContains(t, m["error"], "metadata-x", "no workflow wrapping in the message")
		})
	}
}

func TestMetadataWaitIsBounded(t *testing.T) {
	defer func(d time.Duration) { metadataWait = d }(metadataWait)
	metadataWait = 50 * time.Millisecond
	h := newHarness(t, nil)
	run := &mocks.WorkflowRun{}
	run.On("Get", mock.Anything, mock.Anything).Run(func(args mock.Arguments) {
		<-args.Get(0).(interface{ Done() <-chan struct{} }).Done()
	}).Return(errors.New("context deadline exceeded")).Once()
	h.tc.On("ExecuteWorkflow", mock.Anything, mock.Anything, workflows.MetadataWorkflowType, mock.Anything).Return(run, nil).Once()
	m := requireError(t, h.do(http.MethodPost, "/metadata", `{"url": "https://example.com/v"}`, testKey),
		http.StatusGatewayTimeout, codeTimeout, "")
	require.Contains(t, m["error"], "did not answer")
}

// wrapAsWorkflowError stands for the SDK's wrapping of a failed
// workflow's cause (WorkflowExecutionError, ActivityError), which it
// gives no constructor for.
func wrapAsWorkflowError(err error) error {
	return fmt.Errorf("workflow execution error (workflowID: metadata-x): activity error: %w", err)
}

func completedWithFiles() workflows.JobState {
	return workflows.JobState{
		JobID: testJobID, URL: "https://example.com/v", Status: workflows.StatusCompleted, Step: workflows.StepFinished,
		ProgressPercent: 100, Key: "v/t-550e8400.mp4", SubtitleKey: "v/t-550e8400.en.vtt", ThumbnailKey: "v/t-550e8400.jpg",
	}
}

func TestDeleteJobFileAnswersTheReferenceShape(t *testing.T) {
	h := newHarness(t, nil)
	h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.JobWorkflowID(testJobID), "").
		Return(describeResponse(t, completedWithFiles()), nil).Once()
	keys := []string{"v/t-550e8400.mp4", "v/t-550e8400.en.vtt", "v/t-550e8400.jpg"}
	run := &mocks.WorkflowRun{}
	run.On("Get", mock.Anything, mock.Anything).Run(func(args mock.Arguments) {
		*args.Get(1).(*workflows.DeleteFileResult) = workflows.DeleteFileResult{JobID: testJobID, Keys: keys,
			DeletedAt: time.UnixMilli(1768802500000)}
	}).Return(nil).Once()
	h.tc.On("ExecuteWorkflow", mock.Anything, mock.MatchedBy(func(o client.StartWorkflowOptions) bool {
		return o.ID == workflows.FileDeletedWorkflowID(testJobID)
	}), workflows.DeleteFileWorkflowType, workflows.DeleteFileInput{JobID: testJobID, Keys: keys}).Return(run, nil).Once()
	rec := h.do(http.MethodDelete, "/jobs/"+testJobID+"/file", "", testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	m := decodeBody(t, rec)
	require.Equal(t, testJobID, m["job_id"])
	require.Equal(t, "v/t-550e8400.mp4", m["deleted_key"])
	require.NotEmpty(t, m["message"])
	require.EqualValues(t, 1768802500000, m["file_deleted_at"])
	require.Len(t, m["deleted_keys"], 3)
	require.Equal(t, schemaKeys(t, "FileDeleted"), jsonKeys(t, m))
}

func TestDeleteJobFileRefusals(t *testing.T) {
	h := newHarness(t, nil)
	h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.JobWorkflowID(testJobID), "").
		Return(nil, serviceerror.NewNotFound("no")).Once()
	requireError(t, h.do(http.MethodDelete, "/jobs/"+testJobID+"/file", "", testKey), http.StatusNotFound, codeNotFound, "")
	requireError(t, h.do(http.MethodDelete, "/jobs/nope/file", "", testKey), http.StatusBadRequest, codeInvalidField, "id")

	running := completedWithFiles()
	running.Status, running.Step, running.Key = workflows.StatusProcessing, workflows.StepDownloading, ""
	resp := describeResponse(t, running)
	resp.WorkflowExecutionInfo.Status, resp.WorkflowExecutionInfo.CloseTime = enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil
	h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.JobWorkflowID(testJobID), "").Return(resp, nil).Once()
	m := requireError(t, h.do(http.MethodDelete, "/jobs/"+testJobID+"/file", "", testKey), http.StatusConflict, codeConflict, "")
	require.Contains(t, m["error"], "Completed")
	h.tc.AssertNumberOfCalls(t, "ExecuteWorkflow", 0)
}

func deletionInfo(status enumspb.WorkflowExecutionStatus, closed time.Time) *workflowpb.WorkflowExecutionInfo {
	return &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: workflows.FileDeletedWorkflowID(testJobID), RunId: "d"},
		Status:    status, CloseTime: timestamppb.New(closed),
	}
}

// TestDeletedFileJobView: after a deletion, the job reads file_deleted
// with no URLs (none is signed), and a second DELETE is a 409.
func TestDeletedFileJobView(t *testing.T) {
	h := newHarness(t, nil)
	h.ownDeletions()
	closed := time.UnixMilli(1768802500000)
	h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.JobWorkflowID(testJobID), "").
		Return(describeResponse(t, completedWithFiles()), nil).Twice()
	h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.FileDeletedWorkflowID(testJobID), "").
		Return(&workflowservice.DescribeWorkflowExecutionResponse{
			WorkflowExecutionInfo: deletionInfo(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, closed)}, nil).Twice()
	rec := h.do(http.MethodGet, "/jobs/"+testJobID, "", testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	m := decodeBody(t, rec)
	require.Equal(t, true, m["file_deleted"])
	require.EqualValues(t, closed.UnixMilli(), m["file_deleted_at"])
	for _, k := range []string{"s3_url", "subtitle_url", "thumbnail_url"} {
		require.Contains(t, m, k)
		require.Nil(t, m[k], k)
	}
	require.Equal(t, "v/t-550e8400.mp4", m["s3_key"], "the key stays: it says what was deleted")
	require.Zero(t, h.store.signed.Load())

	m = requireError(t, h.do(http.MethodDelete, "/jobs/"+testJobID+"/file", "", testKey), http.StatusConflict, codeConflict, "")
	require.Contains(t, m["error"], "already been deleted")
	h.tc.AssertNumberOfCalls(t, "ExecuteWorkflow", 0)
}

func TestListJobsShowsDeletedFiles(t *testing.T) {
	h := newHarness(t, nil)
	// The harness's empty answer to the deletions query is replaced.
	calls := h.tc.ExpectedCalls[:0]
	for _, c := range h.tc.ExpectedCalls {
		if c.Method != "ListWorkflow" {
			calls = append(calls, c)
		}
	}
	h.tc.ExpectedCalls = calls
	info := describeResponse(t, completedWithFiles()).GetWorkflowExecutionInfo()
	h.tc.On("CountWorkflow", mock.Anything, mock.Anything).Return(&workflowservice.CountWorkflowExecutionsResponse{Count: 1}, nil).Once()
	h.tc.On("ListWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.ListWorkflowExecutionsRequest) bool {
		return r.GetQuery() == "WorkflowType = 'Job'"+defaultScope
	})).Return(&workflowservice.ListWorkflowExecutionsResponse{Executions: []*workflowpb.WorkflowExecutionInfo{info}}, nil).Once()
	h.tc.On("ListWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.ListWorkflowExecutionsRequest) bool {
		return r.GetQuery() == "WorkflowType = 'DeleteJobFile' AND WorkflowId IN ('job-"+testJobID+"/file-deleted')"
	})).Return(&workflowservice.ListWorkflowExecutionsResponse{Executions: []*workflowpb.WorkflowExecutionInfo{
		deletionInfo(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, time.Now())}}, nil).Once()
	rec := h.do(http.MethodGet, "/jobs", "", testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	job := decodeBody(t, rec)["jobs"].([]any)[0].(map[string]any)
	require.Equal(t, true, job["file_deleted"])
	require.Nil(t, job["s3_url"])
}
