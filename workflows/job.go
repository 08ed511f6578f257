package workflows

import (
	"cmp"
	"errors"
	"fmt"
	"path"
	"strings"
	"unicode"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riptide-dev/riptide/activities"
	"github.com/riptide-dev/riptide/internal/webhook"
)

// a names activities for ExecuteActivity; it is never dereferenced.
var a *activities.Activities

// retrySessionCreationChange versions the retry of a failed session
// creation (workflow.GetVersion).
const retrySessionCreationChange = "retry-session-creation"

// lifecycleChange versions what jobs started before cancellation and
// listing existed do not do: upsert RiptideStatus as the status changes, and
// on cancellation wait for the transfer activity to stop, clean up from a
// disconnected context and end as Cancelled.
const lifecycleChange = "job-lifecycle"

// hostQueueChange versions the end of worker sessions: jobs started after
// it send the mux, the upload and the clean-up to the task queue of the
// worker that downloaded (activities/host.go). A session cost a creation
// activity, a signal, a cancellation and a completion activity per job:
// three workflow tasks of eight. Version 2 also skips the mux when it
// would do nothing (activities.MuxNeeded), saving a workflow task and an
// activity task.
const hostQueueChange = "host-task-queue"

// errSessionLost marks a chain that stopped because its worker went away.
var errSessionLost = errors.New("the worker running this job's transfers stopped")

// Job downloads one media URL, muxes it, uploads it to S3 and notifies the
// client's webhook. Its JobState lives in the memo for the API to read.
func Job(ctx workflow.Context, in JobInput) (*JobState, error) {
	if in.JobID == "" || in.URL == "" {
		return nil, temporal.NewNonRetryableApplicationError("job_id and url are required", activities.ErrTypeInvalidInput, nil)
	}
	if in.Format == "" {
		in.Format = DefaultFormat
	}
	j := &job{
		in:     in,
		logger: log.With(workflow.GetLogger(ctx), "job_id", in.JobID),
		state: JobState{
			JobID:     in.JobID,
			URL:       in.URL,
			Folder:    in.Folder,
			RetryOf:   in.RetryOf,
			Status:    StatusPending,
			Step:      StepQueued,
			UpdatedAt: workflow.Now(ctx),
		},
	}
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (JobState, error) { return j.state, nil }); err != nil {
		return nil, err
	}
	// Started with RiptideStatus Pending (jobs.StartOptions, the batch's
	// child options).
	j.lifecycle = workflow.GetVersion(ctx, lifecycleChange, workflow.DefaultVersion, 1) == 1
	// Jobs started with it also have lifecycleChange.
	host := workflow.GetVersion(ctx, hostQueueChange, workflow.DefaultVersion, 2)
	j.hostQueue, j.skipIdleMux = host >= 1, host >= 2
	j.indexed = StatusPending
	j.webhooks = newNotifier(ctx, in.WebhookURL, j.logger, &j.state.Webhooks, j.saveState)
	return j.run(ctx)
}

type job struct {
	in       JobInput
	state    JobState
	logger   log.Logger
	webhooks *notifier
	// sent records progress stages already announced, so a chain restarted
	// on another worker does not announce them twice.
	sent map[string]bool
	// lifecycle is set for jobs started after lifecycleChange; indexed is
	// the status last written to the RiptideStatus search attribute.
	lifecycle bool
	indexed   string
	// hostQueue is set for jobs started after hostQueueChange, skipIdleMux
	// for those started after its version 2.
	hostQueue, skipIdleMux bool
}

