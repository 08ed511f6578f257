package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
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

const (
	testKey      = "sk_test_0123456789"
	otherKey     = "sk_other_key"
	testQueue    = "riptide-test"
	testJobID    = "550e8400-e29b-41d4-a716-446655440000"
	testMaxBytes = 4096
	// defaultScope ends every visibility query of the default tenant's
	// keys (jobs.TenantClause).
	defaultScope = " AND (RiptideTenant = 'default' OR RiptideTenant IS NULL)"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// fakeStore signs URLs with a counter, so each signature is visibly fresh.
type fakeStore struct {
	signed   atomic.Int64
	pingErr  error
	panics   bool
	manifest []byte
}

func (f *fakeStore) PresignGet(_ context.Context, key string) (string, error) {
	if f.panics {
		panic("presign exploded")
	}
	return fmt.Sprintf("https://s3.test/bucket/%s?X-Amz-Signature=%d", key, f.signed.Add(1)), nil
}

func (f *fakeStore) Ping(context.Context) error { return f.pingErr }

// GetObject serves manifest for every batch manifest key.
func (f *fakeStore) GetObject(_ context.Context, key string) ([]byte, error) {
	if f.manifest == nil || !strings.HasPrefix(key, workflows.ManifestPrefix) {
		return nil, errors.New("no such object")
	}
	return f.manifest, nil
}

type harness struct {
	router http.Handler
	tc     *mocks.Client
	store  *fakeStore
	logs   *bytes.Buffer
}

func newHarness(t *testing.T, tools map[string]string) *harness {
	t.Helper()
	h := &harness{tc: &mocks.Client{}, store: &fakeStore{}, logs: &bytes.Buffer{}}
	h.router = NewRouter(Deps{
		Temporal:     h.tc,
		TaskQueue:    testQueue,
		Store:        h.store,
		Keys:         []string{otherKey, testKey},
		MaxBodyBytes: testMaxBytes,
		Logger:       slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Tools:        tools,
	})
	// GET /jobs/{id} reads the job's history for its per-stage figures;
	// tests that do not look at them get an empty one.
	h.tc.On("GetWorkflowHistory", mock.Anything, mock.Anything, mock.Anything, false,
		enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT).Return(&historyIterator{}).Maybe()
	// Nor has any job's file been deleted (DELETE /jobs/{id}/file), unless
	// a test says so: its own expectations come after these.
	h.tc.On("DescribeWorkflowExecution", mock.Anything, mock.MatchedBy(isFileDeletion), "").
		Return(nil, serviceerror.NewNotFound("no deletion")).Maybe()
	h.tc.On("ListWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.ListWorkflowExecutionsRequest) bool {
		return strings.Contains(r.GetQuery(), workflows.DeleteFileWorkflowType)
	})).Return(&workflowservice.ListWorkflowExecutionsResponse{}, nil).Maybe()
	// Nor has the tenant saved a storage (POST /user/*).
	h.tc.On("DescribeWorkflow", mock.Anything, mock.MatchedBy(func(id string) bool { return strings.HasPrefix(id, "tenant-") }), "").
		Return(nil, serviceerror.NewNotFound("no tenant")).Maybe()
	t.Cleanup(func() { h.tc.AssertExpectations(t) })
	return h
}

func isFileDeletion(id string) bool { return strings.HasSuffix(id, "/file-deleted") }

// ownHistory drops the harness's empty history, for a test that
// expects its own reads of it.
func (h *harness) ownHistory() {
	calls := h.tc.ExpectedCalls[:0]
	for _, c := range h.tc.ExpectedCalls {
		if c.Method != "GetWorkflowHistory" {
			calls = append(calls, c)
		}
	}
	h.tc.ExpectedCalls = calls
}

// historyIterator serves a fixed history.
type historyIterator struct{ events []*historypb.HistoryEvent }

func (it *historyIterator) HasNext() bool { return len(it.events) > 0 }

func (it *historyIterator) Next() (*historypb.HistoryEvent, error) {
	e := it.events[0]
	it.events = it.events[1:]
	return e, nil
}

