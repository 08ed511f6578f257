package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

const testJobID = "3f1b0c8e-1d2a-4c5b-9e7f-0a1b2c3d4e5f"

func testInput() JobInput {
	return JobInput{
		JobID:                 testJobID,
		URL:                   "https://media.example/show/ep1",
		WebhookURL:            "https://client.example/hook",
		Folder:                "my-folder",
		EnableProgressWebhook: true,
		DownloadSubtitles:     true,
	}
}

var (
	okDownload = &DownloadResult{
		Files:       []string{"/w/src.v.mp4", "/w/src.a.m4a"},
		Subtitles:   []Subtitle{{Path: "/w/src.en.vtt", Lang: "en", Ext: "vtt"}},
		Bytes:       1234,
		Title:       "Episode One: Pilot",
		Description: "The first one",
		ReleaseDate: "2026-01-19T06:00:00Z",
		Source:      "generic",
		HostQueue:   testHostQueue,
		NeedsMux:    true,
	}
	okMux    = &MuxResult{Path: "/w/output.mp4", Bytes: 1200}
	okUpload = &UploadResult{
		Key: "my-folder/episode-one-pilot-3f1b0c8e.mp4", URL: "https://s3.local/signed", Bytes: 1200,
		SubtitleKeys: []string{"my-folder/episode-one-pilot-3f1b0c8e.en.vtt"},
	}
)

// hooks records the webhook bodies the workflow delivered, in order.
type hooks struct {
	ids    []string
	bodies []map[string]any
	// cleanups records the task queue of each Cleanup, queues that of
	// each webhook delivery.
	cleanups, queues []string
}

func (h *hooks) types() []string {
	var out []string
	for _, b := range h.bodies {
		s := b["type"].(string)
		if st, ok := b["stage"]; ok {
			s += ":" + st.(string)
		}
		out = append(out, s)
	}
	return out
}

func newEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *hooks) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(Job)
	registerActivityStubs(env)
	h := &hooks{}
	env.OnActivity(DeliverWebhook.Name(), mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in WebhookInput) (*WebhookAttempt, error) {
			var body map[string]any
			require.NoError(t, json.Unmarshal(in.Body, &body))
			h.queues = append(h.queues, activity.GetInfo(ctx).TaskQueue)
			h.ids = append(h.ids, in.EventID)
			h.bodies = append(h.bodies, body)
			return &WebhookAttempt{StatusCode: 200, Delivered: true}, nil
		}).Maybe()
	env.OnActivity(Cleanup.Name(), mock.Anything, testJobID).Return(func(ctx context.Context, _ string) error {
		h.cleanups = append(h.cleanups, activity.GetInfo(ctx).TaskQueue)
		return nil
	}).Maybe()
	return env, h
}

// testHostQueue is the task queue of the worker holding the job's files.
const testHostQueue = "riptide-host-test"

// onQueue asserts that an activity runs on the task queue q.
func onQueue[In, Out any](t *testing.T, q string, out Out, err error) func(context.Context, In) (Out, error) {
	return func(ctx context.Context, _ In) (Out, error) {
		require.Equal(t, q, activity.GetInfo(ctx).TaskQueue, activity.GetInfo(ctx).ActivityType.Name)
		return out, err
	}
}

func mockPipeline(env *testsuite.TestWorkflowEnvironment) {
	env.OnActivity(Download.Name(), mock.Anything, DownloadInput{
		JobID: testJobID, URL: "https://media.example/show/ep1", Subtitles: true, Format: "mp4",
	}).Return(okDownload, nil).Once()
	env.OnActivity(Mux.Name(), mock.Anything, MuxInput{
		JobID: testJobID, Inputs: okDownload.Files, Format: "mp4",
		Title: okDownload.Title, ReleaseDate: okDownload.ReleaseDate, Description: okDownload.Description,
	}).Return(okMux, nil).Once()
	env.OnActivity(Upload.Name(), mock.Anything, UploadInput{
		JobID: testJobID, Path: okMux.Path, Key: "my-folder/episode-one-pilot-3f1b0c8e.mp4",
		Subtitles: okDownload.Subtitles, Cleanup: true,
	}).Return(okUpload, nil).Once()
}