func (j *job) run(ctx workflow.Context) (*JobState, error) {
	up, dl, err := j.transfer(ctx)
	if err != nil && ctx.Err() != nil && j.lifecycle {
		return nil, j.cancelled(ctx)
	}
	switch errType := applicationErrorType(err); {
	case err == nil:
		j.state.Key = up.Key
		j.state.FileSizeBytes = up.Bytes
		if len(up.SubtitleKeys) > 0 {
			j.state.SubtitleKey = up.SubtitleKeys[0]
		}
		j.state.ThumbnailKey = up.ThumbnailKey
		j.state.ProgressPercent = webhook.StageCompleted.Percent
		j.finish(ctx, StatusCompleted, "")
		j.webhooks.send(webhook.TypeJobCompleted, j.eventID(webhook.TypeJobCompleted), webhook.JobCompleted{
			Type:          webhook.TypeJobCompleted,
			JobID:         j.in.JobID,
			Status:        "completed",
			URL:           j.in.URL,
			Key:           up.Key,
			Folder:        nullable(j.in.Folder),
			Title:         nullable(dl.Title),
			Description:   nullable(dl.Description),
			ReleaseDate:   nullable(dl.ReleaseDate),
			SubtitleKey:   nullable(j.state.SubtitleKey),
			ThumbnailKey:  nullable(j.state.ThumbnailKey),
			S3Key:         up.Key,
			S3URL:         up.URL,
			FileSizeBytes: up.Bytes,
		})
	case errType == activities.ErrTypeContentUnavailable:
		// Content warnings are silent: the hosted service sends no webhook.
		j.finish(ctx, StatusWarning, errorMessage(err))
	case errType == activities.ErrTypeDRMProtected:
		j.finish(ctx, StatusSkipped, errorMessage(err))
		j.webhooks.send(webhook.TypeJobSkipped, j.eventID(webhook.TypeJobSkipped), webhook.JobSkipped{
			Type:   webhook.TypeJobSkipped,
			JobID:  j.in.JobID,
			Status: "skipped",
			URL:    j.in.URL,
			Reason: errorMessage(err),
		})
	default:
		j.finish(ctx, StatusFailed, errorMessage(err))
		j.webhooks.send(webhook.TypeJobFailed, j.eventID(webhook.TypeJobFailed), webhook.JobFailed{
			Type:   webhook.TypeJobFailed,
			JobID:  j.in.JobID,
			Status: "failed",
			URL:    j.in.URL,
			Error:  errorMessage(err),
		})
	}
	// The job's outcome is settled; webhooks only report it, so a receiver
	// that never answers delays the workflow's end but never changes it.
	j.webhooks.drain(ctx)
	j.reportToBatch(ctx)
	if j.state.Status == StatusFailed {
		return nil, err
	}
	return &j.state, nil
}

// cancelled ends a job cancelled before it finished: its transfer stopped
// and its files are gone (chain). No webhook: the hosted service has no
// cancellation event, and the client asked for the cancellation.
func (j *job) cancelled(ctx workflow.Context) error {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	j.finish(dctx, StatusCancelled, "cancelled")
	j.reportToBatch(ctx)
	return temporal.NewCanceledError()
}

// reportToBatch tells the batch that started this job how it ended. Jobs
// started through the API have no parent and send nothing, so their command
// sequence (and the committed histories) are unchanged. The batch's
// workflow ID without a run ID reaches whichever run is current after
// continue-as-new. A cancelled job still reports, from a disconnected
// context.
func (j *job) reportToBatch(ctx workflow.Context) {
	parent := workflow.GetInfo(ctx).ParentWorkflowExecution
	if parent == nil {
		return
	}
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	err := workflow.SignalExternalWorkflow(ctx, parent.ID, "", EpisodeDoneSignal,
		EpisodeDone{JobID: j.in.JobID, Status: j.state.Status}).Get(ctx, nil)
	if err != nil {
		// The batch is gone (terminated): nobody is left to count this job.
		j.logger.Warn("Reporting to the batch failed", "batch_workflow_id", parent.ID, "error", err)
	}
}

// transfer runs download → mux → upload on one worker, starting the chain
// again on another worker when the first one dies.
func (j *job) transfer(ctx workflow.Context) (*activities.UploadResult, *activities.DownloadResult, error) {
	chain := j.chain
	if j.hostQueue {
		chain = j.hostChain
	}
	for attempt := 1; ; attempt++ {
		up, dl, err := chain(ctx)
		if !errors.Is(err, errSessionLost) || attempt == maxChainAttempts {
			return up, dl, err
		}
		j.logger.Warn("Worker lost; restarting the job on another worker", "attempt", attempt)
	}
}

