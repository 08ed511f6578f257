package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

const testBatchID = "7d0e4a52-9a3c-4c1e-8f57-2b6a1d3c9e10"

// fakeManifest serves episodes ep0..ep{n-1}; those whose index is in bad
// fail with SourceNotFound.
type fakeManifest struct {
	n   int
	bad map[int]bool
	// names are the episodes' filenames, as renames set them; pages, when
	// set, records the page requests.
	names map[int]string
	pages *[]BatchEpisodesInput
	// slow is how long each download takes (workflow time).
	slow time.Duration
}

func (f fakeManifest) url(i int) string { return fmt.Sprintf("https://feed.example/ep%d.mp3", i) }

func (f fakeManifest) page(_ context.Context, in BatchEpisodesInput) ([]Episode, error) {
	if f.pages != nil {
		*f.pages = append(*f.pages, in)
	}
	var out []Episode
	for i := in.Offset; i < min(in.Offset+in.Limit, f.n); i++ {
		out = append(out, Episode{URL: f.url(i), Title: fmt.Sprintf("Episode %d", i),
			Description: "desc", ReleaseDate: "2026-01-19T06:00:00Z", Filename: f.names[i]})
	}
	return out, nil
}

// batchEnv runs Batch with the real Job as its children, their transfers
// mocked. It records webhooks and the most episodes seen running at once.
type batchEnv struct {
	env        *testsuite.TestWorkflowEnvironment
	mu         sync.Mutex
	bodies     []map[string]any
	ids        []string
	active     int
	maxActive  int
	downloaded []string
	uploaded   []string
}

func newBatchEnv(t *testing.T, f fakeManifest) *batchEnv {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	be := &batchEnv{env: s.NewTestWorkflowEnvironment()}
	env := be.env
	env.RegisterWorkflow(Job)
	env.RegisterWorkflow(Batch)
	registerActivityStubs(env)
	env.OnActivity(ResolveBatch.Name(), mock.Anything, ResolveBatchInput{BatchID: testBatchID, ShowURL: "https://feed.example/show.rss"}).
		Return(&ResolveBatchResult{ManifestKey: ManifestKey(testBatchID), Total: f.n, Source: "feed"}, nil).Maybe()
	env.OnActivity(BatchEpisodes.Name(), mock.Anything, mock.Anything).Return(f.page).Maybe()
	env.OnActivity(DeliverWebhook.Name(), mock.Anything, mock.Anything).Return(func(_ context.Context, in WebhookInput) (*WebhookAttempt, error) {
		var body map[string]any
		require.NoError(t, json.Unmarshal(in.Body, &body))
		be.mu.Lock()
		defer be.mu.Unlock()
		be.ids = append(be.ids, in.EventID)
		be.bodies = append(be.bodies, body)
		return &WebhookAttempt{StatusCode: 200, Delivered: true}, nil
	}).Maybe()
	env.OnActivity(Download.Name(), mock.Anything, mock.Anything).Return(func(_ context.Context, in DownloadInput) (*DownloadResult, error) {
		be.mu.Lock()
		be.active++
		be.maxActive = max(be.maxActive, be.active)
		be.downloaded = append(be.downloaded, in.URL)
		be.mu.Unlock()
		var i int
		_, _ = fmt.Sscanf(in.URL, "https://feed.example/ep%d.mp3", &i)
		if f.bad[i] {
			be.mu.Lock()
			be.active--
			be.mu.Unlock()
			return nil, temporal.NewNonRetryableApplicationError("HTTP 404", ErrTypeNotFound, nil)
		}
		// The media has no title: the feed's must be used.
		return &DownloadResult{Files: []string{"/w/" + in.JobID}, Bytes: 10, Source: "http", NeedsMux: true}, nil
	}).After(f.slow).Maybe()
	env.OnActivity(Mux.Name(), mock.Anything, mock.Anything).Return(func(_ context.Context, in MuxInput) (*MuxResult, error) {
		if !strings.HasPrefix(in.Title, "Episode ") {
			return nil, errors.New("feed title not passed to mux: " + in.Title)
		}
		return &MuxResult{Path: "/w/out.mp4", Bytes: 10}, nil
	}).Maybe()
	env.OnActivity(Upload.Name(), mock.Anything, mock.Anything).Return(func(_ context.Context, in UploadInput) (*UploadResult, error) {
		be.mu.Lock()
		be.active--
		be.uploaded = append(be.uploaded, in.Key)
		be.mu.Unlock()
		return &UploadResult{Key: in.Key, URL: "https://s3.local/" + in.Key, Bytes: 10}, nil
	}).Maybe()
	env.OnActivity(Cleanup.Name(), mock.Anything, mock.Anything).Return(nil).Maybe()
	env.OnActivity(ClosedWorkflows.Name(), mock.Anything, mock.Anything).Return(nil, nil).Maybe()
	return be
}