func (h *harness) do(method, path, body, key string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set(apiKeyHeader, key)
	}
	rec := httptest.NewRecorder()
	h.router.ServeHTTP(rec, req)
	return rec
}

func decodeBody(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	require.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"), rec.Body.String())
	var m map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &m), rec.Body.String())
	return m
}

func requireError(t *testing.T, rec *httptest.ResponseRecorder, status int, code, field string) map[string]any {
	t.Helper()
	require.Equal(t, status, rec.Code, rec.Body.String())
	m := decodeBody(t, rec)
	require.Equal(t, code, m["code"], rec.Body.String())
	require.NotEmpty(t, m["error"], "the human-readable message")
	require.Equal(t, m["error"], m["message"], "message repeats error for earlier clients")
	if field == "" {
		require.NotContains(t, m, "field")
	} else {
		require.Equal(t, field, m["field"], rec.Body.String())
	}
	return m
}

func TestAuth(t *testing.T) {
	h := newHarness(t, nil)
	for _, tc := range []struct{ method, path, key string }{
		{http.MethodPost, "/jobs", ""},
		{http.MethodPost, "/jobs", "sk_wrong"},
		{http.MethodPost, "/jobs", testKey + "x"},
		{http.MethodPost, "/jobs", testKey[:len(testKey)-1]},
		{http.MethodGet, "/jobs/" + testJobID, ""},
		{http.MethodGet, "/jobs/" + testJobID, "sk_wrong"},
		{http.MethodGet, "/jobs/not-a-uuid", ""},
		{http.MethodGet, "/nowhere", ""},
		{http.MethodPost, "/healthz", ""},
	} {
		t.Run(tc.method+" "+tc.path+" key="+tc.key, func(t *testing.T) {
			rec := h.do(tc.method, tc.path, `{"url":"https://example.com/v"}`, tc.key)
			m := requireError(t, rec, http.StatusUnauthorized, codeUnauthorized, "")
			want := "Invalid API Key"
			if tc.key == "" {
				want = "Missing x-api-key header"
			}
			require.Equal(t, want, m["error"], "the hosted service's wording")
		})
	}
	h.tc.AssertNumberOfCalls(t, "ExecuteWorkflow", 0)
	h.tc.AssertNumberOfCalls(t, "DescribeWorkflowExecution", 0)
}

func TestAuthAcceptsEveryConfiguredKey(t *testing.T) {
	h := newHarness(t, nil)
	h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.JobWorkflowID(testJobID), "").
		Return(nil, serviceerror.NewNotFound("no")).Twice()
	for _, key := range []string{testKey, otherKey} {
		rec := h.do(http.MethodGet, "/jobs/"+testJobID, "", key)
		requireError(t, rec, http.StatusNotFound, codeNotFound, "")
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	h := newHarness(t, nil)
	requireError(t, h.do(http.MethodGet, "/nowhere", "", testKey), http.StatusNotFound, codeNotFound, "")
	requireError(t, h.do(http.MethodPut, "/jobs/"+testJobID, "", testKey), http.StatusMethodNotAllowed, codeMethodNotAllowed, "")
}

// isJobWorkflow matches the workflow argument of ExecuteWorkflow: functions
// are not comparable, so compare their code pointers.
func isJobWorkflow(fn any) bool {
	return reflect.ValueOf(fn).Pointer() == reflect.ValueOf(workflows.Job).Pointer()
}

