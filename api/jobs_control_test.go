package api

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
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
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/mocks"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/workflows"
)

func TestListJobsRejectsBadParameters(t *testing.T) {
	h := newHarness(t, nil)
	for _, tc := range []struct{ query, field string }{
		{"status=running", "status"},
		{"status=Pending&status=Failed", "status"},
		{"limit=0", "limit"},
		{"limit=101", "limit"},
		{"limit=ten", "limit"},
		{"limit=1.5", "limit"},
		{"cursor=!!!", "cursor"},
		{"cursor=" + base64.RawURLEncoding.EncodeToString([]byte("not one of ours")), "cursor"},
		{"cursor=", "cursor"},
		{"cursor=" + strings.Repeat("A", 5000), "cursor"},
		{"folder=a/../b", "folder"},
		{"folder=/abs", "folder"},
		{"batch_id=not-a-uuid", "batch_id"},
		{"stauts=Failed", "stauts"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			rec := h.do(http.MethodGet, "/jobs?"+tc.query, "", testKey)
			code := codeInvalidField
			if tc.field == "stauts" {
				code = codeUnknownField
			}
			requireError(t, rec, http.StatusBadRequest, code, tc.field)
		})
	}
}

// listInfo is a job's execution as ListWorkflow returns it.
func listInfo(t *testing.T, id string, st workflows.JobState, status enumspb.WorkflowExecutionStatus) *workflowpb.WorkflowExecutionInfo {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(st)
	require.NoError(t, err)
	start := time.Date(2026, 1, 19, 6, 0, 0, 0, time.UTC)
	info := &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: workflows.JobWorkflowID(id), RunId: "run-" + id[:4]},
		StartTime: timestamppb.New(start),
		Status:    status,
		Memo:      &commonpb.Memo{Fields: map[string]*commonpb.Payload{workflows.MemoKey: p}},
	}
	if status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		info.CloseTime = timestamppb.New(start.Add(time.Minute))
	}
	return info
}

func TestListJobsFiltersAndPages(t *testing.T) {
	h := newHarness(t, nil)
	a, b := "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
	token := []byte(`{"CloseTime":"x","RunID":"y"}`)
	h.tc.On("ListWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.ListWorkflowExecutionsRequest) bool {
		return r.PageSize == 2 && len(r.NextPageToken) == 0 &&
			r.Query == "WorkflowType = 'Job' AND ExecutionStatus IN ('Running', 'Completed') AND RiptideStatus = 'Completed'"+
				" AND RiptideFolder = 'shows/it\\'s' AND RiptideBatchID = '"+testJobID+"'"
	})).Return(&workflowservice.ListWorkflowExecutionsResponse{
		Executions: []*workflowpb.WorkflowExecutionInfo{
			listInfo(t, a, workflows.JobState{JobID: a, Status: workflows.StatusCompleted, Key: "k/a.mp4"}, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED),
			listInfo(t, b, workflows.JobState{JobID: b, Status: workflows.StatusCompleted}, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING),
		},
		NextPageToken: token,
	}, nil).Once()

	q := url.Values{"status": {"COMPLETED"}, "folder": {"shows/it's/"}, "batch_id": {strings.ToUpper(testJobID)}, "limit": {"2"}}
	rec := h.do(http.MethodGet, "/jobs?"+q.Encode(), "", testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	m := decodeBody(t, rec)
	list := m["jobs"].([]any)
	require.Len(t, list, 2)
	first, second := list[0].(map[string]any), list[1].(map[string]any)
	require.Equal(t, a, first["id"])
	require.Equal(t, workflows.JobWorkflowID(a), first["workflow_id"])
	require.Equal(t, "https://s3.test/bucket/k/a.mp4?X-Amz-Signature=1", first["s3_url"])
	require.NotNil(t, first["completed_at"])
	require.Equal(t, b, second["id"])
	require.Nil(t, second["completed_at"])
	cursor := m["next_cursor"].(string)
	require.Equal(t, jobs.EncodeCursor(token), cursor)

	// The cursor brings the token back; the last page has a null cursor.
	h.tc.On("ListWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.ListWorkflowExecutionsRequest) bool {
		return r.PageSize == 50 && string(r.NextPageToken) == string(token) && r.Query == "WorkflowType = 'Job'"
	})).Return(&workflowservice.ListWorkflowExecutionsResponse{}, nil).Once()
	rec = h.do(http.MethodGet, "/jobs?cursor="+cursor, "", testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	m = decodeBody(t, rec)
	require.Equal(t, []any{}, m["jobs"])
	require.Contains(t, m, "next_cursor")
	require.Nil(t, m["next_cursor"])
}