func (be *batchEnv) ofType(typ string) []map[string]any {
	be.mu.Lock()
	defer be.mu.Unlock()
	var out []map[string]any
	for _, b := range be.bodies {
		if b["type"] == typ {
			out = append(out, b)
		}
	}
	return out
}

func batchInput() BatchInput {
	return BatchInput{BatchID: testBatchID, ShowURL: "https://feed.example/show.rss",
		WebhookURL: "https://client.example/hook", Folder: "show", WindowSize: 3}
}

func TestBatchRunsEveryEpisodeAndReportsOnce(t *testing.T) {
	f := fakeManifest{n: 10, bad: map[int]bool{4: true}}
	be := newBatchEnv(t, f)
	be.env.ExecuteWorkflow(Batch, batchInput())

	require.True(t, be.env.IsWorkflowCompleted())
	require.NoError(t, be.env.GetWorkflowError())
	var st BatchState
	require.NoError(t, be.env.GetWorkflowResult(&st))
	require.Equal(t, BatchFinished, st.Status)
	require.Equal(t, 10, st.Total)
	require.Equal(t, 9, st.Completed)
	require.Equal(t, 1, st.Failed)
	require.Zero(t, st.Running)
	// The state query answers the same counts.
	v, err := be.env.QueryWorkflow(BatchStateQuery)
	require.NoError(t, err)
	var queried BatchState
	require.NoError(t, v.Get(&queried))
	require.Equal(t, st, queried)

	// Each episode ran once, never more than the window at a time.
	require.Len(t, be.downloaded, 10)
	require.LessOrEqual(t, be.maxActive, 3)

	done := be.ofType("batch_completed")
	require.Len(t, done, 1)
	require.Equal(t, map[string]any{
		"type": "batch_completed", "batch_id": testBatchID, "status": "finished",
		"show_url": "https://feed.example/show.rss", "folder": "show",
		"total_episodes": float64(10), "completed_episodes": float64(9), "failed_episodes": float64(1),
	}, done[0])
	require.Len(t, be.ofType("job_completed"), 9)
	require.Len(t, be.ofType("job_failed"), 1)
	// Episodes carry the feed's metadata and deterministic ids.
	for _, b := range be.ofType("job_completed") {
		require.True(t, strings.HasPrefix(b["title"].(string), "Episode "), "title %v", b["title"])
		require.Equal(t, "2026-01-19T06:00:00Z", b["release_date"])
	}
	first := be.ofType("job_completed")[0]["job_id"].(string)
	found := false
	for i := range 10 {
		found = found || EpisodeJobID(testBatchID, i) == first
	}
	require.True(t, found, "job ids are EpisodeJobID(batch, index)")
	// batch_completed is the last event.
	require.Equal(t, "batch_completed", be.bodies[len(be.bodies)-1]["type"])
}

// updateAnswer collects what the listed update answered.
type updateAnswer struct {
	st  BatchState
	err error
	ok  bool
}

func (u *updateAnswer) callbacks(t *testing.T) *testsuite.TestUpdateCallback {
	return &testsuite.TestUpdateCallback{
		OnReject: func(err error) { t.Errorf("listed update rejected: %v", err) },
		OnAccept: func() {},
		OnComplete: func(v any, err error) {
			u.ok, u.err = true, err
			if st, isState := v.(BatchState); isState {
				u.st = st
			}
		},
	}
}

// TestBatchListedUpdateAnswersWithTheList: the update the API sends with
// the start answers once the episode list is known, with its size.
func TestBatchListedUpdateAnswersWithTheList(t *testing.T) {
	be := newBatchEnv(t, fakeManifest{n: 4})
	var u updateAnswer
	be.env.RegisterDelayedCallback(func() {
		be.env.UpdateWorkflow(BatchListedUpdate, "listed-1", u.callbacks(t))
	}, 0)
	be.env.ExecuteWorkflow(Batch, batchInput())
	require.NoError(t, be.env.GetWorkflowError())
	require.True(t, u.ok, "the update never completed")
	require.NoError(t, u.err)
	require.True(t, u.st.Resolved)
	require.Equal(t, 4, u.st.Total)
	require.Equal(t, ManifestKey(testBatchID), u.st.ManifestKey)
}