func TestCreateJobStartsWorkflow(t *testing.T) {
	h := newHarness(t, nil)
	before := time.Now()
	run := &mocks.WorkflowRun{}
	run.On("GetID").Return("job-x").Maybe()
	run.On("GetRunID").Return("run-x").Maybe()

	// The matchers record the job id each argument carries; they must all
	// be the id the response returns.
	var optionsJobID, inputJobID string
	ctxOK := func(ctx context.Context) bool {
		deadline, ok := ctx.Deadline()
		return ok && time.Until(deadline) <= temporalTimeout && time.Until(deadline) > temporalTimeout-5*time.Second
	}
	optionsOK := func(o client.StartWorkflowOptions) bool {
		optionsJobID = strings.TrimPrefix(o.ID, "job-")
		st, ok := o.Memo[workflows.MemoKey].(workflows.JobState)
		return ok && len(o.Memo) == 1 &&
			o.ID == workflows.JobWorkflowID(optionsJobID) &&
			o.TaskQueue == testQueue &&
			o.WorkflowIDReusePolicy == enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE &&
			tenantAttr(o) == workflows.DefaultTenant &&
			reflect.DeepEqual(st, workflows.JobState{
				JobID:     optionsJobID,
				URL:       "https://www.youtube.com/watch?v=abc&t=1",
				Folder:    "shows/season 1",
				Status:    workflows.StatusPending,
				Step:      workflows.StepQueued,
				UpdatedAt: st.UpdatedAt,
			}) &&
			!st.UpdatedAt.Before(before.Add(-time.Second)) && st.UpdatedAt.Before(time.Now().Add(time.Second))
	}
	inputOK := func(in workflows.JobInput) bool {
		inputJobID = in.JobID
		parsed, err := uuid.Parse(in.JobID)
		return err == nil && parsed.Version() == 4 && parsed.String() == in.JobID &&
			reflect.DeepEqual(in, workflows.JobInput{
				JobID:                 in.JobID,
				URL:                   "https://www.youtube.com/watch?v=abc&t=1",
				WebhookURL:            "https://hooks.example.com/riptide",
				Folder:                "shows/season 1",
				EnableProgressWebhook: true,
				DownloadSubtitles:     true,
				Format:                "mkv",
				Tenancy:               workflows.Tenancy{Tenant: workflows.DefaultTenant},
			})
	}
	h.tc.On("ExecuteWorkflow",
		mock.MatchedBy(ctxOK),
		mock.MatchedBy(optionsOK),
		mock.MatchedBy(isJobWorkflow),
		mock.MatchedBy(inputOK),
	).Return(run, nil).Once()

	rec := h.do(http.MethodPost, "/jobs", `{
		"url": "https://www.youtube.com/watch?v=abc&t=1",
		"webhook_url": "https://hooks.example.com/riptide",
		"folder": "shows/season 1/",
		"enable_progress_webhook": true,
		"download_subtitles": true,
		"format": "mkv"
	}`, testKey)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	m := decodeBody(t, rec)
	require.Equal(t, map[string]any{"job_id": inputJobID}, m)
	require.Equal(t, inputJobID, optionsJobID)
	require.Equal(t, "/jobs/"+inputJobID, rec.Header().Get("Location"))
}

// tenantAttr is the RiptideTenant search attribute a start sets.
func tenantAttr(o client.StartWorkflowOptions) string {
	v, _ := o.TypedSearchAttributes.GetKeyword(workflows.TenantKey)
	return v
}

func TestCreateJobDefaults(t *testing.T) {
	h := newHarness(t, nil)
	run := &mocks.WorkflowRun{}
	run.On("GetID").Return("job-x").Maybe()
	run.On("GetRunID").Return("run-x").Maybe()
	h.tc.On("ExecuteWorkflow", mock.Anything,
		mock.MatchedBy(func(o client.StartWorkflowOptions) bool {
			return o.WorkflowIDReusePolicy == enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE && o.TaskQueue == testQueue
		}),
		mock.MatchedBy(isJobWorkflow),
		mock.MatchedBy(func(in workflows.JobInput) bool {
			return in.URL == "http://example.com/a.mp4" && in.Format == "mp4" && in.Folder == "" &&
				in.WebhookURL == "" && !in.EnableProgressWebhook && !in.DownloadSubtitles
		}),
	).Return(run, nil).Once()

	rec := h.do(http.MethodPost, "/jobs", `{"url":"http://example.com/a.mp4","enable_progress_webhook":null}`, testKey)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
}

