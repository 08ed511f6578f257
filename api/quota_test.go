package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"

	"github.com/riptide-dev/riptide/internal/tenants"
	"github.com/riptide-dev/riptide/workflows"
)

// limitedHarness is a router whose key keyB is tenant b's, with limits;
// b has stored stored bytes and runs running jobs.
func limitedHarness(t *testing.T, l workflows.TenantLimits, stored, running int64) *harness {
	t.Helper()
	h := newHarness(t, nil)
	set, err := tenants.Build(nil, &tenants.File{Tenants: []tenants.Tenant{{ID: "b", Keys: []string{tenants.HashKey(keyB)}, Limits: l}}})
	require.NoError(t, err)
	h.router = NewRouter(Deps{Temporal: h.tc, TaskQueue: testQueue, Store: h.store, Tenants: tenants.StaticSet(set), MaxBodyBytes: testMaxBytes})
	h.tc.On("ListWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.ListWorkflowExecutionsRequest) bool {
		return strings.Contains(r.GetQuery(), "RiptideStatus = 'Completed'") && strings.Contains(r.GetQuery(), "RiptideTenant = 'b'")
	})).Return(&workflowservice.ListWorkflowExecutionsResponse{Executions: []*workflowpb.WorkflowExecutionInfo{
		listInfo(t, jobB, workflows.JobState{JobID: jobB, Status: workflows.StatusCompleted, FileSizeBytes: stored}, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED),
	}}, nil).Maybe()
	h.tc.On("CountWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.CountWorkflowExecutionsRequest) bool {
		return r.GetQuery() == "WorkflowType = 'Job' AND RiptideTenant = 'b' AND ExecutionStatus = 'Running'"
	})).Return(&workflowservice.CountWorkflowExecutionsResponse{Count: running}, nil).Maybe()
	// GET /usage's counts.
	h.tc.On("CountWorkflow", mock.Anything, mock.Anything).Return(&workflowservice.CountWorkflowExecutionsResponse{Count: 1}, nil).Maybe()
	return h
}

// startedInput records the JobInput of a POST /jobs.
func startedInput(h *harness) *workflows.JobInput {
	var got workflows.JobInput
	run := &mocks.WorkflowRun{}
	run.On("GetID").Return("job-x").Maybe()
	run.On("GetRunID").Return("run-x").Maybe()
	h.tc.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
			got = args[0].(workflows.JobInput)
			return run, nil
		}).Maybe()
	return &got
}

func TestStorageQuotaIsTheReferences403(t *testing.T) {
	gb := int64(1 << 30)
	h := limitedHarness(t, workflows.TenantLimits{StorageBytes: 2 * gb}, 2*gb, 0)
	for _, p := range []struct{ path, body string }{
		{"/jobs", `{"url":"https://example.com/v.mp4"}`},
		{"/batches", `{"show_url":"https://example.com/feed.xml"}`},
		{"/jobs/bulk", `{"jobs":[{"url":"https://example.com/v.mp4"}]}`},
	} {
		rec := h.do(http.MethodPost, p.path, p.body, keyB)
		require.Equal(t, http.StatusForbidden, rec.Code, rec.Body.String())
		m := decodeBody(t, rec)
		require.Equal(t, "Storage quota exceeded", m["error"])
		require.EqualValues(t, 2, m["limit_gb"])
		require.EqualValues(t, 2, m["used_gb"])
		require.Contains(t, m["message"], "2.00 GB")
	}
	// A retry is a new job: refused alike.
	h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.JobWorkflowID(jobB), "").
		Return(describedAs(t, workflows.JobWorkflowID(jobB), "b"), nil).Once()
	rec := h.do(http.MethodPost, "/jobs/"+jobB+"/retry", "", keyB)
	require.Equal(t, http.StatusForbidden, rec.Code, rec.Body.String())
	require.Equal(t, "Storage quota exceeded", decodeBody(t, rec)["error"])
	require.Equal(t, schemaKeys(t, "QuotaExceeded"), jsonKeys(t, quotaExceeded{}))
	h.tc.AssertNotCalled(t, "ExecuteWorkflow")
	// GET /usage reports the limit and what remains.
	u := decodeBody(t, h.do(http.MethodGet, "/usage", "", keyB))
	require.Equal(t, "b", u["client_name"])
	require.EqualValues(t, 2*gb, u["storage_limit_bytes"])
	require.EqualValues(t, 0, u["storage_remaining_gb"])
}

func TestUnderQuotaTheJobCarriesItsTenancy(t *testing.T) {
	h := limitedHarness(t, workflows.TenantLimits{StorageBytes: 1000, MaxFileSizeBytes: 500, MaxResolution: 720, MaxDurationSeconds: 60}, 10, 0)
	in := startedInput(h)
	rec := h.do(http.MethodPost, "/jobs", `{"url":"https://example.com/v.mp4"}`, keyB)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	require.Equal(t, "b", in.Tenant)
	require.Equal(t, &workflows.TenantLimits{StorageBytes: 1000, MaxFileSizeBytes: 500, MaxResolution: 720, MaxDurationSeconds: 60,
		StorageUsedBytes: 10}, in.Limits)
	require.Equal(t, 720, in.MaxHeight, "the tenant's resolution limit applies")
	require.Equal(t, 60, in.MaxDuration, "the tenant's duration limit applies")
	rec = h.do(http.MethodPost, "/jobs", `{"url":"https://example.com/v.mp4","max_resolution":480,"max_duration":30}`, keyB)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	require.Equal(t, 480, in.MaxHeight)
	require.Equal(t, 30, in.MaxDuration)
	requireError(t, h.do(http.MethodPost, "/jobs", `{"url":"https://example.com/v.mp4","max_resolution":1080}`, keyB),
		http.StatusForbidden, codeLimitExceeded, "max_resolution")
	requireError(t, h.do(http.MethodPost, "/jobs", `{"url":"https://example.com/v.mp4","max_duration":61}`, keyB),
		http.StatusForbidden, codeLimitExceeded, "max_duration")
	u := decodeBody(t, h.do(http.MethodGet, "/usage", "", keyB))
	require.Equal(t, "720p", u["max_resolution_limit"])
	require.EqualValues(t, 60, u["max_duration_limit_seconds"])
	require.EqualValues(t, 500, u["max_filesize_limit_bytes"])
}

func TestConcurrentJobsAnswer429(t *testing.T) {
	h := limitedHarness(t, workflows.TenantLimits{ConcurrentJobs: 3}, 0, 3)
	rec := h.do(http.MethodPost, "/jobs", `{"url":"https://example.com/v.mp4"}`, keyB)
	requireError(t, rec, http.StatusTooManyRequests, codeConcurrentExceeded, "")
	require.Equal(t, "10", rec.Header().Get("Retry-After"))
	h.tc.AssertNotCalled(t, "ExecuteWorkflow")
	h2 := limitedHarness(t, workflows.TenantLimits{ConcurrentJobs: 3}, 0, 1)
	// Two items fit, three do not.
	requireError(t, h2.do(http.MethodPost, "/jobs/bulk", `{"jobs":[{"url":"https://example.com/1.mp4"},{"url":"https://example.com/2.mp4"},{"url":"https://example.com/3.mp4"}]}`, keyB),
		http.StatusTooManyRequests, codeConcurrentExceeded, "")
}