func TestJobHappyPathSendsProgressInOrderThenCompleted(t *testing.T) {
	env, h := newEnv(t)
	mockPipeline(env)
	env.ExecuteWorkflow(Job, testInput())

	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var st JobState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, StatusCompleted, st.Status)
	require.Equal(t, StepFinished, st.Step)
	require.Equal(t, 100, st.ProgressPercent)
	require.Equal(t, okUpload.Key, st.Key)
	require.Equal(t, int64(1200), st.FileSizeBytes)
	require.Equal(t, okUpload.SubtitleKeys[0], st.SubtitleKey)
	require.Equal(t, okDownload.Title, st.Title)

	require.Equal(t, []string{
		"progress:downloading", "progress:download_complete", "progress:muxing",
		"progress:mux_complete", "progress:uploading", "job_completed",
	}, h.types())
	wantPercent := []float64{0, 33, 33, 66, 66}
	for i, p := range wantPercent {
		require.Equal(t, p, h.bodies[i]["progress_percent"], "stage %d", i)
		require.Equal(t, testJobID, h.bodies[i]["job_id"])
		require.Equal(t, "https://media.example/show/ep1", h.bodies[i]["url"])
	}
	require.Equal(t, map[string]any{
		"type": "job_completed", "job_id": testJobID, "status": "completed",
		"url": "https://media.example/show/ep1", "key": okUpload.Key, "folder": "my-folder",
		"title": okDownload.Title, "description": okDownload.Description,
		"release_date": okDownload.ReleaseDate, "subtitle_key": okUpload.SubtitleKeys[0], "thumbnail_key": nil,
		"s3_key": okUpload.Key, "s3_url": okUpload.URL, "file_size_bytes": float64(1200),
	}, h.bodies[5])
	// Every event has its own stable id.
	seen := map[string]bool{}
	for _, id := range h.ids {
		require.False(t, seen[id], "duplicate event id %s", id)
		seen[id] = true
	}
	env.AssertExpectations(t)
}

func TestJobWithoutProgressWebhookSendsOnlyCompletion(t *testing.T) {
	env, h := newEnv(t)
	mockPipeline(env)
	in := testInput()
	in.EnableProgressWebhook = false
	env.ExecuteWorkflow(Job, in)
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, []string{"job_completed"}, h.types())
}

func TestJobUnknownMetadataIsNullNotMissing(t *testing.T) {
	env, h := newEnv(t)
	env.OnActivity(Download.Name(), mock.Anything, mock.Anything).Return(&DownloadResult{Files: []string{"/w/a.mp4"}, NeedsMux: true}, nil)
	env.OnActivity(Mux.Name(), mock.Anything, mock.Anything).Return(okMux, nil)
	env.OnActivity(Upload.Name(), mock.Anything, mock.MatchedBy(func(in UploadInput) bool {
		return in.Key == "media-3f1b0c8e.mp4"
	})).Return(&UploadResult{Key: "media-3f1b0c8e.mp4", URL: "u", Bytes: 5}, nil)
	in := testInput()
	in.Folder, in.EnableProgressWebhook = "", false
	env.ExecuteWorkflow(Job, in)
	require.NoError(t, env.GetWorkflowError())
	body := h.bodies[0]
	for _, k := range []string{"folder", "title", "description", "release_date", "subtitle_key", "thumbnail_key"} {
		v, ok := body[k]
		require.True(t, ok, "key %s missing", k)
		require.Nil(t, v, "key %s", k)
	}
}

func TestJobRetriesTechnicalErrorThenSucceeds(t *testing.T) {
	env, h := newEnv(t)
	env.OnActivity(Download.Name(), mock.Anything, mock.Anything).
		Return(nil, temporal.NewApplicationError("HTTP Error 503", ErrTypeTechnical)).Twice()
	mockPipeline(env)
	env.ExecuteWorkflow(Job, testInput())
	require.NoError(t, env.GetWorkflowError())
	// Retries happen inside the activity: progress is still announced once.
	require.Equal(t, []string{
		"progress:downloading", "progress:download_complete", "progress:muxing",
		"progress:mux_complete", "progress:uploading", "job_completed",
	}, h.types())
	env.AssertExpectations(t)
}

