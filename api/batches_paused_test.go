package api

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"
	"go.temporal.io/sdk/temporal"

	"github.com/riptide-dev/riptide/workflows"
)

// TestCreatePausedBatch: paused true starts the batch paused, through
// POST /batches and POST /jobs with a feed URL; the answer says so and
// lists the episodes.
func TestCreatePausedBatch(t *testing.T) {
	for _, tc := range []struct{ path, body string }{
		{"/batches", `{"show_url":"https://feeds.example.com/show.rss","paused":true}`},
		{"/jobs", `{"url":"https://feeds.example.com/show.rss","paused":true}`},
	} {
		h := newBatchHarness(t)
		in := expectUpdateWithStart(t, h, "https://feeds.example.com/show.rss", func(_ context.Context, id string) (*workflows.BatchState, error) {
			return &workflows.BatchState{BatchID: id, Status: workflows.BatchPaused, Paused: true, Resolved: true, Total: 2, ManifestKey: "k"}, nil
		})
		rec := h.do(http.MethodPost, tc.path, tc.body, testKey)
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		require.True(t, in.Paused, tc.path)
		m := decodeBody(t, rec)
		require.Equal(t, true, m["paused"])
		require.Equal(t, "paused", m["status"])
		require.Equal(t, []any{workflows.EpisodeJobID(in.BatchID, 0), workflows.EpisodeJobID(in.BatchID, 1)}, m["episode_jobs"])
	}
}

// pausedBatch answers the reads of testBatchID with live state st.
func pausedBatch(t *testing.T, h *harness, status enumspb.WorkflowExecutionStatus, st workflows.BatchState) {
	h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.BatchWorkflowID(testBatchID), "").
		Return(batchDescribe(t, testBatchID, status, st), nil).Maybe()
	h.tc.On("QueryWorkflow", mock.Anything, workflows.BatchWorkflowID(testBatchID), "", workflows.BatchStateQuery).
		Return(encoded{st}, nil).Maybe()
}

func pausedState() workflows.BatchState {
	return workflows.BatchState{BatchID: testBatchID, ShowURL: "https://feeds.example.com/show.rss", Folder: "pod",
		Format: "m4a", Status: workflows.BatchPaused, Paused: true, Resolved: true, Total: 3, ManifestKey: "k"}
}

// expectUpdate answers one update named name with fill (or with err from
// the handle, as a rejected update answers) and records its argument.
func expectUpdate(h *harness, name string, args *[]any, fill func(out any), err error) {
	h.tc.On("UpdateWorkflow", mock.Anything, mock.MatchedBy(func(o client.UpdateWorkflowOptions) bool {
		return o.UpdateName == name && o.WorkflowID == workflows.BatchWorkflowID(testBatchID) &&
			o.WaitForStage == client.WorkflowUpdateStageCompleted
	})).Return(func(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
		if args != nil {
			*args = o.Args
		}
		handle := &mocks.WorkflowUpdateHandle{}
		handle.On("Get", mock.Anything, mock.Anything).Run(func(a mock.Arguments) {
			if fill != nil {
				fill(a.Get(1))
			}
		}).Return(err)
		return handle, nil
	}).Once()
}

// TestRenameBatchJobs: each item is checked as POST /jobs checks a
// filename and gets the batch's extension; the valid ones go to the
// workflow, the others and the workflow's refusals come back in errors.
func TestRenameBatchJobs(t *testing.T) {
	h := newBatchHarness(t)
	pausedBatch(t, h, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, pausedState())
	ep0, ep1, ep2 := workflows.EpisodeJobID(testBatchID, 0), workflows.EpisodeJobID(testBatchID, 1), workflows.EpisodeJobID(testBatchID, 2)
	stranger := uuid.NewString()
	var args []any
	expectUpdate(h, workflows.RenameEpisodesUpdate, &args, func(out any) {
		*out.(*workflows.RenameEpisodesResult) = workflows.RenameEpisodesResult{Updated: 1,
			Errors: []workflows.RenameError{{JobID: ep2, Error: "filename Intro.m4a is already another episode's"}}}
	}, nil)
	body := `{"renames":[{"job_id":"` + ep0 + `","filename":"Intro"},` +
		`{"job_id":"` + ep1 + `","filename":"a/b"},` +
		`{"job_id":"not-a-uuid","filename":"x"},` +
		`{"job_id":"` + stranger + `","filename":"x"},` +
		`{"job_id":"` + ep0 + `","filename":"again"},` +
		`{"job_id":"` + ep1 + `","filename":""},` +
		`{"job_id":"` + ep2 + `","filename":"Intro.mp3"}]}`
	rec := h.do(http.MethodPatch, "/batch/"+testBatchID+"/jobs", body, testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, []any{[]workflows.EpisodeRename{{JobID: ep0, Filename: "Intro.m4a"}, {JobID: ep2, Filename: "Intro.m4a"}}}, args,
		"the valid items, with the format's extension")
	m := decodeBody(t, rec)
	require.Equal(t, float64(1), m["updated"])
	require.Equal(t, []any{
		ep1 + ": filename must not contain / or \\",
		"not-a-uuid: job_id is not an episode of this batch",
		stranger + ": job_id is not an episode of this batch",
		ep0 + ": job_id is listed more than once",
		ep1 + ": filename is required",
		ep2 + ": filename Intro.m4a is already another episode's",
	}, m["errors"])
	details := m["error_details"].([]any)
	require.Len(t, details, 6)
	require.Equal(t, map[string]any{"job_id": ep1, "error": "filename must not contain / or \\"}, details[0])
}

