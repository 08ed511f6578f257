package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
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
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/mocks"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riptide-dev/riptide/internal/batches"
	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/workflows"
)

const testBatchID = "6a1e2f7c-3b4d-4e5f-8a9b-0c1d2e3f4a5b"

func isBatchWorkflow(fn any) bool {
	return reflect.ValueOf(fn).Pointer() == reflect.ValueOf(workflows.Batch).Pointer()
}

func batchDescribe(t *testing.T, id string, status enumspb.WorkflowExecutionStatus, st workflows.BatchState) *workflowservice.DescribeWorkflowExecutionResponse {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(st)
	require.NoError(t, err)
	start := time.Date(2026, 1, 19, 6, 0, 0, 0, time.UTC)
	info := &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: workflows.BatchWorkflowID(id), RunId: "run-1"},
		StartTime: timestamppb.New(start),
		Status:    status,
		Memo:      &commonpb.Memo{Fields: map[string]*commonpb.Payload{workflows.BatchMemoKey: p}},
	}
	if status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		info.CloseTime = timestamppb.New(start.Add(time.Hour))
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: info}
}

// encoded is a query answer.
type encoded struct{ v any }

func (e encoded) HasValue() bool { return true }
func (e encoded) Get(ptr any) error {
	b, err := json.Marshal(e.v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, ptr)
}

func newBatchHarness(t *testing.T) *harness {
	h := newHarness(t, nil)
	h.router = NewRouter(Deps{
		Temporal: h.tc, TaskQueue: testQueue, Store: h.store, Keys: []string{testKey}, MaxBodyBytes: testMaxBytes,
		BatchWindow: 7, BatchPageSize: 300, BatchListWait: 300 * time.Millisecond,
	})
	return h
}

// isBatchStart matches the options every batch start uses: a new batch
// ID, never reused; a retried start joins the running batch.
func isBatchStart(o client.StartWorkflowOptions) bool {
	return o.TaskQueue == testQueue && o.WorkflowIDReusePolicy == enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE &&
		o.WorkflowIDConflictPolicy == enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
}

// expectUpdateWithStart expects the batch's start with its listed update,
// answered by answer (which gets the update call's context and the batch
// ID), and returns the batch's input as the API built it.
func expectUpdateWithStart(t *testing.T, h *harness, showURL string, answer func(ctx context.Context, id string) (*workflows.BatchState, error)) *workflows.BatchInput {
	var got workflows.BatchInput
	h.tc.On("NewWithStartWorkflowOperation", mock.MatchedBy(isBatchStart), mock.MatchedBy(isBatchWorkflow),
		mock.MatchedBy(func(in workflows.BatchInput) bool {
			got = in
			return in.ShowURL == showURL
		})).Return(nil).Once()
	h.tc.On("UpdateWithStartWorkflow", mock.Anything, mock.MatchedBy(func(o client.UpdateWithStartWorkflowOptions) bool {
		return o.UpdateOptions.UpdateName == workflows.BatchListedUpdate &&
			o.UpdateOptions.WaitForStage == client.WorkflowUpdateStageCompleted
	})).Return(func(ctx context.Context, _ client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error) {
		st, err := answer(ctx, got.BatchID)
		if err != nil {
			return nil, err
		}
		handle := &mocks.WorkflowUpdateHandle{}
		handle.On("Get", mock.Anything, mock.Anything).Run(func(args mock.Arguments) {
			*args.Get(1).(*workflows.BatchState) = *st
		}).Return(nil)
		return handle, nil
	}).Once()
	return &got
}

// expectBatchStart expects one Batch start on a cluster that refuses
// update-with-start, and answers the describe calls of the polling that
// follows with resp (the workflow ID is only known at start time).
func expectBatchStart(t *testing.T, h *harness, showURL string, resp func(id string) *workflowservice.DescribeWorkflowExecutionResponse) *workflows.BatchInput {
	expectUpdateWithStart(t, h, showURL, func(context.Context, string) (*workflows.BatchState, error) {
		return nil, serviceerror.NewPermissionDenied("ExecuteMultiOperation API is disabled", "")
	})
	var got workflows.BatchInput
	run := &mocks.WorkflowRun{}
	h.tc.On("ExecuteWorkflow", mock.Anything, mock.MatchedBy(isBatchStart), mock.MatchedBy(isBatchWorkflow),
		mock.MatchedBy(func(in workflows.BatchInput) bool {
			got = in
			return in.ShowURL == showURL
		})).Return(run, nil).Once()
	h.tc.On("DescribeWorkflowExecution", mock.Anything, mock.Anything, "").Return(
		func(_ context.Context, wid, _ string) *workflowservice.DescribeWorkflowExecutionResponse {
			require.Equal(t, workflows.BatchWorkflowID(got.BatchID), wid)
			return resp(got.BatchID)
		}, nil)
	h.tc.On("QueryWorkflow", mock.Anything, mock.Anything, "", workflows.BatchStateQuery).
		Return(nil, errors.New("no worker")).Maybe()
	return &got
}