// TestBatchListedUpdateAnswersAnUnreadableSource: a source that cannot be
// listed answers the update with the error before the batch fails.
func TestBatchListedUpdateAnswersAnUnreadableSource(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(Batch)
	registerActivityStubs(env)
	env.OnActivity(ResolveBatch.Name(), mock.Anything, mock.Anything).Return(nil,
		temporal.NewNonRetryableApplicationError("HTTP 404 Not Found fetching the feed", ErrTypeNotFound, nil))
	var u updateAnswer
	env.RegisterDelayedCallback(func() { env.UpdateWorkflow(BatchListedUpdate, "listed-1", u.callbacks(t)) }, 0)
	env.ExecuteWorkflow(Batch, batchInput())
	require.Error(t, env.GetWorkflowError())
	require.True(t, u.ok, "the update never completed")
	require.NoError(t, u.err)
	require.False(t, u.st.Resolved)
	require.Contains(t, u.st.Error, "404")
}

func TestBatchAllSucceededIsCompleted(t *testing.T) {
	be := newBatchEnv(t, fakeManifest{n: 4})
	be.env.ExecuteWorkflow(Batch, batchInput())
	require.NoError(t, be.env.GetWorkflowError())
	done := be.ofType("batch_completed")
	require.Len(t, done, 1)
	require.Equal(t, "completed", done[0]["status"])
	require.Equal(t, float64(4), done[0]["completed_episodes"])
}

func TestBatchEmptySourceCompletesAtOnce(t *testing.T) {
	be := newBatchEnv(t, fakeManifest{n: 0})
	be.env.ExecuteWorkflow(Batch, batchInput())
	require.NoError(t, be.env.GetWorkflowError())
	done := be.ofType("batch_completed")
	require.Len(t, done, 1)
	require.Equal(t, float64(0), done[0]["total_episodes"])
	require.Empty(t, be.downloaded)
}

// TestBatchContinuesAsNewAndCarriesState runs a batch whose page is smaller
// than the episode list: the first run must continue as new after starting
// one page, carrying counts and the episodes still running, and the next
// run must finish the batch with counts from both runs.
func TestBatchContinuesAsNewAndCarriesState(t *testing.T) {
	f := fakeManifest{n: 7, bad: map[int]bool{1: true, 5: true}}
	be := newBatchEnv(t, f)
	in := batchInput()
	in.PageSize = 4
	be.env.ExecuteWorkflow(Batch, in)
	require.True(t, be.env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, be.env.GetWorkflowError(), &can)
	var next BatchInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.Equal(t, 4, next.Offset)
	require.Equal(t, 7, next.Total)
	require.NotEmpty(t, next.ManifestKey)
	require.Equal(t, 4, next.Completed+next.Failed+len(next.Running), "every started episode is counted or running")
	require.Empty(t, be.ofType("batch_completed"), "only the last run reports")

	// The next run: the episodes still running from the first run report
	// by signal, as their abandoned workflows would.
	be2 := newBatchEnv(t, f)
	running := next.Running
	be2.env.RegisterDelayedCallback(func() {
		for _, id := range running {
			status := StatusCompleted
			for i := range f.n {
				if EpisodeJobID(testBatchID, i) == id && f.bad[i] {
					status = StatusFailed
				}
			}
			be2.env.SignalWorkflow(EpisodeDoneSignal, EpisodeDone{JobID: id, Status: status})
			// A duplicate report is not counted twice.
			be2.env.SignalWorkflow(EpisodeDoneSignal, EpisodeDone{JobID: id, Status: status})
		}
	}, time.Second)
	be2.env.ExecuteWorkflow(Batch, next)
	require.NoError(t, be2.env.GetWorkflowError())
	var st BatchState
	require.NoError(t, be2.env.GetWorkflowResult(&st))
	require.Equal(t, 7, st.Completed+st.Failed)
	require.Equal(t, 2, st.Failed)
	done := be2.ofType("batch_completed")
	require.Len(t, done, 1)
	require.Equal(t, float64(5), done[0]["completed_episodes"])
	require.Equal(t, float64(2), done[0]["failed_episodes"])
	require.Len(t, be2.downloaded, 3, "the second run starts only the episodes the first did not")
	be2.env.AssertNotCalled(t, "ResolveBatch", mock.Anything, mock.Anything)
}