func TestJobTechnicalFailureSendsJobFailed(t *testing.T) {
	env, h := newEnv(t)
	env.OnActivity(Download.Name(), mock.Anything, mock.Anything).
		Return(nil, temporal.NewApplicationError("Sign in to confirm you're not a bot", ErrTypeTechnical)).
		Times(int(downloadOptions.RetryPolicy.MaximumAttempts))
	in := testInput()
	in.EnableProgressWebhook = false
	env.ExecuteWorkflow(Job, in)

	err := env.GetWorkflowError()
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr))
	require.Equal(t, ErrTypeTechnical, appErr.Type())
	require.Equal(t, []map[string]any{{
		"type": "job_failed", "job_id": testJobID, "status": "failed",
		"url": "https://media.example/show/ep1", "error": "Sign in to confirm you're not a bot",
	}}, h.bodies)
	env.AssertExpectations(t)
}

func TestJobContentWarningIsSilent(t *testing.T) {
	env, h := newEnv(t)
	env.OnActivity(Download.Name(), mock.Anything, mock.Anything).
		Return(nil, temporal.NewNonRetryableApplicationError("Private video", ErrTypeContentUnavailable, nil)).Once()
	in := testInput()
	in.EnableProgressWebhook = false
	env.ExecuteWorkflow(Job, in)
	require.NoError(t, env.GetWorkflowError())
	var st JobState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, StatusWarning, st.Status)
	require.Equal(t, "Private video", st.Error)
	require.Empty(t, h.bodies, "content warnings send no webhook")
	env.AssertExpectations(t)
}

func TestJobDRMIsSkipped(t *testing.T) {
	env, h := newEnv(t)
	env.OnActivity(Download.Name(), mock.Anything, mock.Anything).
		Return(nil, temporal.NewNonRetryableApplicationError("This video is DRM protected", ErrTypeDRMProtected, nil)).Once()
	in := testInput()
	in.EnableProgressWebhook = false
	env.ExecuteWorkflow(Job, in)
	require.NoError(t, env.GetWorkflowError())
	var st JobState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, StatusSkipped, st.Status)
	require.Equal(t, []map[string]any{{
		"type": "job_skipped", "job_id": testJobID, "status": "skipped",
		"url": "https://media.example/show/ep1", "reason": "This video is DRM protected",
	}}, h.bodies)
}

func TestJobDeadWebhookReceiverStillCompletes(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(Job)
	registerActivityStubs(env)
	var attempts []string
	env.OnActivity(DeliverWebhook.Name(), mock.Anything, mock.Anything).Return(
		func(_ context.Context, in WebhookInput) (*WebhookAttempt, error) {
			attempts = append(attempts, in.EventID)
			if len(attempts) == 2 {
				// An attempt that does not finish is recorded too.
				return nil, temporal.NewApplicationError("worker lost", ErrTypeTechnical)
			}
			return &WebhookAttempt{Error: "connection refused"}, nil
		})
	mockPipeline(env)
	env.ExecuteWorkflow(Job, testInput())

	require.NoError(t, env.GetWorkflowError())
	var st JobState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, StatusCompleted, st.Status)
	// The first progress event and the completion event each get the full
	// 4 attempts; the remaining progress events are dropped once the
	// receiver is known to be down.
	require.Len(t, attempts, 2*webhookMaxAttempts)
	require.Equal(t, "evt_"+testJobID+"_progress.downloading", attempts[0])
	require.Equal(t, "evt_"+testJobID+"_job_completed", attempts[len(attempts)-1])

	// Every attempt is in the record; the dropped progress events too.
	var statuses []string
	for _, ev := range st.Webhooks {
		statuses = append(statuses, ev.Type+":"+ev.Status)
	}
	require.Equal(t, []string{"progress:failed", "progress:dropped", "progress:dropped", "progress:dropped",
		"progress:dropped", "job_completed:failed"}, statuses)
	require.Len(t, st.Webhooks[0].Attempts, webhookMaxAttempts)
	require.Equal(t, "connection refused", st.Webhooks[0].Attempts[0].Error)
	require.Contains(t, st.Webhooks[0].Attempts[1].Error, "worker lost")
	require.Len(t, st.Webhooks[5].Attempts, webhookMaxAttempts)
}