func TestListJobsRefusedTokenIsABadCursor(t *testing.T) {
	h := newHarness(t, nil)
	h.tc.On("ListWorkflow", mock.Anything, mock.Anything).
		Return(nil, serviceerror.NewInvalidArgument("unable to deserialize page token")).Once()
	cursor := jobs.EncodeCursor([]byte("garbage"))
	requireError(t, h.do(http.MethodGet, "/jobs?cursor="+cursor, "", testKey), http.StatusBadRequest, codeInvalidField, "cursor")
}

func TestListJobsTemporalDown(t *testing.T) {
	h := newHarness(t, nil)
	h.tc.On("ListWorkflow", mock.Anything, mock.Anything).Return(nil, serviceerror.NewUnavailable("down")).Once()
	requireError(t, h.do(http.MethodGet, "/jobs", "", testKey), http.StatusServiceUnavailable, codeTemporalUnavailable, "")
}

// runningResponse is a running job's DescribeWorkflowExecution answer.
func runningResponse(t *testing.T, status string) *workflowservice.DescribeWorkflowExecutionResponse {
	resp := describeResponse(t, workflows.JobState{JobID: testJobID, Status: status, Step: workflows.StepDownloading})
	resp.WorkflowExecutionInfo.Status = enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	resp.WorkflowExecutionInfo.CloseTime = nil
	return resp
}

func TestCancelJob(t *testing.T) {
	h := newHarness(t, nil)
	h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.JobWorkflowID(testJobID), "").
		Return(runningResponse(t, workflows.StatusProcessing), nil).Twice()
	h.tc.On("CancelWorkflow", mock.Anything, workflows.JobWorkflowID(testJobID), "run-1").Return(nil).Once()
	rec := h.do(http.MethodDelete, "/jobs/"+testJobID, "", testKey)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	m := decodeBody(t, rec)
	require.Equal(t, testJobID, m["id"])
	require.Equal(t, workflows.StatusProcessing, m["status"])
}

func TestCancelFinishedJobIsAConflict(t *testing.T) {
	for name, resp := range map[string]func(*testing.T) *workflowservice.DescribeWorkflowExecutionResponse{
		"closed": func(t *testing.T) *workflowservice.DescribeWorkflowExecutionResponse {
			return describeResponse(t, workflows.JobState{JobID: testJobID, Status: workflows.StatusCompleted})
		},
		// Outcome recorded, last webhook still being delivered.
		"delivering its webhook": func(t *testing.T) *workflowservice.DescribeWorkflowExecutionResponse {
			return runningResponse(t, workflows.StatusFailed)
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.tc.On("DescribeWorkflowExecution", mock.Anything, mock.Anything, "").Return(resp(t), nil).Once()
			requireError(t, h.do(http.MethodDelete, "/jobs/"+testJobID, "", testKey), http.StatusConflict, codeConflict, "")
			h.tc.AssertNotCalled(t, "CancelWorkflow", mock.Anything, mock.Anything, mock.Anything)
		})
	}
}

func TestCancelJobEndedMeanwhile(t *testing.T) {
	h := newHarness(t, nil)
	h.tc.On("DescribeWorkflowExecution", mock.Anything, mock.Anything, "").Return(runningResponse(t, workflows.StatusPending), nil).Once()
	h.tc.On("CancelWorkflow", mock.Anything, mock.Anything, mock.Anything).
		Return(serviceerror.NewNotFound("workflow execution already completed")).Once()
	requireError(t, h.do(http.MethodDelete, "/jobs/"+testJobID, "", testKey), http.StatusConflict, codeConflict, "")
}

func TestCancelAndRetryUnknownJob(t *testing.T) {
	h := newHarness(t, nil)
	h.tc.On("DescribeWorkflowExecution", mock.Anything, mock.Anything, "").
		Return(nil, serviceerror.NewNotFound("workflow not found")).Twice()
	requireError(t, h.do(http.MethodDelete, "/jobs/"+testJobID, "", testKey), http.StatusNotFound, codeNotFound, "")
	requireError(t, h.do(http.MethodPost, "/jobs/"+testJobID+"/retry", "", testKey), http.StatusNotFound, codeNotFound, "")
	requireError(t, h.do(http.MethodDelete, "/jobs/nope", "", testKey), http.StatusBadRequest, codeInvalidField, "id")
	requireError(t, h.do(http.MethodPost, "/jobs/nope/retry", "", testKey), http.StatusBadRequest, codeInvalidField, "id")
}