// TestRenameBatchJobsRefusesBadBodies: body errors are 400s naming the
// field, and reach no workflow.
func TestRenameBatchJobsRefusesBadBodies(t *testing.T) {
	h := newBatchHarness(t)
	pausedBatch(t, h, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, pausedState())
	path := "/batch/" + testBatchID + "/jobs"
	many := `{"renames":[`
	for i := range workflows.MaxRenamesPerUpdate + 1 {
		if i > 0 {
			many += ","
		}
		many += `{"job_id":"a","filename":"b"}`
	}
	many += `]}`
	for _, tc := range []struct{ body, code, field string }{
		{`{}`, codeMissingField, "renames"},
		{`{"renames":null}`, codeMissingField, "renames"},
		{`{"renames":[]}`, codeInvalidField, "renames"},
		{`{"renames":{}}`, codeInvalidType, "renames"},
		{`{"renames":[{"job_id":5,"filename":"x"}]}`, codeInvalidType, "job_id"},
		{`{"renames":[{"job_id":"x","filename":"y","folder":"z"}]}`, codeUnknownField, "folder"},
		{`{"renames":[],"paused":true}`, codeUnknownField, "paused"},
		{`[]`, codeInvalidJSON, ""},
	} {
		m := requireError(t, h.do(http.MethodPatch, path, tc.body, testKey), http.StatusBadRequest, tc.code, tc.field)
		require.NotEmpty(t, m["error"], tc.body)
	}
	big := newHarness(t, nil)
	big.router = NewRouter(Deps{Temporal: big.tc, TaskQueue: testQueue, Store: big.store, Keys: []string{testKey}, MaxBodyBytes: 1 << 20})
	pausedBatch(t, big, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, pausedState())
	requireError(t, big.do(http.MethodPatch, path, many, testKey), http.StatusBadRequest, codeInvalidField, "renames")
	requireError(t, h.do(http.MethodPatch, "/batch/nope/jobs", `{"renames":[]}`, testKey), http.StatusBadRequest, codeInvalidField, "id")
	requireError(t, h.do(http.MethodPost, "/batches/nope/start", ``, testKey), http.StatusBadRequest, codeInvalidField, "id")
	h.tc.AssertNumberOfCalls(t, "UpdateWorkflow", 0)
}

// TestBatchNotPausedIsRefused: a batch that is not paused (running, or
// ended) is refused a start and a rename with a 400 saying its status;
// so is one the workflow refuses (started meanwhile).
func TestBatchNotPausedIsRefused(t *testing.T) {
	running := pausedState()
	running.Paused, running.Status = false, workflows.BatchRunning
	ended := pausedState()
	ended.Status = workflows.BatchFinished
	rename := `{"renames":[{"job_id":"` + workflows.EpisodeJobID(testBatchID, 0) + `","filename":"x"}]}`
	for _, tc := range []struct {
		status enumspb.WorkflowExecutionStatus
		st     workflows.BatchState
		want   string
	}{
		{enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, running, "Batch is not paused (current status: processing)"},
		{enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, ended, "Batch is not paused (current status: finished)"},
	} {
		h := newBatchHarness(t)
		pausedBatch(t, h, tc.status, tc.st)
		m := requireError(t, h.do(http.MethodPost, "/batch/"+testBatchID+"/start", "", testKey), http.StatusBadRequest, codeNotPaused, "")
		require.Equal(t, tc.want, m["error"])
		m = requireError(t, h.do(http.MethodPatch, "/batches/"+testBatchID+"/jobs", rename, testKey), http.StatusBadRequest, codeNotPaused, "")
		require.Contains(t, m["error"], tc.want)
		require.Contains(t, m["error"], "Only paused batches can be renamed.")
		h.tc.AssertNumberOfCalls(t, "UpdateWorkflow", 0)
	}

	h := newBatchHarness(t)
	pausedBatch(t, h, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, pausedState())
	expectUpdate(h, workflows.StartBatchUpdate, nil, nil,
		temporal.NewNonRetryableApplicationError("batch is not paused (current status: running): only a batch created paused can be started, once", workflows.ErrTypeBatchState, nil))
	m := requireError(t, h.do(http.MethodPost, "/batch/"+testBatchID+"/start", "", testKey), http.StatusBadRequest, codeNotPaused, "")
	require.Equal(t, "Batch is not paused (current status: running): only a batch created paused can be started, once", m["error"])
}

