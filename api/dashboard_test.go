package api

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riptide-dev/riptide/workflows"
)

// dashCounts answers every count query with a number derived from it:
// grouped queries are refused, as SQL visibility refuses GROUP BY
// RiptideStatus, so the per-status fallback is what runs.
func dashCounts(h *harness) {
	h.tc.On("CountWorkflow", mock.Anything, mock.Anything).Return(
		func(_ context.Context, r *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error) {
			q := r.GetQuery()
			n := int64(0)
			switch {
			case strings.Contains(q, "GROUP BY"):
				return nil, serviceerror.NewInvalidArgument("'group by' clause is only supported for ExecutionStatus search attribute")
			case q == "WorkflowType = 'Job'"+defaultScope:
				n = 40
			case strings.Contains(q, "RiptideStatus = 'Pending'"):
				n = 1
			case strings.Contains(q, "RiptideStatus = 'Processing'"):
				n = 2
			case strings.Contains(q, "RiptideStatus = 'Completed'"):
				n = 30
			case strings.Contains(q, "ExecutionStatus IN ('Failed'"):
				n = 5
			}
			return &workflowservice.CountWorkflowExecutionsResponse{Count: n}, nil
		})
}

func dashInfo(t *testing.T, id string, st workflows.JobState, status enumspb.WorkflowExecutionStatus, start, closed time.Time) *workflowpb.WorkflowExecutionInfo {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(st)
	require.NoError(t, err)
	info := &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: workflows.JobWorkflowID(id), RunId: "r"},
		Status:    status, StartTime: timestamppb.New(start),
		Memo: &commonpb.Memo{Fields: map[string]*commonpb.Payload{workflows.MemoKey: p}},
	}
	if !closed.IsZero() {
		info.CloseTime = timestamppb.New(closed)
	}
	return info
}

func TestDashboardStatsFieldsAndCache(t *testing.T) {
	h := newHarness(t, nil)
	dashCounts(h)
	now := time.Now().UTC()
	h.tc.On("ListWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.ListWorkflowExecutionsRequest) bool {
		return strings.Contains(r.GetQuery(), "RiptideStatus = 'Completed'")
	})).Return(&workflowservice.ListWorkflowExecutionsResponse{Executions: []*workflowpb.WorkflowExecutionInfo{
		dashInfo(t, "a", workflows.JobState{Status: workflows.StatusCompleted, FileSizeBytes: 3 << 30},
			enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, now.Add(-3*time.Second), now.Add(-time.Second)),
		dashInfo(t, "b", workflows.JobState{Status: workflows.StatusCompleted, FileSizeBytes: 1 << 29},
			enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, now.Add(-48*time.Hour), now.Add(-47*time.Hour)),
	}}, nil).Once()

	rec := h.do(http.MethodGet, "/dashboard/stats", "", testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	m := decodeBody(t, rec)
	require.Equal(t, map[string]any{
		"total_jobs": 40.0, "pending_jobs": 1.0, "processing_jobs": 2.0, "completed_jobs": 30.0, "failed_jobs": 5.0,
		"storage_used_bytes": float64(3<<30 + 1<<29), "storage_used_gb": 3.5, "client_name": "riptide",
		"avg_processing_time_seconds": 2.0, "today_throughput_bytes": float64(3<<30) * boolF(now.Add(-time.Second).Day() == now.Day()),
		"warning_jobs": 0.0, "skipped_jobs": 0.0, "cancelled_jobs": 0.0, "storage_partial": false,
	}, m)
	// Within the cache periods a second request reads nothing: the list
	// above is expected once, and the counts are not asked again.
	calls := len(h.tc.Calls)
	require.Equal(t, http.StatusOK, h.do(http.MethodGet, "/dashboard/stats", "", testKey).Code)
	require.Len(t, h.tc.Calls, calls)

	requireError(t, h.do(http.MethodGet, "/dashboard/stats?x=1", "", testKey), http.StatusBadRequest, codeUnknownField, "x")
	require.Equal(t, http.StatusUnauthorized, h.do(http.MethodGet, "/dashboard/stats", "", "").Code)
}