// hostChain downloads on any worker with room (on the workflows' queue,
// whose activity slots are that room; see ControlQueue), then muxes and
// uploads on that worker through its own task queue. The upload removes the
// files; a failure or a cancellation after the download removes them with
// Cleanup there. A download cleans up after its own failure.
func (j *job) hostChain(ctx workflow.Context) (up *activities.UploadResult, dl *activities.DownloadResult, err error) {
	j.step(ctx, StepDownloading, webhook.StageDownloading)
	dlCtx := workflow.WithActivityOptions(ctx, j.transferOptions(downloadOptions))
	err = workflow.ExecuteActivity(dlCtx, a.Download, j.downloadInput()).Get(ctx, &dl)
	if err != nil {
		return nil, nil, err
	}
	host := dl.HostQueue
	defer func() {
		if err = hostLost(err); err == nil || errors.Is(err, errSessionLost) {
			// Uploaded and removed; or the worker is gone, and its files
			// with it (a worker empties its work directory as it starts).
			return
		}
		cleanupCtx := workflow.WithActivityOptions(ctx, onHost(cleanupOptions, host))
		if ctx.Err() != nil {
			cleanupCtx, _ = workflow.NewDisconnectedContext(cleanupCtx)
		}
		if cerr := workflow.ExecuteActivity(cleanupCtx, a.Cleanup, j.in.JobID).Get(cleanupCtx, nil); cerr != nil {
			j.logger.Warn("Cleanup failed", "error", cerr)
		}
	}()
	j.mergeMetadata(ctx, dl)

	var mux activities.MuxResult
	if muxIn := j.muxInput(dl); !j.skipIdleMux || activities.MuxNeeded(muxIn) {
		j.step(ctx, StepMuxing, webhook.StageMuxing)
		muxCtx := workflow.WithActivityOptions(ctx, onHost(j.transferOptions(muxOptions), host))
		if err = workflow.ExecuteActivity(muxCtx, a.Mux, muxIn).Get(ctx, &mux); err != nil {
			return nil, nil, err
		}
	} else {
		// The download is the file: the mux stage passes at once.
		mux = activities.MuxResult{Path: dl.Files[0], Bytes: dl.Bytes, Kept: true, Thumbnail: dl.Thumbnail}
		j.progress(ctx, webhook.StageMuxing)
	}
	j.progress(ctx, webhook.StageMuxComplete)

	j.step(ctx, StepUploading, webhook.StageUploading)
	upCtx := workflow.WithActivityOptions(ctx, onHost(j.transferOptions(uploadOptions), host))
	upIn := j.uploadInput(dl, &mux)
	upIn.Cleanup = true
	if err = workflow.ExecuteActivity(upCtx, a.Upload, upIn).Get(ctx, &up); err != nil {
		return nil, nil, err
	}
	return up, dl, nil
}

// onHost sends an activity to the worker holding the job's files.
func onHost(o workflow.ActivityOptions, queue string) workflow.ActivityOptions {
	o.TaskQueue = queue
	o.ScheduleToStartTimeout = hostScheduleToStart
	return o
}

// hostLost tells a dead worker from other failures: its queue is never
// polled again, so the activity timed out waiting to start, or the files
// are gone from it.
func hostLost(err error) error {
	var timeoutErr *temporal.TimeoutError
	if errors.As(err, &timeoutErr) && timeoutErr.TimeoutType() == enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START ||
		applicationErrorType(err) == activities.ErrTypeFilesGone {
		return fmt.Errorf("%w: %v", errSessionLost, err)
	}
	return err
}

func (j *job) downloadInput() activities.DownloadInput {
	return activities.DownloadInput{
		JobID: j.in.JobID, URL: j.in.URL, Subtitles: j.in.DownloadSubtitles,
		AudioOnly: activities.IsAudioFormat(j.in.Format), MaxHeight: j.in.MaxHeight,
		MaxDuration: j.in.MaxDuration, Thumbnail: j.in.Thumbnail,
	}
}

// mergeMetadata announces the end of the download with the job's metadata:
// a batch's feed describes its episodes better than the media's own tags
// (often just "Episode 12"); the tags fill in what it lacks.
func (j *job) mergeMetadata(ctx workflow.Context, dl *activities.DownloadResult) {
	dl.Title = cmp.Or(j.in.Title, dl.Title)
	dl.Description = cmp.Or(j.in.Description, dl.Description)
	dl.ReleaseDate = cmp.Or(j.in.ReleaseDate, dl.ReleaseDate)
	j.state.Title, j.state.Description, j.state.ReleaseDate = dl.Title, dl.Description, dl.ReleaseDate
	j.progress(ctx, webhook.StageDownloadComplete)
}