func TestCreateJobTemporalDown(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{serviceerror.NewUnavailable("connection refused"), http.StatusServiceUnavailable, codeTemporalUnavailable},
		{serviceerror.NewDeadlineExceeded("slow"), http.StatusServiceUnavailable, codeTemporalUnavailable},
		{fmt.Errorf("start: %w", context.DeadlineExceeded), http.StatusServiceUnavailable, codeTemporalUnavailable},
		{serviceerror.NewWorkflowExecutionAlreadyStarted("dup", "", ""), http.StatusConflict, codeConflict},
		{serviceerror.NewNamespaceNotFound("nope"), http.StatusInternalServerError, codeInternal},
	} {
		t.Run(tc.err.Error(), func(t *testing.T) {
			h := newHarness(t, nil)
			h.tc.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(nil, tc.err).Once()
			rec := h.do(http.MethodPost, "/jobs", `{"url":"https://example.com/v"}`, testKey)
			requireError(t, rec, tc.status, tc.code, "")
		})
	}
}

// describeResponse is a finished job's DescribeWorkflowExecution answer.
func describeResponse(t *testing.T, st workflows.JobState) *workflowservice.DescribeWorkflowExecutionResponse {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(st)
	require.NoError(t, err)
	start := time.Date(2026, 1, 19, 6, 0, 0, 0, time.UTC)
	return &workflowservice.DescribeWorkflowExecutionResponse{
		WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
			Execution: &commonpb.WorkflowExecution{WorkflowId: workflows.JobWorkflowID(testJobID), RunId: "run-1"},
			StartTime: timestamppb.New(start),
			CloseTime: timestamppb.New(start.Add(time.Minute)),
			Status:    enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
			Memo:      &commonpb.Memo{Fields: map[string]*commonpb.Payload{workflows.MemoKey: p}},
		},
	}
}

func TestGetJobSignsFreshURL(t *testing.T) {
	h := newHarness(t, nil)
	st := workflows.JobState{
		JobID: testJobID, URL: "https://example.com/v", Status: workflows.StatusCompleted, Step: workflows.StepFinished,
		ProgressPercent: 100, Key: "videos/my-video-550e8400.mp4", FileSizeBytes: 42, Title: "My Video",
		UpdatedAt: time.Date(2026, 1, 19, 6, 1, 0, 0, time.UTC),
	}
	h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.JobWorkflowID(testJobID), "").
		Return(describeResponse(t, st), nil).Twice()

	var urls []any
	for range 2 {
		// Upper case ids are the same job.
		rec := h.do(http.MethodGet, "/jobs/"+strings.ToUpper(testJobID), "", testKey)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		m := decodeBody(t, rec)
		require.Equal(t, testJobID, m["id"])
		require.Equal(t, workflows.StatusCompleted, m["status"])
		require.Equal(t, workflows.StepFinished, m["step"])
		require.EqualValues(t, 100, m["progress_percent"])
		require.Equal(t, "videos/my-video-550e8400.mp4", m["key"])
		require.EqualValues(t, 42, m["file_size_bytes"])
		require.Equal(t, "2026-01-19T06:01:00Z", m["completed_at"])
		require.Contains(t, m, "subtitle_key")
		require.Nil(t, m["subtitle_key"])
		urls = append(urls, m["s3_url"])
	}
	require.Equal(t, "https://s3.test/bucket/videos/my-video-550e8400.mp4?X-Amz-Signature=1", urls[0])
	require.Equal(t, "https://s3.test/bucket/videos/my-video-550e8400.mp4?X-Amz-Signature=2", urls[1])
}

// GET /jobs/{id} answers the hosted service's fields with its types beside
// riptide's own.
func TestGetJobReferenceFields(t *testing.T) {
	h := newHarness(t, nil)
	st := workflows.JobState{
		JobID: testJobID, URL: "https://example.com/v", Status: workflows.StatusCompleted, Step: workflows.StepFinished,
		ProgressPercent: 100, Key: "videos/v.mp4", SubtitleKey: "videos/v.en.vtt", ThumbnailKey: "videos/v.jpg",
		FileSizeBytes: 42, UpdatedAt: time.Date(2026, 1, 19, 6, 1, 0, 0, time.UTC),
	}
	h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.JobWorkflowID(testJobID), "").
		Return(describeResponse(t, st), nil).Once()
	rec := h.do(http.MethodGet, "/jobs/"+testJobID, "", testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &raw))
	// Epoch milliseconds and bytes are JSON integers.
	require.Equal(t, "1768802400000", string(raw["created_at"]))
	require.Equal(t, "1768802460000", string(raw["finished_at"]))
	require.Equal(t, "42", string(raw["file_size"]))
	require.Equal(t, "42", string(raw["file_size_bytes"]))
	m := decodeBody(t, rec)
	require.Equal(t, "2026-01-19T06:00:00Z", m["created_at_iso"])
	require.Equal(t, "2026-01-19T06:01:00Z", m["completed_at"])
	require.Equal(t, "videos/v.mp4", m["s3_key"])
	require.Contains(t, m["s3_url"], "videos/v.mp4?X-Amz-Signature=")
	require.Contains(t, m["subtitle_url"], "videos/v.en.vtt?X-Amz-Signature=")
	require.Contains(t, m["thumbnail_url"], "videos/v.jpg?X-Amz-Signature=")
	require.Contains(t, m, "error_type")
	require.Nil(t, m["error_type"])
	require.Contains(t, m, "batch_id")
	require.Nil(t, m["batch_id"])
}