func TestJobWebhookGoneStopsAndRetryAfterIsRecorded(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(Job)
	registerActivityStubs(env)
	calls := 0
	env.OnActivity(DeliverWebhook.Name(), mock.Anything, mock.Anything).Return(
		func(_ context.Context, in WebhookInput) (*WebhookAttempt, error) {
			calls++
			if calls == 1 {
				return &WebhookAttempt{StatusCode: 503, Error: "receiver answered 503", RetryAfterSeconds: 120}, nil
			}
			return &WebhookAttempt{StatusCode: 410, Error: "gone", Final: true}, nil
		})
	mockPipeline(env)
	in := testInput()
	in.EnableProgressWebhook = false
	start := env.Now()
	env.ExecuteWorkflow(Job, in)

	require.NoError(t, env.GetWorkflowError())
	var st JobState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, 2, calls, "410 Gone stops the retries")
	require.Len(t, st.Webhooks, 1)
	require.Equal(t, WebhookFailed, st.Webhooks[0].Status)
	require.Equal(t, []int{503, 410}, []int{st.Webhooks[0].Attempts[0].StatusCode, st.Webhooks[0].Attempts[1].StatusCode})
	// The workflow waited out the receiver's Retry-After (test time skips).
	require.GreaterOrEqual(t, env.Now().Sub(start), 120*time.Second)
}

func TestRedeliverWebhookRetriesAndRecords(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(RedeliverWebhook)
	registerActivityStubs(env)
	in := WebhookInput{URL: "https://hooks.example/h", EventID: "evt_1_job_completed", Body: []byte(`{"type":"job_completed"}`)}
	calls := 0
	env.OnActivity(DeliverWebhook.Name(), mock.Anything, in).Return(
		func(context.Context, WebhookInput) (*WebhookAttempt, error) {
			calls++
			if calls == 1 {
				return &WebhookAttempt{StatusCode: 500, Error: "receiver answered 500"}, nil
			}
			return &WebhookAttempt{StatusCode: 200, Delivered: true}, nil
		})
	env.ExecuteWorkflow(RedeliverWebhook, RedeliverInput{JobID: "1", Event: in, Type: "job_completed"})
	require.NoError(t, env.GetWorkflowError())
	var ev WebhookEvent
	require.NoError(t, env.GetWorkflowResult(&ev))
	require.Equal(t, WebhookDelivered, ev.Status)
	require.Equal(t, "evt_1_job_completed", ev.EventID)
	require.Len(t, ev.Attempts, 2)
}

func TestWebhookBackoff(t *testing.T) {
	for attempt := 1; attempt <= 3; attempt++ {
		base := webhookInitialBackoff << (attempt - 1)
		seen := map[time.Duration]bool{}
		for _, id := range []string{"evt_a", "evt_b", "evt_c", "evt_d"} {
			d := webhookBackoff(id, attempt, 0)
			require.GreaterOrEqual(t, d, base*3/4)
			require.Less(t, d, base*5/4)
			require.Equal(t, d, webhookBackoff(id, attempt, 0), "deterministic for replay")
			seen[d] = true
		}
		require.Greater(t, len(seen), 1, "jitter spreads events")
	}
	require.Equal(t, 90*time.Second, webhookBackoff("evt_a", 1, 90), "Retry-After wins when longer")
}