// TestRenameBatchJobsStoreDown: a rename whose manifest cannot be written
// is a 503 saying so.
func TestRenameBatchJobsStoreDown(t *testing.T) {
	h := newBatchHarness(t)
	pausedBatch(t, h, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, pausedState())
	// What the client makes of the failure the update handler returns.
	activityFailed := temporal.GetDefaultFailureConverter().FailureToError(&failurepb.Failure{
		Message:     "activity error",
		FailureInfo: &failurepb.Failure_ActivityFailureInfo{ActivityFailureInfo: &failurepb.ActivityFailureInfo{}},
		Cause: &failurepb.Failure{Message: "storing manifest: 503", FailureInfo: &failurepb.Failure_ApplicationFailureInfo{
			ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Type: workflows.ErrTypeTechnical}}},
	})
	expectUpdate(h, workflows.RenameEpisodesUpdate, nil, nil, activityFailed)
	rename := `{"renames":[{"job_id":"` + workflows.EpisodeJobID(testBatchID, 0) + `","filename":"x"}]}`
	requireError(t, h.do(http.MethodPatch, "/batch/"+testBatchID+"/jobs", rename, testKey), http.StatusServiceUnavailable, codeStorageUnavailable, "")
}

// TestStartPausedBatch: the start answers the hosted service's shape,
// under both spellings of the path.
func TestStartPausedBatch(t *testing.T) {
	for _, p := range []string{"/batch/", "/batches/"} {
		h := newBatchHarness(t)
		pausedBatch(t, h, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, pausedState())
		expectUpdate(h, workflows.StartBatchUpdate, nil, func(out any) {
			*out.(*workflows.StartBatchResult) = workflows.StartBatchResult{StartedJobs: 3}
		}, nil)
		rec := h.do(http.MethodPost, p+testBatchID+"/start", "", testKey)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Equal(t, map[string]any{"batch_id": testBatchID, "started_jobs": float64(3), "status": "processing"}, decodeBody(t, rec))
	}
}

// TestGetPausedBatch: GET /batch/{id} says paused until the start.
func TestGetPausedBatch(t *testing.T) {
	h := newBatchHarness(t)
	pausedBatch(t, h, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, pausedState())
	h.tc.On("DescribeWorkflowExecution", mock.Anything, mock.Anything, "").Return(nil, serviceerror.NewNotFound("no")).Maybe()
	rec := h.do(http.MethodGet, "/batch/"+testBatchID, "", testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	m := decodeBody(t, rec)
	require.Equal(t, true, m["paused"])
	require.Equal(t, "paused", m["status"])
	require.Equal(t, "paused", m["riptide_status"])
	require.Equal(t, "Pending", m["episodes"].([]any)[0].(map[string]any)["status"])
}

// TestBulkRefusesPaused: bulk items are single jobs; paused true is
// refused, never ignored.
func TestBulkRefusesPaused(t *testing.T) {
	h := newHarness(t, nil)
	for _, body := range []string{
		`{"jobs":[{"url":"https://example.com/a.mp4"}],"paused":true}`,
		`{"jobs":[{"url":"https://example.com/a.mp4","paused":true}]}`,
	} {
		rec := h.do(http.MethodPost, "/jobs/bulk", body, testKey)
		// A shared option fails the request; an item's fails the item.
		if rec.Code == http.StatusOK {
			require.Equal(t, float64(0), decodeBody(t, rec)["total_jobs"], body)
		} else {
			requireError(t, rec, http.StatusBadRequest, codeNotSupported, "paused")
		}
		require.Contains(t, rec.Body.String(), `"code":"not_supported","field":"paused"`, body)
		require.Contains(t, rec.Body.String(), "pausing bulk jobs", body)
	}
	h.tc.AssertNumberOfCalls(t, "ExecuteWorkflow", 0)
}