// GET /jobs/{id} computes the per-stage figures from the job's history.
func TestGetJobStagesFromHistory(t *testing.T) {
	h := newHarness(t, nil)
	h.ownHistory()
	st := workflows.JobState{JobID: testJobID, URL: "https://example.com/v", Status: workflows.StatusCompleted,
		Step: workflows.StepFinished, Key: "videos/v.mp4", FileSizeBytes: 42}
	h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.JobWorkflowID(testJobID), "").
		Return(describeResponse(t, st), nil).Once()
	start := time.Date(2026, 1, 19, 6, 0, 0, 0, time.UTC)
	at := func(s int) *timestamppb.Timestamp { return timestamppb.New(start.Add(time.Duration(s) * time.Second)) }
	result, err := converter.GetDefaultDataConverter().ToPayloads(workflows.DownloadResult{Bytes: 4_000_000})
	require.NoError(t, err)
	events := []*historypb.HistoryEvent{
		{EventId: 1, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, EventTime: at(0)},
		{EventId: 5, EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, EventTime: at(1),
			Attributes: &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
				ActivityType: &commonpb.ActivityType{Name: workflows.Download.Name()}}}},
		{EventId: 6, EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED, EventTime: at(2),
			Attributes: &historypb.HistoryEvent_ActivityTaskStartedEventAttributes{ActivityTaskStartedEventAttributes: &historypb.ActivityTaskStartedEventAttributes{
				ScheduledEventId: 5, Attempt: 2}}},
		{EventId: 7, EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, EventTime: at(4),
			Attributes: &historypb.HistoryEvent_ActivityTaskCompletedEventAttributes{ActivityTaskCompletedEventAttributes: &historypb.ActivityTaskCompletedEventAttributes{
				ScheduledEventId: 5, Result: result}}},
	}
	h.tc.On("GetWorkflowHistory", mock.Anything, workflows.JobWorkflowID(testJobID), "run-1", false,
		enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT).Return(&historyIterator{events: events}).Once()
	rec := h.do(http.MethodGet, "/jobs/"+testJobID, "", testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &raw))
	for k, want := range map[string]string{
		"download_duration_ms": "3000", "download_retries": "1", "download_speed_mbps": "16", "queue_wait_ms": "1000",
		"total_duration_ms": "60000", "mux_duration_ms": "null", "upload_duration_ms": "null", "upload_retries": "null",
		"upload_speed_mbps": "null",
	} {
		require.Equal(t, want, string(raw[k]), k)
	}
}

func TestGetJobWithoutKeyHasNullURL(t *testing.T) {
	h := newHarness(t, nil)
	st := workflows.JobState{JobID: testJobID, URL: "https://example.com/v", Status: workflows.StatusWarning,
		Step: workflows.StepFinished, Error: "Private video"}
	h.tc.On("DescribeWorkflowExecution", mock.Anything, mock.Anything, "").Return(describeResponse(t, st), nil).Once()
	rec := h.do(http.MethodGet, "/jobs/"+testJobID, "", testKey)
	require.Equal(t, http.StatusOK, rec.Code)
	m := decodeBody(t, rec)
	require.Contains(t, m, "s3_url")
	require.Nil(t, m["s3_url"])
	require.Equal(t, "Private video", m["error"])
	require.Equal(t, "warning", m["error_type"])
	require.Nil(t, m["subtitle_url"])
	require.EqualValues(t, 0, h.store.signed.Load())
}