// TestCreateBatchAnswersWithEveryJobID: one update-with-start call starts
// the batch and brings its episode list; nothing is polled.
func TestCreateBatchAnswersWithEveryJobID(t *testing.T) {
	h := newBatchHarness(t)
	in := expectUpdateWithStart(t, h, "https://feeds.example.com/show", func(_ context.Context, id string) (*workflows.BatchState, error) {
		return &workflows.BatchState{BatchID: id, Status: workflows.BatchRunning, Resolved: true, Total: 3, ManifestKey: "k"}, nil
	})
	h.store.manifest = []byte(`{"show_url":"https://feeds.example.com/show","episodes":[` +
		`{"url":"https://feeds.example.com/1.mp3","title":"One"},{"url":"https://feeds.example.com/2.mp3"},` +
		`{"url":"https://feeds.example.com/3.mp3","title":"Three"}]}`)
	rec := h.do(http.MethodPost, "/batches", `{"show_url":"https://feeds.example.com/show","folder":"pod/","webhook_url":"https://c.example/h","format":"mkv",`+
		`"max_resolution":720,"filename":"ep","download_thumbnail":true,"clip_start":5,"max_duration":3600}`, testKey)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	m := decodeBody(t, rec)
	require.Equal(t, in.BatchID, m["batch_id"])
	require.Equal(t, float64(3), m["total_episodes"])
	require.Equal(t, []any{
		workflows.EpisodeJobID(in.BatchID, 0), workflows.EpisodeJobID(in.BatchID, 1), workflows.EpisodeJobID(in.BatchID, 2),
	}, m["job_ids"])
	// The hosted service's names: episode_jobs, episodes, paused, and
	// processing where riptide says running.
	require.Equal(t, m["job_ids"], m["episode_jobs"])
	require.Equal(t, []any{
		map[string]any{"job_id": workflows.EpisodeJobID(in.BatchID, 0), "url": "https://feeds.example.com/1.mp3", "title": "One"},
		map[string]any{"job_id": workflows.EpisodeJobID(in.BatchID, 1), "url": "https://feeds.example.com/2.mp3", "title": nil},
		map[string]any{"job_id": workflows.EpisodeJobID(in.BatchID, 2), "url": "https://feeds.example.com/3.mp3", "title": "Three"},
	}, m["episodes"])
	require.Equal(t, false, m["paused"])
	require.Equal(t, "processing", m["status"])
	require.Equal(t, "running", m["riptide_status"])
	require.Equal(t, "pod", in.Folder)
	require.Equal(t, "mkv", in.Format)
	require.Equal(t, workflows.JobOptions{MaxHeight: 720, Filename: "ep.mkv", Thumbnail: true, ClipStart: 5, MaxDuration: 3600}, in.JobOptions)
	require.Equal(t, "https://c.example/h", in.WebhookURL)
	require.Equal(t, 7, in.WindowSize)
	require.Equal(t, 300, in.PageSize)
	require.Equal(t, "/batches/"+in.BatchID, rec.Header().Get("Location"))
	h.tc.AssertNotCalled(t, "DescribeWorkflowExecution", mock.Anything, mock.Anything, mock.Anything)
	h.tc.AssertNotCalled(t, "ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything)
}

// TestCreateJobWithFeedURLStartsBatch: a list not known within the wait
// leaves total and ids null, and the batch is made sure to run: the start
// is sent again, which joins the batch the cut-off call may have started.
func TestCreateJobWithFeedURLStartsBatch(t *testing.T) {
	h := newBatchHarness(t)
	in := expectUpdateWithStart(t, h, "https://example.com/podcast.rss", func(ctx context.Context, _ string) (*workflows.BatchState, error) {
		<-ctx.Done() // still listing when the wait ends
		return nil, ctx.Err()
	})
	h.tc.On("ExecuteWorkflow", mock.Anything, mock.MatchedBy(isBatchStart), mock.MatchedBy(isBatchWorkflow),
		mock.MatchedBy(func(got workflows.BatchInput) bool { return got.BatchID == in.BatchID })).Return(&mocks.WorkflowRun{}, nil).Once()
	rec := h.do(http.MethodPost, "/jobs", `{"url":"https://example.com/podcast.rss"}`, testKey)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	m := decodeBody(t, rec)
	require.Equal(t, in.BatchID, m["batch_id"])
	require.Nil(t, m["total_episodes"])
	require.Nil(t, m["job_ids"])
	require.Nil(t, m["episode_jobs"])
	require.Nil(t, m["episodes"])
	require.Equal(t, false, m["paused"])
	require.Equal(t, "processing", m["status"])
	require.Equal(t, "resolving", m["riptide_status"])
	h.tc.AssertExpectations(t)
}

func TestCreateJobProbesContentType(t *testing.T) {
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, http.MethodHead, r.Method)
		w.Header().Set("Content-Type", "application/rss+xml")
	}))
	defer feed.Close()
	h := newBatchHarness(t)
	allow, err := netguard.ParsePrefixes([]string{"127.0.0.0/8"})
	require.NoError(t, err)
	h.router = NewRouter(Deps{Temporal: h.tc, TaskQueue: testQueue, Keys: []string{testKey},
		BatchListWait: 100 * time.Millisecond, FeedProbe: feed.Client(), Guard: netguard.New(allow)})
	expectBatchStart(t, h, feed.URL+"/show", func(id string) *workflowservice.DescribeWorkflowExecutionResponse {
		return batchDescribe(t, id, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, workflows.BatchState{BatchID: id, Resolved: true, Total: 1})
	})
	rec := h.do(http.MethodPost, "/jobs", `{"url":"`+feed.URL+`/show"}`, testKey)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	require.Contains(t, decodeBody(t, rec), "batch_id")
}