func TestJobStatusQueryAndMemoDuringRun(t *testing.T) {
	env, _ := newEnv(t)
	env.OnActivity(Download.Name(), mock.Anything, mock.Anything).Return(okDownload, nil)
	env.OnActivity(Mux.Name(), mock.Anything, mock.Anything).Return(
		func(context.Context, MuxInput) (*MuxResult, error) {
			v, err := env.QueryWorkflow(StatusQuery)
			require.NoError(t, err)
			var st JobState
			require.NoError(t, v.Get(&st))
			require.Equal(t, StatusProcessing, st.Status)
			require.Equal(t, StepMuxing, st.Step)
			require.Equal(t, 33, st.ProgressPercent)
			require.Equal(t, okDownload.Title, st.Title)
			return okMux, nil
		})
	env.OnActivity(Upload.Name(), mock.Anything, mock.Anything).Return(okUpload, nil)
	// Without webhooks: the test environment runs this query on the
	// activity's goroutine, concurrently with the notifier coroutine
	// recording attempts, which a real worker never does.
	in := testInput()
	in.WebhookURL = ""
	env.ExecuteWorkflow(Job, in)
	require.NoError(t, env.GetWorkflowError())
}

func TestJobRejectsEmptyInput(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(Job)
	env.ExecuteWorkflow(Job, JobInput{JobID: testJobID})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(env.GetWorkflowError(), &appErr))
	require.Equal(t, ErrTypeInvalidInput, appErr.Type())
}

func TestObjectKey(t *testing.T) {
	for _, c := range []struct{ folder, title, want string }{
		{"", "", "media-3f1b0c8e.mp4"},
		{"shows/a", "Hello, World! (Live)", "shows/a/hello-world-live-3f1b0c8e.mp4"},
		{"x", "Épisode ünïcode ---", "x/épisode-ünïcode-3f1b0c8e.mp4"},
		{"", "../../etc/passwd", "etc-passwd-3f1b0c8e.mp4"},
	} {
		require.Equal(t, c.want, ObjectKey(c.folder, c.title, testJobID, "mp4"), c.title)
	}
}

func TestJobFeedMetadataWinsOverMediaTags(t *testing.T) {
	env, h := newEnv(t)
	env.OnActivity(Download.Name(), mock.Anything, mock.Anything).Return(okDownload, nil)
	var muxed MuxInput
	env.OnActivity(Mux.Name(), mock.Anything, mock.Anything).Return(func(_ context.Context, in MuxInput) (*MuxResult, error) {
		muxed = in
		return okMux, nil
	})
	env.OnActivity(Upload.Name(), mock.Anything, mock.Anything).Return(okUpload, nil)
	in := testInput()
	in.EnableProgressWebhook = false
	// A batch episode: the feed knows the title and date, not a description.
	in.Title, in.ReleaseDate = "Episode 12: The Feed's Title", "2025-03-01T00:00:00Z"
	env.ExecuteWorkflow(Job, in)
	require.NoError(t, env.GetWorkflowError())

	body := h.bodies[len(h.bodies)-1]
	require.Equal(t, in.Title, body["title"])
	require.Equal(t, in.ReleaseDate, body["release_date"])
	require.Equal(t, okDownload.Description, body["description"], "media tags fill what the feed lacks")
	require.Equal(t, in.Title, muxed.Title, "the file's own metadata matches the webhook")
}

