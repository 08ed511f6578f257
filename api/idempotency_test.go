package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/mocks"

	"github.com/riptide-dev/riptide/workflows"
)

func (h *harness) doWithKey(body, idemKey string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/jobs", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(apiKeyHeader, testKey)
	req.Header.Set(idempotencyHeader, idemKey)
	rec := httptest.NewRecorder()
	h.router.ServeHTTP(rec, req)
	return rec
}

func TestIdempotentJobID(t *testing.T) {
	a := idempotentJobID("key-a", "order-1")
	require.Equal(t, a, idempotentJobID("key-a", "order-1"), "stable")
	require.NotEqual(t, a, idempotentJobID("key-a", "order-2"))
	require.NotEqual(t, a, idempotentJobID("key-b", "order-1"), "per API key")
	_, ok := parseJobID(a)
	require.True(t, ok, "a job id like any other")
}

func TestRequestDigestIgnoresSpelling(t *testing.T) {
	x, e := decodeJobRequest(strings.NewReader(`{"url":"https://example.com/v","format":"mp4"}`), nil)
	require.Nil(t, e)
	y, e := decodeJobRequest(strings.NewReader(`{ "format" : "mp4", "url":"https://example.com/v" }`), nil)
	require.Nil(t, e)
	z, e := decodeJobRequest(strings.NewReader(`{"url":"https://example.com/v","folder":"a"}`), nil)
	require.Nil(t, e)
	require.Equal(t, requestDigest(x), requestDigest(y))
	require.NotEqual(t, requestDigest(x), requestDigest(z))
}

func TestCreateJobIdempotencyKey(t *testing.T) {
	h := newHarness(t, nil)
	body := `{"url":"https://example.com/v"}`
	jobID := idempotentJobID(testKey, "order-42")
	in, e := decodeJobRequest(strings.NewReader(body), nil)
	require.Nil(t, e)
	digest := requestDigest(in)

	// First request: starts the job under the derived id, digest in memo.
	run := &mocks.WorkflowRun{}
	run.On("GetID").Return(workflows.JobWorkflowID(jobID)).Maybe()
	run.On("GetRunID").Return("run-1").Maybe()
	h.tc.On("ExecuteWorkflow", mock.Anything, mock.MatchedBy(func(o client.StartWorkflowOptions) bool {
		return o.ID == workflows.JobWorkflowID(jobID) && o.Memo[workflows.RequestMemoKey] == digest &&
			o.WorkflowExecutionErrorWhenAlreadyStarted
	}), mock.Anything, mock.Anything).Return(run, nil).Once()
	rec := h.doWithKey(body, "order-42")
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	require.Equal(t, jobID, decodeBody(t, rec)["job_id"])

	// Repeats: Temporal rejects the duplicate ID; the memo decides.
	h.tc.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
		Return(nil, serviceerror.NewWorkflowExecutionAlreadyStarted("dup", "", "")).Twice()
	p, err := converter.GetDefaultDataConverter().ToPayload(digest)
	require.NoError(t, err)
	h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.JobWorkflowID(jobID), "").Return(
		&workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
			Memo: &commonpb.Memo{Fields: map[string]*commonpb.Payload{workflows.RequestMemoKey: p}},
		}}, nil).Twice()

	rec = h.doWithKey(`{ "url" : "https://example.com/v" }`, "order-42")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	m := decodeBody(t, rec)
	require.Equal(t, jobID, m["job_id"])
	require.Equal(t, true, m["cached"])

	rec = h.doWithKey(`{"url":"https://example.com/other"}`, "order-42")
	requireError(t, rec, http.StatusConflict, codeIdempotencyConflict, idempotencyHeader)
}

func TestCreateJobRejectsBadIdempotencyKeys(t *testing.T) {
	h := newHarness(t, nil)
	for _, k := range []string{"", strings.Repeat("k", 256), "tab\tkey", "é-key", "nul\x00"} {
		rec := h.doWithKey(`{"url":"https://example.com/v"}`, k)
		requireError(t, rec, http.StatusBadRequest, codeInvalidField, idempotencyHeader)
	}
	h.tc.AssertNumberOfCalls(t, "ExecuteWorkflow", 0)
}