func TestGetJobNotFound(t *testing.T) {
	h := newHarness(t, nil)
	h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.JobWorkflowID(testJobID), "").
		Return(nil, serviceerror.NewNotFound("workflow not found")).Once()
	requireError(t, h.do(http.MethodGet, "/jobs/"+testJobID, "", testKey), http.StatusNotFound, codeNotFound, "")
}

func TestGetJobTemporalDown(t *testing.T) {
	h := newHarness(t, nil)
	h.tc.On("DescribeWorkflowExecution", mock.Anything, mock.Anything, "").
		Return(nil, serviceerror.NewUnavailable("connection refused")).Once()
	requireError(t, h.do(http.MethodGet, "/jobs/"+testJobID, "", testKey), http.StatusServiceUnavailable, codeTemporalUnavailable, "")
}

func TestGetJobBadID(t *testing.T) {
	h := newHarness(t, nil)
	for _, id := range []string{
		"not-a-uuid",
		"123",
		"550e8400e29b41d4a716446655440000",       // no hyphens
		"{550e8400-e29b-41d4-a716-446655440000}", // braces
		"urn:uuid:550e8400-e29b-41d4-a716-446655440000", // URN
		"550e8400-e29b-41d4-a716-44665544000z",
		"550e8400-e29b-41d4-a716-4466554400000",
		"..",
		"550e8400-e29b-41d4-a716-44665544%2000",
	} {
		t.Run(id, func(t *testing.T) {
			rec := h.do(http.MethodGet, "/jobs/"+id, "", testKey)
			requireError(t, rec, http.StatusBadRequest, codeInvalidField, "id")
		})
	}
	h.tc.AssertNumberOfCalls(t, "DescribeWorkflowExecution", 0)
}

func TestPanicBecomesJSON500(t *testing.T) {
	h := newHarness(t, nil)
	h.store.panics = true
	st := workflows.JobState{JobID: testJobID, Status: workflows.StatusCompleted, Step: workflows.StepFinished, Key: "k.mp4"}
	h.tc.On("DescribeWorkflowExecution", mock.Anything, mock.Anything, "").Return(describeResponse(t, st), nil).Once()
	requireError(t, h.do(http.MethodGet, "/jobs/"+testJobID, "", testKey), http.StatusInternalServerError, codeInternal, "")
	require.Contains(t, h.logs.String(), "presign exploded")
}

func TestLogsNeverHoldTheKey(t *testing.T) {
	h := newHarness(t, nil)
	h.tc.On("DescribeWorkflowExecution", mock.Anything, mock.Anything, "").Return(nil, errors.New("boom")).Once()
	h.do(http.MethodGet, "/jobs/"+testJobID, "", testKey)
	h.do(http.MethodPost, "/jobs", `{`, testKey)
	h.do(http.MethodPost, "/jobs", `{}`, "sk_wrong_guess")
	logs := h.logs.String()
	require.Contains(t, logs, `"path":"/jobs"`)
	require.Contains(t, logs, `"status":401`)
	require.NotContains(t, logs, testKey)
	require.NotContains(t, logs, "sk_wrong_guess")
	require.NotContains(t, logs, apiKeyHeader)
}

// schemaKeys are the properties the OpenAPI document lists for a
// components schema.
func schemaKeys(t *testing.T, schema string) []string {
	t.Helper()
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(openAPIDoc, &doc))
	s, ok := doc.Components.Schemas[schema]
	require.True(t, ok, schema)
	keys := make([]string, 0, len(s.Properties))
	for k := range s.Properties {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// jsonKeys are the top-level keys of v marshalled.
func jsonKeys(t *testing.T, v any) []string {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &m))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestOpenAPIJobSchemaMatchesTheView(t *testing.T) {
	require.Equal(t, jsonKeys(t, jobs.Placeholder(testJobID, workflows.StatusPending, "")), schemaKeys(t, "Job"))
}