// TestJobOptionsReachTheActivities: the job options travel in the activity
// inputs (no new commands), the filename names the object and the
// thumbnail's key is reported.
func TestJobOptionsReachTheActivities(t *testing.T) {
	env, h := newEnv(t)
	in := testInput()
	in.EnableProgressWebhook, in.DownloadSubtitles, in.Format = false, false, "mp3"
	in.JobOptions = JobOptions{MaxHeight: 720, Filename: "talk.mp3", Thumbnail: true, ClipStart: 1.5, ClipEnd: 9, MaxDuration: 60}
	dl := &DownloadResult{Files: []string{"/w/src.a.webm"}, Thumbnail: "/w/thumb.webp", Title: "Talk", HostQueue: testHostQueue, NeedsMux: true}
	mux := &MuxResult{Path: "/w/output.mp3", Bytes: 10, Thumbnail: "/w/thumb.webp"}
	up := &UploadResult{Key: "my-folder/talk.mp3", URL: "u", Bytes: 10, ThumbnailKey: "my-folder/talk.webp"}
	env.OnActivity(Download.Name(), mock.Anything, DownloadInput{
		JobID: testJobID, URL: in.URL, Format: "mp3", MaxHeight: 720, MaxDuration: 60, Thumbnail: true,
		ClipStart: 1.5, ClipEnd: 9,
	}).Return(dl, nil).Once()
	env.OnActivity(Mux.Name(), mock.Anything, MuxInput{
		JobID: testJobID, Inputs: dl.Files, Format: "mp3", Title: "Talk",
		ClipStart: 1.5, ClipEnd: 9, Thumbnail: true, ThumbnailPath: "/w/thumb.webp",
	}).Return(mux, nil).Once()
	env.OnActivity(Upload.Name(), mock.Anything, UploadInput{
		JobID: testJobID, Path: mux.Path, Key: "my-folder/talk.mp3", Thumbnail: "/w/thumb.webp", Cleanup: true,
	}).Return(up, nil).Once()
	env.ExecuteWorkflow(Job, in)
	require.NoError(t, env.GetWorkflowError())
	var st JobState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, "my-folder/talk.webp", st.ThumbnailKey)
	require.Equal(t, "my-folder/talk.webp", h.bodies[0]["thumbnail_key"])
	env.AssertExpectations(t)
}

func TestEpisodeFilenameKeepsEpisodesApart(t *testing.T) {
	require.Equal(t, "show-3f1b0c8e.mp3", EpisodeFilename("show.mp3", testJobID))
	require.Equal(t, "a.b-3f1b0c8e.mp4", EpisodeFilename("a.b.mp4", testJobID))
	require.Empty(t, EpisodeFilename("", testJobID))
}

// TestJobChainFollowsItsFilesToTheHost: the download runs on the workflows'
// queue (any worker with room); the mux and the upload go to the queue of
// the worker that downloaded, and the upload removes the files (no
// Cleanup). Webhooks go to their own queue, apart from the control queue.
func TestJobChainFollowsItsFilesToTheHost(t *testing.T) {
	env, h := newEnv(t)
	env.OnActivity(Download.Name(), mock.Anything, mock.Anything).Return(
		onQueue[DownloadInput](t, "default-test-taskqueue", okDownload, nil)).Once()
	env.OnActivity(Mux.Name(), mock.Anything, mock.Anything).Return(onQueue[MuxInput](t, testHostQueue, okMux, nil)).Once()
	env.OnActivity(Upload.Name(), mock.Anything, mock.MatchedBy(func(in UploadInput) bool { return in.Cleanup })).
		Return(onQueue[UploadInput](t, testHostQueue, okUpload, nil)).Once()
	env.ExecuteWorkflow(Job, testInput())
	require.NoError(t, env.GetWorkflowError())
	env.AssertExpectations(t)
	require.Empty(t, h.cleanups)
	require.NotEmpty(t, h.queues)
	for _, q := range h.queues {
		require.Equal(t, WebhookQueue("default-test-taskqueue"), q)
	}
}

// TestJobLostHostRestartsTheChain: when the worker holding the files is
// gone (here: its files are), the chain starts again from the download,
// and progress is not announced twice.
func TestJobLostHostRestartsTheChain(t *testing.T) {
	env, h := newEnv(t)
	env.OnActivity(Download.Name(), mock.Anything, mock.Anything).Return(okDownload, nil).Twice()
	env.OnActivity(Mux.Name(), mock.Anything, mock.Anything).Return(nil,
		temporal.NewNonRetryableApplicationError("the job's files are no longer on this worker", ErrTypeFilesGone, nil)).Once()
	env.OnActivity(Mux.Name(), mock.Anything, mock.Anything).Return(okMux, nil).Once()
	env.OnActivity(Upload.Name(), mock.Anything, mock.Anything).Return(okUpload, nil).Once()
	env.ExecuteWorkflow(Job, testInput())
	require.NoError(t, env.GetWorkflowError())
	env.AssertExpectations(t)
	require.Empty(t, h.cleanups, "a lost worker's files went with it")
	require.Equal(t, []string{
		"progress:downloading", "progress:download_complete", "progress:muxing",
		"progress:mux_complete", "progress:uploading", "job_completed",
	}, h.types())
}