func TestCreateBatchUnreadableSourceIs422(t *testing.T) {
	h := newBatchHarness(t)
	expectUpdateWithStart(t, h, "https://example.com/feed.xml", func(_ context.Context, id string) (*workflows.BatchState, error) {
		return &workflows.BatchState{BatchID: id, Status: workflows.BatchResolving, Error: "HTTP 404 Not Found fetching https://example.com/feed.xml"}, nil
	})
	rec := h.do(http.MethodPost, "/batches", `{"show_url":"https://example.com/feed.xml"}`, testKey)
	m := requireError(t, rec, http.StatusUnprocessableEntity, codeUnreadableSource, "show_url")
	require.Contains(t, m["message"], "404")
}

// TestCreateBatchUnreadableSourceIs422WhenPolled: the same on a cluster
// that refuses update-with-start, where the failed workflow says it.
func TestCreateBatchUnreadableSourceIs422WhenPolled(t *testing.T) {
	h := newBatchHarness(t)
	expectBatchStart(t, h, "https://example.com/feed.xml", func(id string) *workflowservice.DescribeWorkflowExecutionResponse {
		return batchDescribe(t, id, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, workflows.BatchState{
			BatchID: id, Status: workflows.BatchResolving, Error: "HTTP 404 Not Found fetching https://example.com/feed.xml"})
	})
	rec := h.do(http.MethodPost, "/batches", `{"show_url":"https://example.com/feed.xml"}`, testKey)
	m := requireError(t, rec, http.StatusUnprocessableEntity, codeUnreadableSource, "show_url")
	require.Contains(t, m["message"], "404")
}

func TestCreateBatchValidation(t *testing.T) {
	h := newBatchHarness(t)
	requireError(t, h.do(http.MethodPost, "/batches", `{}`, testKey), http.StatusBadRequest, codeMissingField, "show_url")
	requireError(t, h.do(http.MethodPost, "/batches", `{"show_url":"ftp://x/y"}`, testKey), http.StatusBadRequest, codeInvalidField, "show_url")
	requireError(t, h.do(http.MethodPost, "/batches", `{"show_url":"https://x/y","url":"https://x"}`, testKey), http.StatusBadRequest, codeUnknownField, "url")
	requireError(t, h.do(http.MethodPost, "/batches", `{"show_url":"https://x/y","folder":"../up"}`, testKey), http.StatusBadRequest, codeInvalidField, "folder")
	requireError(t, h.do(http.MethodPost, "/batches", `[]`, testKey), http.StatusBadRequest, codeInvalidJSON, "")
	// Type errors name the field as the client sent it, for the show URL
	// and for the options a batch shares with a job alike.
	requireError(t, h.do(http.MethodPost, "/batches", `{"show_url":7}`, testKey), http.StatusBadRequest, codeInvalidType, "show_url")
	requireError(t, h.do(http.MethodPost, "/batches", `{"show_url":"https://x/y","folder":7}`, testKey), http.StatusBadRequest, codeInvalidType, "folder")
	requireError(t, h.do(http.MethodPost, "/batches", `{"show_url":"https://x/y","audio_only":"yes"}`, testKey), http.StatusBadRequest, codeInvalidType, "audio_only")
	h.tc.AssertNumberOfCalls(t, "ExecuteWorkflow", 0)
	h.tc.AssertNumberOfCalls(t, "UpdateWithStartWorkflow", 0)
}