// TestBatchCancelStopsRunningAndUnstartedEpisodes cancels a batch while two
// slow episodes run: they are asked to stop and report, the episodes never
// started count as failed, and batch_completed still goes out once.
func TestBatchCancelStopsRunningAndUnstartedEpisodes(t *testing.T) {
	env := newBatchWithFakeEpisodes(fakeManifest{n: 8})
	recorded := recordWebhooks(t, env)
	env.OnActivity(ClosedWorkflows.Name(), mock.Anything, mock.Anything).Return(nil, nil).Maybe()
	// A slow episode that reports like the real Job when cancelled.
	started, cancelled := 0, 0
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in JobInput) (*JobState, error) {
		started++
		err := workflow.Sleep(ctx, time.Hour)
		if temporal.IsCanceledError(err) {
			cancelled++
		}
		j := &job{in: in, state: JobState{JobID: in.JobID, Status: StatusFailed}, logger: workflow.GetLogger(ctx)}
		j.reportToBatch(ctx)
		return nil, err
	}, workflow.RegisterOptions{Name: "Job"})
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(CancelBatchSignal, nil)
	}, time.Minute)
	in := batchInput()
	in.WindowSize = 2
	env.ExecuteWorkflow(Batch, in)

	require.NoError(t, env.GetWorkflowError())
	var st BatchState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.True(t, st.Cancelled)
	require.Equal(t, BatchFinished, st.Status)
	require.Equal(t, 0, st.Completed)
	require.Equal(t, 8, st.Failed)
	require.Equal(t, 2, started, "only the window started")
	require.Equal(t, 2, cancelled, "running episodes were cancelled")
	hooks := *recorded
	require.Len(t, hooks, 1)
	require.Equal(t, "batch_completed", hooks[0]["type"])
	require.Equal(t, float64(8), hooks[0]["failed_episodes"])
}

// TestBatchGivesEveryEpisodeTheJobOptions: the options reach each episode,
// and a filename gets the episode's short job ID so episodes keep apart.
func TestBatchGivesEveryEpisodeTheJobOptions(t *testing.T) {
	env := newBatchWithFakeEpisodes(fakeManifest{n: 3})
	env.OnActivity(DeliverWebhook.Name(), mock.Anything, mock.Anything).Return(&WebhookAttempt{StatusCode: 200, Delivered: true}, nil)
	var got []JobInput
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in JobInput) (*JobState, error) {
		got = append(got, in)
		j := &job{in: in, state: JobState{JobID: in.JobID, Status: StatusCompleted}, logger: workflow.GetLogger(ctx)}
		j.reportToBatch(ctx)
		return &j.state, nil
	}, workflow.RegisterOptions{Name: "Job"})
	in := batchInput()
	in.Format = "mp3"
	in.JobOptions = JobOptions{Filename: "show.mp3", Thumbnail: true, MaxDuration: 600, ClipEnd: 30}
	env.ExecuteWorkflow(Batch, in)
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, got, 3)
	names := map[string]bool{}
	for _, ep := range got {
		require.Equal(t, "mp3", ep.Format)
		want := in.JobOptions
		want.Filename = "show-" + ep.JobID[:8] + ".mp3"
		require.Equal(t, want, ep.JobOptions)
		names[ep.Filename] = true
	}
	require.Len(t, names, 3, "each episode has its own key")
}

func TestBatchRejectsMissingFields(t *testing.T) {
	be := newBatchEnv(t, fakeManifest{})
	be.env.ExecuteWorkflow(Batch, BatchInput{BatchID: testBatchID})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, be.env.GetWorkflowError(), &appErr)
	require.Equal(t, ErrTypeInvalidInput, appErr.Type())
}

func TestEpisodeJobIDIsStableAndDistinct(t *testing.T) {
	seen := map[string]bool{}
	for i := range 1000 {
		id := EpisodeJobID(testBatchID, i)
		require.Len(t, id, 36)
		require.False(t, seen[id])
		seen[id] = true
		require.Equal(t, id, EpisodeJobID(testBatchID, i))
	}
	require.NotEqual(t, EpisodeJobID(testBatchID, 0), EpisodeJobID("7d0e4a52-9a3c-4c1e-8f57-2b6a1d3c9e11", 0))
}