// historyWithInput is an iterator over a history whose first event started
// the job with in.
func historyWithInput(t *testing.T, in workflows.JobInput) client.HistoryEventIterator {
	p, err := converter.GetDefaultDataConverter().ToPayloads(in)
	require.NoError(t, err)
	it := &mocks.HistoryEventIterator{}
	it.On("HasNext").Return(true).Once()
	it.On("Next").Return(&historypb.HistoryEvent{
		EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{
			WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{Input: p},
		},
	}, nil).Once()
	return it
}

func TestRetryFailedJobStartsItAgainUnderANewID(t *testing.T) {
	h := newHarness(t, nil)
	failed := describeResponse(t, workflows.JobState{JobID: testJobID, Status: workflows.StatusFailed})
	failed.WorkflowExecutionInfo.Status = enumspb.WORKFLOW_EXECUTION_STATUS_FAILED
	h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.JobWorkflowID(testJobID), "").Return(failed, nil).Twice()
	orig := workflows.JobInput{JobID: testJobID, URL: "https://example.com/v.mp4", Folder: "f", Format: "mkv",
		WebhookURL: "https://hooks.example.com/h", EnableProgressWebhook: true}
	h.tc.On("GetWorkflowHistory", mock.Anything, workflows.JobWorkflowID(testJobID), "run-1", false,
		enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT).Return(historyWithInput(t, orig)).Once()
	h.tc.On("GetWorkflowHistory", mock.Anything, workflows.JobWorkflowID(testJobID), "run-1", false,
		enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT).Return(historyWithInput(t, orig)).Once()
	newID := workflows.RetryJobID(testJobID)
	want := orig
	want.JobID, want.RetryOf = newID, testJobID
	h.tc.On("ExecuteWorkflow", mock.Anything, mock.MatchedBy(func(o client.StartWorkflowOptions) bool {
		st := o.Memo[workflows.MemoKey].(workflows.JobState)
		return o.ID == workflows.JobWorkflowID(newID) && o.TaskQueue == testQueue && st.RetryOf == testJobID
	}), mock.MatchedBy(isJobWorkflow), want).Return(&mocks.WorkflowRun{}, nil).Once()

	rec := h.do(http.MethodPost, "/jobs/"+testJobID+"/retry", "", testKey)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	require.Equal(t, map[string]any{"job_id": newID, "retry_of": testJobID}, decodeBody(t, rec))
	require.Equal(t, "/jobs/"+newID, rec.Header().Get("Location"))

	// Repeating the request starts nothing new.
	h.tc.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
		Return(nil, serviceerror.NewWorkflowExecutionAlreadyStarted("started", "", "")).Once()
	rec = h.do(http.MethodPost, "/jobs/"+testJobID+"/retry", "", testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, map[string]any{"job_id": newID, "retry_of": testJobID, "cached": true}, decodeBody(t, rec))
}

func TestRetryNeedsAFailedCancelledOrSkippedJob(t *testing.T) {
	for name, resp := range map[string]func(*testing.T) *workflowservice.DescribeWorkflowExecutionResponse{
		"completed": func(t *testing.T) *workflowservice.DescribeWorkflowExecutionResponse {
			return describeResponse(t, workflows.JobState{JobID: testJobID, Status: workflows.StatusCompleted})
		},
		"warning": func(t *testing.T) *workflowservice.DescribeWorkflowExecutionResponse {
			return describeResponse(t, workflows.JobState{JobID: testJobID, Status: workflows.StatusWarning})
		},
		"running": func(t *testing.T) *workflowservice.DescribeWorkflowExecutionResponse {
			return runningResponse(t, workflows.StatusProcessing)
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.tc.On("DescribeWorkflowExecution", mock.Anything, mock.Anything, "").Return(resp(t), nil).Once()
			requireError(t, h.do(http.MethodPost, "/jobs/"+testJobID+"/retry", "", testKey), http.StatusConflict, codeConflict, "")
		})
	}
}