func (j *job) muxInput(dl *activities.DownloadResult) activities.MuxInput {
	return activities.MuxInput{
		JobID: j.in.JobID, Inputs: dl.Files, Format: j.in.Format,
		Title: dl.Title, ReleaseDate: dl.ReleaseDate, Description: dl.Description, Media: dl.Media,
		ClipStart: j.in.ClipStart, ClipEnd: j.in.ClipEnd, Thumbnail: j.in.Thumbnail, ThumbnailPath: dl.Thumbnail,
	}
}

func (j *job) uploadInput(dl *activities.DownloadResult, mux *activities.MuxResult) activities.UploadInput {
	return activities.UploadInput{
		JobID: j.in.JobID, Path: mux.Path, Key: j.objectKey(dl.Title),
		Subtitles: dl.Subtitles, Thumbnail: mux.Thumbnail,
	}
}

// chain runs download → mux → upload in a worker session: jobs started
// before hostQueueChange.
func (j *job) chain(ctx workflow.Context) (up *activities.UploadResult, dl *activities.DownloadResult, err error) {
	sess, err := workflow.CreateSession(ctx, &sessionOptions)
	if err != nil {
		// Session creation fails when the worker that took the creation
		// task dies before confirming it (found by the batch restart
		// test). Treat it like a session lost later: try another worker.
		// Jobs that failed this way before the change keep failing on
		// replay.
		if ctx.Err() == nil && workflow.GetVersion(ctx, retrySessionCreationChange, workflow.DefaultVersion, 1) == 1 {
			err = fmt.Errorf("%w: %v", errSessionLost, err)
		}
		return nil, nil, err
	}
	defer func() {
		defer workflow.CompleteSession(sess)
		if workflow.GetSessionInfo(sess).SessionState == workflow.SessionStateFailed {
			// The worker is gone and its files with it (it empties its
			// work directory when it starts again).
			err = fmt.Errorf("%w: %v", errSessionLost, err)
			return
		}
		// Temporary files go on success and on failure.
		cleanupCtx := workflow.WithActivityOptions(sess, cleanupOptions)
		if j.lifecycle && ctx.Err() != nil {
			// A cancelled job cleans up too; the context keeps the session.
			cleanupCtx, _ = workflow.NewDisconnectedContext(cleanupCtx)
		}
		// result ends the wait if the session fails meanwhile: Cleanup
		// would wait forever on a dead worker's queue.
		if cerr := j.result(cleanupCtx, sess, workflow.ExecuteActivity(cleanupCtx, a.Cleanup, j.in.JobID), nil); cerr != nil {
			j.logger.Warn("Cleanup failed", "error", cerr)
		}
	}()

	j.step(ctx, StepDownloading, webhook.StageDownloading)
	dlCtx := workflow.WithActivityOptions(sess, j.transferOptions(downloadOptions))
	err = j.result(ctx, sess, workflow.ExecuteActivity(dlCtx, a.Download, j.downloadInput()), &dl)
	if err != nil {
		return nil, nil, err
	}
	j.mergeMetadata(ctx, dl)

	j.step(ctx, StepMuxing, webhook.StageMuxing)
	var mux activities.MuxResult
	muxCtx := workflow.WithActivityOptions(sess, j.transferOptions(muxOptions))
	err = j.result(ctx, sess, workflow.ExecuteActivity(muxCtx, a.Mux, j.muxInput(dl)), &mux)
	if err != nil {
		return nil, nil, err
	}
	j.progress(ctx, webhook.StageMuxComplete)

	j.step(ctx, StepUploading, webhook.StageUploading)
	upCtx := workflow.WithActivityOptions(sess, j.transferOptions(uploadOptions))
	err = j.result(ctx, sess, workflow.ExecuteActivity(upCtx, a.Upload, j.uploadInput(dl, &mux)), &up)
	if err != nil {
		return nil, nil, err
	}
	return up, dl, nil
}

// transferOptions makes a cancellation wait until the transfer activity
// has stopped: only then may Cleanup remove its files, and an upload has
// aborted its multipart upload.
func (j *job) transferOptions(o workflow.ActivityOptions) workflow.ActivityOptions {
	o.WaitForCancellation = j.lifecycle
	return o
}