// TestBatchCountsEpisodeClosedWithoutReport: an episode workflow that ends
// without signalling (terminated by hand) is found by reconciliation and
// counted failed, so batch_completed still goes out, once, with the right
// counts; episodes that did report are not counted twice although
// reconciliation sees them closed too.
func TestBatchCountsEpisodeClosedWithoutReport(t *testing.T) {
	env := newBatchWithFakeEpisodes(fakeManifest{n: 6})
	recorded := recordWebhooks(t, env)
	silent := EpisodeJobID(testBatchID, 2)
	closed := map[string]string{}
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in JobInput) (*JobState, error) {
		if err := workflow.Sleep(ctx, 10*time.Minute); err != nil {
			return nil, err
		}
		if in.JobID == silent {
			// Terminated: it never reaches reportToBatch.
			closed[JobWorkflowID(in.JobID)] = "Terminated"
			return nil, nil
		}
		j := &job{in: in, state: JobState{JobID: in.JobID, Status: StatusCompleted}, logger: workflow.GetLogger(ctx)}
		j.reportToBatch(ctx)
		closed[JobWorkflowID(in.JobID)] = "Completed"
		return &j.state, nil
	}, workflow.RegisterOptions{Name: "Job"})
	checks := 0
	env.OnActivity(ClosedWorkflows.Name(), mock.Anything, mock.Anything).Return(func(_ context.Context, ids []string) ([]ClosedWorkflow, error) {
		checks++
		var out []ClosedWorkflow
		for _, id := range ids {
			if st, ok := closed[id]; ok {
				out = append(out, ClosedWorkflow{WorkflowID: id, Status: st})
			}
		}
		return out, nil
	})
	in := batchInput()
	in.WindowSize = 3
	in.ReconcileEvery = 3 * time.Minute
	env.ExecuteWorkflow(Batch, in)

	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var st BatchState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, BatchFinished, st.Status)
	require.Equal(t, 5, st.Completed)
	require.Equal(t, 1, st.Failed)
	require.Zero(t, st.Running)
	require.Positive(t, checks)
	hooks := *recorded
	require.Len(t, hooks, 1)
	require.Equal(t, "batch_completed", hooks[0]["type"])
	require.Equal(t, float64(5), hooks[0]["completed_episodes"])
	require.Equal(t, float64(1), hooks[0]["failed_episodes"])
}

// TestBatchWithoutReconciliationWaitsForSilentEpisode shows what the
// reconciliation fixes: with the check failing, a silent episode keeps the
// batch running.
func TestBatchWithoutReconciliationWaitsForSilentEpisode(t *testing.T) {
	env := newBatchWithFakeEpisodes(fakeManifest{n: 2})
	env.OnActivity(ClosedWorkflows.Name(), mock.Anything, mock.Anything).
		Return(nil, temporal.NewApplicationError("Temporal unreachable", ErrTypeTechnical))
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in JobInput) (*JobState, error) {
		return nil, nil // ends without reporting
	}, workflow.RegisterOptions{Name: "Job"})
	env.SetTestTimeout(10 * time.Second)
	env.RegisterDelayedCallback(func() {
		var st BatchState
		v, err := env.QueryWorkflow(BatchStateQuery)
		require.NoError(t, err)
		require.NoError(t, v.Get(&st))
		require.Equal(t, BatchRunning, st.Status)
		require.Equal(t, 2, st.Running)
		env.CancelWorkflow()
	}, 10*time.Minute)
	in := batchInput()
	in.WebhookURL = ""
	env.ExecuteWorkflow(Batch, in)
	require.True(t, env.IsWorkflowCompleted())
}

// newBatchWithFakeEpisodes is a test environment for the Batch workflow
// alone, over a manifest of f's episodes; the test registers its own "Job".
func newBatchWithFakeEpisodes(f fakeManifest) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(Batch)
	registerActivityStubs(env)
	env.OnActivity(ResolveBatch.Name(), mock.Anything, mock.Anything).
		Return(&ResolveBatchResult{ManifestKey: "m", Total: f.n}, nil)
	env.OnActivity(BatchEpisodes.Name(), mock.Anything, mock.Anything).Return(f.page)
	return env
}

// recordWebhooks delivers every webhook successfully and keeps its body,
// in order; read the slice once the workflow has run.
func recordWebhooks(t *testing.T, env *testsuite.TestWorkflowEnvironment) *[]map[string]any {
	hooks := &[]map[string]any{}
	env.OnActivity(DeliverWebhook.Name(), mock.Anything, mock.Anything).Return(func(_ context.Context, in WebhookInput) (*WebhookAttempt, error) {
		var body map[string]any
		require.NoError(t, json.Unmarshal(in.Body, &body))
		*hooks = append(*hooks, body)
		return &WebhookAttempt{StatusCode: 200, Delivered: true}, nil
	})
	return hooks
}