// TestJobSkipsAMuxWithNothingToDo: a download that already is the
// requested file goes straight to the upload (no mux activity, no workflow
// task waiting for one), and the client still sees all six stages.
func TestJobSkipsAMuxWithNothingToDo(t *testing.T) {
	env, h := newEnv(t)
	dl := *okDownload
	dl.Files = []string{"/w/source.mp4"}
	dl.Media = &MediaInfo{Container: "mp4", Video: 1, Audio: 1}
	dl.NeedsMux = false // Download's verdict: the file already is an MP4 (activities: TestMuxNeeded)
	env.OnActivity(Download.Name(), mock.Anything, mock.Anything).Return(&dl, nil).Once()
	env.OnActivity(Mux.Name(), mock.Anything, mock.Anything).Return(func(context.Context, MuxInput) (*MuxResult, error) {
		t.Error("Mux ran for a download that already is the requested file")
		return okMux, nil
	}).Maybe()
	env.OnActivity(Upload.Name(), mock.Anything, mock.MatchedBy(func(in UploadInput) bool {
		return in.Path == "/w/source.mp4" && in.Cleanup
	})).Return(onQueue[UploadInput](t, testHostQueue, okUpload, nil)).Once()
	env.ExecuteWorkflow(Job, testInput())
	require.NoError(t, env.GetWorkflowError())
	env.AssertExpectations(t)
	require.Equal(t, []string{
		"progress:downloading", "progress:download_complete", "progress:muxing",
		"progress:mux_complete", "progress:uploading", "job_completed",
	}, h.types())

	// A thumbnail still to be grabbed from the file needs the mux: the
	// download says so.
	env, _ = newEnv(t)
	withThumb := dl
	withThumb.NeedsMux = true
	env.OnActivity(Download.Name(), mock.Anything, mock.MatchedBy(func(in DownloadInput) bool { return in.Thumbnail })).
		Return(&withThumb, nil).Once()
	env.OnActivity(Mux.Name(), mock.Anything, mock.MatchedBy(func(in MuxInput) bool { return in.Thumbnail })).
		Return(onQueue[MuxInput](t, testHostQueue, okMux, nil)).Once()
	env.OnActivity(Upload.Name(), mock.Anything, mock.Anything).Return(okUpload, nil).Once()
	in := testInput()
	in.Thumbnail = true
	env.ExecuteWorkflow(Job, in)
	require.NoError(t, env.GetWorkflowError())
	env.AssertExpectations(t)
}

// TestJobMuxFailureCleansUpOnTheHost: a failure after the download removes
// the files on the worker holding them, then reports job_failed.
func TestJobMuxFailureCleansUpOnTheHost(t *testing.T) {
	env, h := newEnv(t)
	env.OnActivity(Download.Name(), mock.Anything, mock.Anything).Return(okDownload, nil).Once()
	env.OnActivity(Mux.Name(), mock.Anything, mock.Anything).Return(nil,
		temporal.NewNonRetryableApplicationError("no audio stream", ErrTypeUnsupported, nil)).Once()
	in := testInput()
	in.EnableProgressWebhook = false
	env.ExecuteWorkflow(Job, in)
	require.Error(t, env.GetWorkflowError())
	env.AssertExpectations(t)
	require.Equal(t, []string{testHostQueue}, h.cleanups)
	require.Equal(t, []string{"job_failed"}, h.types())
}

func TestHostLost(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		lost bool
	}{
		{"schedule-to-start timeout", temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START, nil), true},
		{"files gone", temporal.NewNonRetryableApplicationError("gone", ErrTypeFilesGone, nil), true},
		{"heartbeat timeout", temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_HEARTBEAT, nil), false},
		{"technical", temporal.NewApplicationError("503", ErrTypeTechnical), false},
		{"none", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.lost, errors.Is(hostLost(tc.err), errWorkerLost))
		})
	}
}