// result waits for a transfer activity's result. A cancelled job waits
// until the activity has stopped (transferOptions), but not when the
// session's worker is gone: the activity's retry would wait on the dead
// worker's queue forever, so the lost session ends the wait (and the chain
// restarts elsewhere, or the cancelled job ends).
func (j *job) result(ctx, sess workflow.Context, f workflow.Future, out any) error {
	if !j.lifecycle {
		return f.Get(ctx, out)
	}
	// Await on ctx would return at once once the job is cancelled.
	wait, _ := workflow.NewDisconnectedContext(ctx)
	_ = workflow.Await(wait, func() bool {
		return f.IsReady() || workflow.GetSessionInfo(sess).SessionState == workflow.SessionStateFailed
	})
	if !f.IsReady() {
		return errSessionLost
	}
	return f.Get(wait, out)
}

// step records a new step in the memo and announces its stage.
func (j *job) step(ctx workflow.Context, step string, stage webhook.Stage) {
	j.state.Status, j.state.Step, j.state.ProgressPercent = StatusProcessing, step, stage.Percent
	j.saveState(ctx)
	j.progress(ctx, stage)
}

// progress queues a progress webhook once per stage, if the client asked.
func (j *job) progress(ctx workflow.Context, stage webhook.Stage) {
	if !j.in.EnableProgressWebhook || j.sent[stage.Name] {
		return
	}
	if j.sent == nil {
		j.sent = map[string]bool{}
	}
	j.sent[stage.Name] = true
	j.webhooks.sendProgress(webhook.TypeProgress, j.eventID(webhook.TypeProgress+"."+stage.Name), webhook.Progress{
		Type: webhook.TypeProgress, JobID: j.in.JobID, URL: j.in.URL,
		Stage: stage.Name, ProgressPercent: stage.Percent,
	})
}

func (j *job) finish(ctx workflow.Context, status, errMsg string) {
	j.state.Status, j.state.Step, j.state.Error = status, StepFinished, errMsg
	j.saveState(ctx)
}

func (j *job) saveState(ctx workflow.Context) {
	j.state.UpdatedAt = workflow.Now(ctx)
	if err := workflow.UpsertMemo(ctx, map[string]any{MemoKey: j.state}); err != nil {
		j.logger.Error("Saving job state to memo failed", "error", err)
	}
	if j.lifecycle && j.state.Status != j.indexed {
		j.indexed = j.state.Status
		if err := workflow.UpsertTypedSearchAttributes(ctx, StatusKey.ValueSet(j.state.Status)); err != nil {
			j.logger.Error("Indexing job status failed", "error", err)
		}
	}
}

// eventID identifies one event across delivery attempts.
func (j *job) eventID(kind string) string {
	return "evt_" + j.in.JobID + "_" + kind
}

// objectKey is where the media goes: the client's filename when it gave
// one, else the title slug.
func (j *job) objectKey(title string) string {
	if j.in.Filename != "" {
		return path.Join(j.in.Folder, j.in.Filename)
	}
	return ObjectKey(j.in.Folder, title, j.in.JobID, j.in.Format)
}

// EpisodeFilename is the filename of one episode of a batch that asked for
// a filename: the episode's short job ID goes before the extension, so
// episodes do not overwrite each other and a retry still lands on the same
// key.
func EpisodeFilename(name, jobID string) string {
	if name == "" {
		return ""
	}
	ext := path.Ext(name)
	return strings.TrimSuffix(name, ext) + "-" + shortID(jobID) + ext
}

func shortID(jobID string) string {
	if len(jobID) > 8 {
		return jobID[:8]
	}
	return jobID
}

// ObjectKey is the deterministic S3 key of a job's media: a retried upload
// overwrites the same object instead of adding another.
func ObjectKey(folder, title, jobID, format string) string {
	name := slug(title)
	if name == "" {
		name = "media"
	}
	return path.Join(folder, name+"-"+shortID(jobID)+"."+format)
}

// slug keeps a title readable in a key (letters of any script, digits,
// single dashes) while keeping path separators and punctuation out of it.
func slug(s string) string {
	var b strings.Builder
	n, dash := 0, false
	for _, r := range strings.ToLower(s) {
		if n >= 80 {
			break
		}
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
			n++
			dash = false
		case !dash && n > 0:
			b.WriteByte('-')
			n++
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}

func applicationErrorType(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Type()
	}
	return ""
}

// errorMessage is the readable cause of a failure, without the activity and
// workflow wrapping Temporal adds.
func errorMessage(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	var timeoutErr *temporal.TimeoutError
	if errors.As(err, &timeoutErr) {
		return "timed out: " + timeoutErr.TimeoutType().String()
	}
	if errors.Is(err, errSessionLost) {
		return errSessionLost.Error()
	}
	return err.Error()
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