func TestGetBatchCountsAndEpisodes(t *testing.T) {
	h := newBatchHarness(t)
	live := workflows.BatchState{BatchID: testBatchID, ShowURL: "https://example.com/feed.xml", Folder: "pod",
		Status: workflows.BatchRunning, Resolved: true, Total: 3, Started: 2, Completed: 1, Running: 1}
	h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.BatchWorkflowID(testBatchID), "").
		Return(batchDescribe(t, testBatchID, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, workflows.BatchState{BatchID: testBatchID}), nil)
	h.tc.On("QueryWorkflow", mock.Anything, workflows.BatchWorkflowID(testBatchID), "", workflows.BatchStateQuery).
		Return(encoded{live}, nil)
	done := workflows.EpisodeJobID(testBatchID, 1)
	jp, err := converter.GetDefaultDataConverter().ToPayload(workflows.JobState{JobID: done, Status: workflows.StatusCompleted, Step: workflows.StepFinished, Key: "pod/ep-1.mp4"})
	require.NoError(t, err)
	h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.JobWorkflowID(done), "").Return(&workflowservice.DescribeWorkflowExecutionResponse{
		WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
			Execution: &commonpb.WorkflowExecution{WorkflowId: workflows.JobWorkflowID(done), RunId: "r"},
			Status:    enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, CloseTime: timestamppb.Now(),
			Memo: &commonpb.Memo{Fields: map[string]*commonpb.Payload{workflows.MemoKey: jp}},
		}}, nil).Once()
	for _, i := range []int{0, 2} {
		h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.JobWorkflowID(workflows.EpisodeJobID(testBatchID, i)), "").
			Return(nil, serviceerror.NewNotFound("no")).Once()
	}

	rec := h.do(http.MethodGet, "/batch/"+testBatchID+"?page=1&page_size=2", "", testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	m := decodeBody(t, rec)
	require.Equal(t, testBatchID, m["batch_id"])
	require.Equal(t, testBatchID, m["id"])
	require.Equal(t, "processing", m["status"])
	require.Equal(t, "running", m["riptide_status"])
	require.Equal(t, []any{
		workflows.EpisodeJobID(testBatchID, 0), workflows.EpisodeJobID(testBatchID, 1), workflows.EpisodeJobID(testBatchID, 2),
	}, m["episode_jobs"])
	require.Equal(t, float64(3), m["total_episodes"])
	require.Equal(t, float64(1), m["completed_episodes"])
	require.Equal(t, float64(1), m["running_episodes"])
	require.Equal(t, float64(1), m["pending_episodes"])
	require.Equal(t, "pod", m["folder"])
	require.Equal(t, float64(2), m["total_pages"])
	eps := m["episodes"].([]any)
	require.Len(t, eps, 2)
	first, second := eps[0].(map[string]any), eps[1].(map[string]any)
	require.Equal(t, float64(0), first["index"])
	require.Equal(t, "Pending", first["status"], "not started yet")
	require.Equal(t, float64(1), second["index"])
	require.Equal(t, done, second["id"])
	require.Equal(t, done, second["job_id"])
	require.Equal(t, testBatchID, second["batch_id"], "a placeholder and a job alike name their batch")
	require.Equal(t, testBatchID, first["batch_id"])
	require.Equal(t, "Completed", second["status"])
	require.Equal(t, "pod/ep-1.mp4", second["key"])

	rec = h.do(http.MethodGet, "/batches/"+testBatchID+"?page=2&page_size=2", "", testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	eps = decodeBody(t, rec)["episodes"].([]any)
	require.Len(t, eps, 1)
	require.Equal(t, float64(2), eps[0].(map[string]any)["index"])

	rec = h.do(http.MethodGet, "/batches/"+testBatchID+"?page=9", "", testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Empty(t, decodeBody(t, rec)["episodes"], "a page past the end is empty")

	rec = h.do(http.MethodGet, "/batch/"+testBatchID+"?page=0", "", testKey)
	requireError(t, rec, http.StatusBadRequest, codeInvalidField, "page")
	rec = h.do(http.MethodGet, "/batch/"+testBatchID+"?page_size=1000", "", testKey)
	requireError(t, rec, http.StatusBadRequest, codeInvalidField, "page_size")
}

func TestGetBatchNotFoundAndBadID(t *testing.T) {
	h := newBatchHarness(t)
	h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.BatchWorkflowID(testBatchID), "").Return(nil, serviceerror.NewNotFound("no"))
	requireError(t, h.do(http.MethodGet, "/batch/"+testBatchID, "", testKey), http.StatusNotFound, codeNotFound, "")
	requireError(t, h.do(http.MethodDelete, "/batch/"+testBatchID, "", testKey), http.StatusNotFound, codeNotFound, "")
	requireError(t, h.do(http.MethodGet, "/batch/nope", "", testKey), http.StatusBadRequest, codeInvalidField, "id")
}

func TestCancelBatch(t *testing.T) {
	h := newBatchHarness(t)
	h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.BatchWorkflowID(testBatchID), "").
		Return(batchDescribe(t, testBatchID, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, workflows.BatchState{BatchID: testBatchID, Resolved: true, Total: 5}), nil).Once()
	h.tc.On("QueryWorkflow", mock.Anything, mock.Anything, "", workflows.BatchStateQuery).Return(nil, errors.New("no worker"))
	h.tc.On("SignalWorkflow", mock.Anything, workflows.BatchWorkflowID(testBatchID), "", workflows.CancelBatchSignal, nil).Return(nil).Once()
	rec := h.do(http.MethodDelete, "/batch/"+testBatchID, "", testKey)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	require.Equal(t, "cancelling", decodeBody(t, rec)["status"])

	// An ended batch has nothing to cancel.
	h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.BatchWorkflowID(testBatchID), "").
		Return(batchDescribe(t, testBatchID, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, workflows.BatchState{BatchID: testBatchID, Status: "completed", Resolved: true, Total: 5}), nil).Once()
	requireError(t, h.do(http.MethodDelete, "/batches/"+testBatchID, "", testKey), http.StatusConflict, codeConflict, "")
}