func boolF(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func TestDashboardJobsPageAndParams(t *testing.T) {
	h := newHarness(t, nil)
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	h.tc.On("CountWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.CountWorkflowExecutionsRequest) bool {
		return strings.Contains(r.GetQuery(), "RiptideStatus = 'Completed'")
	})).Return(&workflowservice.CountWorkflowExecutionsResponse{Count: 7}, nil).Once()
	h.tc.On("ListWorkflow", mock.Anything, mock.Anything).Return(&workflowservice.ListWorkflowExecutionsResponse{
		Executions: []*workflowpb.WorkflowExecutionInfo{
			dashInfo(t, testJobID, workflows.JobState{Status: workflows.StatusCompleted, URL: "https://x/v", Key: "k.mp4"},
				enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, start, start.Add(time.Minute)),
		}}, nil).Once()
	rec := h.do(http.MethodGet, "/dashboard/jobs?status=completed&limit=5", "", testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, map[string]any{
		"jobs": []any{map[string]any{"id": testJobID, "url": "https://x/v", "status": "Completed", "error": nil,
			"s3_key": "k.mp4", "created_at": float64(start.UnixMilli())}},
		"total": 7.0, "limit": 5.0, "offset": 0.0,
	}, decodeBody(t, rec))

	requireError(t, h.do(http.MethodGet, "/dashboard/jobs?limit=0", "", testKey), http.StatusBadRequest, codeInvalidField, "limit")
	requireError(t, h.do(http.MethodGet, "/dashboard/jobs?limit=101", "", testKey), http.StatusBadRequest, codeInvalidField, "limit")
	requireError(t, h.do(http.MethodGet, "/dashboard/jobs?offset=-1", "", testKey), http.StatusBadRequest, codeInvalidField, "offset")
	requireError(t, h.do(http.MethodGet, "/dashboard/jobs?offset=10001", "", testKey), http.StatusBadRequest, codeInvalidField, "offset")
	requireError(t, h.do(http.MethodGet, "/dashboard/jobs?status=done", "", testKey), http.StatusBadRequest, codeInvalidField, "status")
	requireError(t, h.do(http.MethodGet, "/dashboard/jobs?cursor=x", "", testKey), http.StatusBadRequest, codeUnknownField, "cursor")
}

func TestDashboardClusterBatchesDailyUsage(t *testing.T) {
	h := newHarness(t, nil)
	dashCounts(h)
	now := time.Now()
	h.tc.On("ListWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.ListWorkflowExecutionsRequest) bool {
		return strings.Contains(r.GetQuery(), "RiptideStatus = 'Processing'")
	})).Return(&workflowservice.ListWorkflowExecutionsResponse{Executions: []*workflowpb.WorkflowExecutionInfo{
		dashInfo(t, "a", workflows.JobState{Status: workflows.StatusProcessing, Step: workflows.StepMuxing},
			enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, now, time.Time{}),
	}}, nil).Once()
	rec := h.do(http.MethodGet, "/dashboard/cluster", "", testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, map[string]any{"total_downloading": 0.0, "total_muxing": 1.0, "total_uploading": 0.0, "partial": false}, decodeBody(t, rec))

	bs, err := converter.GetDefaultDataConverter().ToPayload(workflows.BatchState{BatchID: "b1", ShowURL: "https://x/feed",
		Folder: "f", Status: workflows.BatchRunning, Total: 4, Completed: 1})
	require.NoError(t, err)
	h.tc.On("ListWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.ListWorkflowExecutionsRequest) bool {
		return r.GetQuery() == "WorkflowType = 'Batch'"+defaultScope
	})).Return(&workflowservice.ListWorkflowExecutionsResponse{Executions: []*workflowpb.WorkflowExecutionInfo{{
		Execution: &commonpb.WorkflowExecution{WorkflowId: workflows.BatchWorkflowID("b1")},
		Status:    enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, StartTime: timestamppb.New(now),
		Memo: &commonpb.Memo{Fields: map[string]*commonpb.Payload{workflows.BatchMemoKey: bs}},
	}}}, nil).Once()
	rec = h.do(http.MethodGet, "/dashboard/batches", "", testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, map[string]any{"batches": []any{map[string]any{"id": "b1", "show_url": "https://x/feed", "folder": "f",
		"total_episodes": 4.0, "completed_episodes": 1.0, "failed_episodes": 0.0, "status": "processing",
		"created_at": float64(now.UnixMilli())}}}, decodeBody(t, rec))

	rec = h.do(http.MethodGet, "/dashboard/daily", "", testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	days := decodeBody(t, rec)["daily_stats"].([]any)
	require.Len(t, days, 7)
	require.Equal(t, map[string]any{"date": now.UTC().Format(time.DateOnly), "completed": 30.0, "failed": 5.0}, days[6])

	h.tc.On("ListWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.ListWorkflowExecutionsRequest) bool {
		return strings.Contains(r.GetQuery(), "RiptideStatus = 'Completed'")
	})).Return(&workflowservice.ListWorkflowExecutionsResponse{Executions: []*workflowpb.WorkflowExecutionInfo{
		dashInfo(t, "a", workflows.JobState{Status: workflows.StatusCompleted, FileSizeBytes: 1 << 30},
			enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, now.Add(-time.Minute), now),
	}}, nil).Once()
	rec = h.do(http.MethodGet, "/usage", "", testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	u := decodeBody(t, rec)
	month := time.Date(now.UTC().Year(), now.UTC().Month(), 1, 0, 0, 0, 0, time.UTC)
	require.Equal(t, map[string]any{
		"client_name": "riptide", "usage_count": 40.0, "storage_usage_gb": 1.0, "storage_limit_gb": nil,
		"storage_limit_bytes": nil, "storage_remaining_gb": nil,
		"billing_period_start": month.Format(time.RFC3339), "billing_period_end": month.AddDate(0, 1, 0).Format(time.RFC3339),
		"current_period_usage_gb": 1.0, "max_resolution_limit": nil, "max_duration_limit_seconds": nil,
		"max_filesize_limit_bytes": nil, "storage_usage_bytes": float64(1 << 30), "current_period_usage_bytes": float64(1 << 30),
	}, u)
}

