package api

import (
	"encoding/base64"
	"encoding/json"
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
	h.tc.On("CountWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.CountWorkflowExecutionsRequest) bool {
		return strings.HasSuffix(r.Query, " AND RiptideBatchID = '"+testJobID+"'"+defaultScope)
	})).Return(&workflowservice.CountWorkflowExecutionsResponse{Count: 7}, nil).Once()
	h.tc.On("ListWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.ListWorkflowExecutionsRequest) bool {
		return r.PageSize == 2 && len(r.NextPageToken) == 0 &&
			r.Query == "WorkflowType = 'Job' AND ExecutionStatus IN ('Running', 'Completed') AND RiptideStatus = 'Completed'"+
				" AND RiptideFolder = 'shows/it\\'s' AND RiptideBatchID = '"+testJobID+"'"+defaultScope
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
	require.Equal(t, float64(7), m["total"])
	require.Equal(t, float64(2), m["limit"])
	require.Equal(t, float64(0), m["offset"])

	// The cursor brings the token back; the last page has a null cursor.
	h.tc.On("CountWorkflow", mock.Anything, mock.Anything).Return(&workflowservice.CountWorkflowExecutionsResponse{Count: 7}, nil).Once()
	h.tc.On("ListWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.ListWorkflowExecutionsRequest) bool {
		return r.PageSize == 20 && string(r.NextPageToken) == string(token) && r.Query == "WorkflowType = 'Job'"+defaultScope
	})).Return(&workflowservice.ListWorkflowExecutionsResponse{}, nil).Once()
	rec = h.do(http.MethodGet, "/jobs?cursor="+cursor, "", testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	m = decodeBody(t, rec)
	require.Equal(t, []any{}, m["jobs"])
	require.Contains(t, m, "next_cursor")
	require.Nil(t, m["next_cursor"])
}