func TestSpotifyShowURLStartsBatch(t *testing.T) {
	h := newBatchHarness(t)
	h.router = NewRouter(Deps{Temporal: h.tc, TaskQueue: testQueue, Keys: []string{testKey},
		BatchListWait: 300 * time.Millisecond, BatchReconcileEvery: 7 * time.Second, SpotifyConfigured: true})
	show := "https://open.spotify.com/intl-de/show/4rOoJ6Egrf8K2IrywzwOMk?si=abc"
	in := expectBatchStart(t, h, show, func(id string) *workflowservice.DescribeWorkflowExecutionResponse {
		return batchDescribe(t, id, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, workflows.BatchState{BatchID: id, Status: workflows.BatchResolving})
	})
	rec := h.do(http.MethodPost, "/jobs", `{"url":"`+show+`"}`, testKey)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	require.Equal(t, in.BatchID, decodeBody(t, rec)["batch_id"])
	require.Equal(t, 7*time.Second, in.ReconcileEvery)
}

// TestSpotifyURLsNeedCredentials: without Spotify credentials a Spotify URL
// is refused up front, naming the field, and nothing starts.
func TestSpotifyURLsNeedCredentials(t *testing.T) {
	h := newBatchHarness(t)
	for _, c := range []struct{ path, body, field string }{
		{"/jobs", `{"url":"https://open.spotify.com/show/4rOoJ6Egrf8K2IrywzwOMk"}`, "url"},
		{"/jobs", `{"url":"https://open.spotify.com/episode/329nSfeZ5vRoJooKsZh9kH"}`, "url"},
		{"/batches", `{"show_url":"https://open.spotify.com/show/4rOoJ6Egrf8K2IrywzwOMk"}`, "show_url"},
	} {
		rec := h.do(http.MethodPost, c.path, c.body, testKey)
		require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
		m := decodeBody(t, rec)
		require.Equal(t, c.field, m["field"])
		require.Contains(t, m["message"], "RIPTIDE_SPOTIFY_CLIENT_ID")
	}
	rec := h.do(http.MethodPost, "/jobs/bulk", `{"jobs":[{"url":"https://open.spotify.com/episode/329nSfeZ5vRoJooKsZh9kH"}]}`, testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `"field":"url"`)
	h.tc.AssertNotCalled(t, "ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything)
}

func TestOpenAPIBatchSchemasMatchTheAnswers(t *testing.T) {
	require.Equal(t, jsonKeys(t, batchResponse{}), schemaKeys(t, "BatchCreated"))
	require.Equal(t, jsonKeys(t, batchPage{View: &batches.View{}}), schemaKeys(t, "Batch"))
}