// TestDashCacheServesStaleWhileOneRefreshRuns: once a value exists, no
// request waits for a recomputation, and only one runs at a time.
func TestDashCacheServesStaleWhileOneRefreshRuns(t *testing.T) {
	var c dashCache[int]
	clock := time.Unix(0, 0)
	now := func() time.Time { return clock }
	var calls atomic.Int32
	release := make(chan struct{})
	compute := func(context.Context) (int, error) {
		n := calls.Add(1)
		if n > 1 {
			<-release
		}
		return int(n), nil
	}
	v, err := c.getStale(now, time.Second, compute)
	require.NoError(t, err)
	require.Equal(t, 1, v)
	v, _ = c.getStale(now, time.Second, compute)
	require.Equal(t, 1, v, "fresh: no recomputation")
	require.Equal(t, int32(1), calls.Load())

	c.mu.Lock()
	clock = clock.Add(2 * time.Second)
	c.mu.Unlock()
	for range 5 {
		v, _ = c.getStale(now, time.Second, compute)
		require.Equal(t, 1, v, "stale value served at once")
	}
	require.Eventually(t, func() bool { return calls.Load() == 2 }, time.Second, time.Millisecond)
	close(release)
	require.Eventually(t, func() bool { v, _ := c.getStale(now, time.Second, compute); return v == 2 }, time.Second, time.Millisecond)
	require.Equal(t, int32(2), calls.Load(), "one refresh for all the stale reads")
}

// TestDashCacheRefreshesSlowFiguresLessOften: a value that took 3 s to
// compute is not refreshed before dashLoadFactor × 3 s, whatever its ttl.
func TestDashCacheRefreshesSlowFiguresLessOften(t *testing.T) {
	var c dashCache[int]
	var mu sync.Mutex
	clock := time.Unix(0, 0)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	var calls atomic.Int32
	compute := func(context.Context) (int, error) {
		advance(3 * time.Second)
		return int(calls.Add(1)), nil
	}
	_, err := c.getStale(now, time.Second, compute)
	require.NoError(t, err)
	advance(dashLoadFactor*3*time.Second - time.Second)
	v, _ := c.getStale(now, time.Second, compute)
	require.Equal(t, 1, v)
	require.Equal(t, int32(1), calls.Load(), "past its ttl but not past %d× its computation: no refresh", dashLoadFactor)
	advance(time.Second)
	_, _ = c.getStale(now, time.Second, compute)
	require.Eventually(t, func() bool { return calls.Load() == 2 }, time.Second, time.Millisecond)
}

// The API computes the slow storage sum as it starts, so the first
// dashboard request does not wait for every completed job's memo.
func TestDashboardWarmsItsSlowFiguresAtStart(t *testing.T) {
	h := newHarness(t, nil)
	dashCounts(h)
	listed := make(chan struct{})
	h.tc.On("ListWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.ListWorkflowExecutionsRequest) bool {
		return strings.Contains(r.GetQuery(), "RiptideStatus = 'Completed'")
	})).Return(&workflowservice.ListWorkflowExecutionsResponse{Executions: []*workflowpb.WorkflowExecutionInfo{
		dashInfo(t, "a", workflows.JobState{Status: workflows.StatusCompleted, FileSizeBytes: 1 << 30},
			enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, time.Now().Add(-time.Hour), time.Now().Add(-time.Hour)),
	}}, nil).Once().Run(func(mock.Arguments) { close(listed) })
	h.router = NewRouter(Deps{Temporal: h.tc, TaskQueue: testQueue, Store: h.store, Keys: []string{testKey},
		MaxBodyBytes: testMaxBytes, WarmDashboard: true})
	select {
	case <-listed:
	case <-time.After(10 * time.Second):
		t.Fatal("the router did not compute the storage sum before any request")
	}
	// The request finds the sum computed (the list is expected once).
	rec := h.do(http.MethodGet, "/dashboard/stats", "", testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, float64(1<<30), decodeBody(t, rec)["storage_used_bytes"])
}