// The hosted service's paging: limit and offset, with the total. The jobs
// before the offset are read and dropped.
func TestListJobsOffsetPages(t *testing.T) {
	h := newHarness(t, nil)
	ids := []string{"11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222",
		"33333333-3333-4333-8333-333333333333"}
	infos := make([]*workflowpb.WorkflowExecutionInfo, len(ids))
	for i, id := range ids {
		infos[i] = listInfo(t, id, workflows.JobState{JobID: id, Status: workflows.StatusCompleted, Key: "k/" + id + ".mp4",
			FileSizeBytes: 9, Step: workflows.StepFinished}, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED)
	}
	h.tc.On("CountWorkflow", mock.Anything, mock.Anything).Return(&workflowservice.CountWorkflowExecutionsResponse{Count: 3}, nil).Once()
	// offset 1: one job read and dropped, then a page of 2, which the
	// server answers in two reads.
	h.tc.On("ListWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.ListWorkflowExecutionsRequest) bool {
		return r.PageSize == 1 && len(r.NextPageToken) == 0
	})).Return(&workflowservice.ListWorkflowExecutionsResponse{Executions: infos[:1], NextPageToken: []byte("t1")}, nil).Once()
	h.tc.On("ListWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.ListWorkflowExecutionsRequest) bool {
		return r.PageSize == 2 && string(r.NextPageToken) == "t1"
	})).Return(&workflowservice.ListWorkflowExecutionsResponse{Executions: infos[1:2], NextPageToken: []byte("t2")}, nil).Once()
	h.tc.On("ListWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.ListWorkflowExecutionsRequest) bool {
		return r.PageSize == 1 && string(r.NextPageToken) == "t2"
	})).Return(&workflowservice.ListWorkflowExecutionsResponse{Executions: infos[2:]}, nil).Once()

	rec := h.do(http.MethodGet, "/jobs?limit=2&offset=1", "", testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var raw struct {
		Jobs                 []map[string]json.RawMessage
		Total, Limit, Offset json.RawMessage
		NextCursor           *string `json:"next_cursor"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &raw))
	require.Equal(t, "3", string(raw.Total))
	require.Equal(t, "2", string(raw.Limit))
	require.Equal(t, "1", string(raw.Offset))
	require.Nil(t, raw.NextCursor)
	require.Len(t, raw.Jobs, 2)
	for i, j := range raw.Jobs {
		require.Equal(t, `"`+ids[i+1]+`"`, string(j["id"]))
		for _, k := range []string{"id", "url", "status", "s3_key", "error", "step", "created_at", "finished_at", "file_size"} {
			require.Contains(t, j, k)
		}
		require.Equal(t, `"k/`+ids[i+1]+`.mp4"`, string(j["s3_key"]))
		require.Equal(t, "1768802400000", string(j["created_at"]))
		require.Equal(t, "1768802460000", string(j["finished_at"]))
		require.Equal(t, "9", string(j["file_size"]))
	}
}

func TestListJobsBadOffset(t *testing.T) {
	h := newHarness(t, nil)
	for _, q := range []string{"offset=-1", "offset=x", "offset=10001", "offset=1&cursor=" + jobs.EncodeCursor([]byte("t"))} {
		requireError(t, h.do(http.MethodGet, "/jobs?"+q, "", testKey), http.StatusBadRequest, codeInvalidField, "offset")
	}
	requireError(t, h.do(http.MethodGet, "/jobs?limit=101", "", testKey), http.StatusBadRequest, codeInvalidField, "limit")
}

func TestListJobsRefusedTokenIsABadCursor(t *testing.T) {
	h := newHarness(t, nil)
	h.tc.On("CountWorkflow", mock.Anything, mock.Anything).Return(&workflowservice.CountWorkflowExecutionsResponse{}, nil).Once()
	h.tc.On("ListWorkflow", mock.Anything, mock.Anything).
		Return(nil, serviceerror.NewInvalidArgument("unable to deserialize page token")).Once()
	cursor := jobs.EncodeCursor([]byte("garbage"))
	requireError(t, h.do(http.MethodGet, "/jobs?cursor="+cursor, "", testKey), http.StatusBadRequest, codeInvalidField, "cursor")
}

func TestListJobsTemporalDown(t *testing.T) {
	h := newHarness(t, nil)
	h.tc.On("CountWorkflow", mock.Anything, mock.Anything).Return(nil, serviceerror.NewUnavailable("down")).Once()
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
	// The hosted service's answer, beside the view.
	require.Equal(t, testJobID, m["job_id"])
	require.Equal(t, "Job cancellation requested", m["message"])
	require.Contains(t, m, "created_at_iso")
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
	h.ownHistory()
	h.tc.On("GetWorkflowHistory", mock.Anything, workflows.JobWorkflowID(testJobID), "run-1", false,
		enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT).Return(historyWithInput(t, orig)).Once()
	h.tc.On("GetWorkflowHistory", mock.Anything, workflows.JobWorkflowID(testJobID), "run-1", false,
		enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT).Return(historyWithInput(t, orig)).Once()
	newID := workflows.RetryJobID(testJobID)
	want := orig
	want.JobID, want.RetryOf = newID, testJobID
	// The job from before tenants is the default tenant's; so is its retry.
	want.Tenancy = workflows.Tenancy{Tenant: workflows.DefaultTenant}
	h.tc.On("ExecuteWorkflow", mock.Anything, mock.MatchedBy(func(o client.StartWorkflowOptions) bool {
		st := o.Memo[workflows.MemoKey].(workflows.JobState)
		return o.ID == workflows.JobWorkflowID(newID) && o.TaskQueue == testQueue && st.RetryOf == testJobID &&
			tenantAttr(o) == workflows.DefaultTenant
	}), mock.MatchedBy(isJobWorkflow), want).Return(&mocks.WorkflowRun{}, nil).Once()

	rec := h.do(http.MethodPost, "/jobs/"+testJobID+"/retry", "", testKey)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	require.Equal(t, map[string]any{"job_id": newID, "original_job_id": testJobID, "retry_of": testJobID,
		"message": "Job retried as a new job"}, decodeBody(t, rec))
	require.Equal(t, "/jobs/"+newID, rec.Header().Get("Location"))

	// Repeating the request starts nothing new.
	h.tc.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
		Return(nil, serviceerror.NewWorkflowExecutionAlreadyStarted("started", "", "")).Once()
	rec = h.do(http.MethodPost, "/jobs/"+testJobID+"/retry", "", testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, map[string]any{"job_id": newID, "original_job_id": testJobID, "retry_of": testJobID, "cached": true,
		"message": "Job already retried"}, decodeBody(t, rec))
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
