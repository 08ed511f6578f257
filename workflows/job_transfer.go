package workflows

import (
	"cmp"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// errWorkerLost marks a chain that stopped because its worker went away.
var errWorkerLost = errors.New("the worker running this job's transfers stopped")

// transfer runs download → mux → upload, starting the chain again from the
// download on another worker when the worker holding the files dies.
func (j *job) transfer(ctx workflow.Context) (*UploadResult, *DownloadResult, error) {
	for attempt := 1; ; attempt++ {
		up, dl, err := j.chain(ctx)
		if !errors.Is(err, errWorkerLost) || attempt == maxChainAttempts {
			return up, dl, err
		}
		j.logger.Warn("Worker lost; restarting the job on another worker", "attempt", attempt)
	}
}

// chain downloads on any worker with room (on the workflows' queue, whose
// activity slots are that room), then muxes and uploads on that worker
// through its own task queue (the samples-go file-processing pattern). The
// upload removes the files; after a failure or a cancellation past the
// download, Cleanup removes them there. A download cleans up after its own
// failure.
func (j *job) chain(ctx workflow.Context) (*UploadResult, *DownloadResult, error) {
	j.step(ctx, StepDownloading, StageDownloading)
	dl, err := Download.Execute(workflow.WithActivityOptions(ctx, downloadOptions), j.downloadInput())
	if err != nil {
		return nil, nil, err
	}
	j.mergeMetadata(ctx, dl)
	up, err := j.muxAndUpload(ctx, dl)
	if err = hostLost(err); err != nil && !errors.Is(err, errWorkerLost) {
		// The worker is alive and holds the files. (A lost worker's files
		// went with it: a worker empties its work directory as it starts.)
		j.cleanup(ctx, dl.HostQueue)
	}
	return up, dl, err
}

func (j *job) muxAndUpload(ctx workflow.Context, dl *DownloadResult) (*UploadResult, error) {
	mux := &MuxResult{Path: dl.Files[0], Bytes: dl.Bytes, Kept: true, Thumbnail: dl.Thumbnail}
	if dl.NeedsMux {
		j.step(ctx, StepMuxing, StageMuxing)
		var err error
		if mux, err = Mux.Execute(onHost(ctx, muxOptions, dl.HostQueue), j.muxInput(dl)); err != nil {
			return nil, err
		}
	} else {
		// The download is the file: the mux stage passes at once.
		j.progress(ctx, StageMuxing)
	}
	j.progress(ctx, StageMuxComplete)

	j.step(ctx, StepUploading, StageUploading)
	return Upload.Execute(onHost(ctx, uploadOptions, dl.HostQueue), UploadInput{
		JobID: j.in.JobID, Path: mux.Path, Key: j.objectKey(dl.Title),
		Subtitles: dl.Subtitles, Thumbnail: mux.Thumbnail, Cleanup: true, Storage: j.in.Storage,
	})
}

// cleanup removes the job's files on the worker holding them, even when the
// job was cancelled.
func (j *job) cleanup(ctx workflow.Context, host string) {
	cctx := onHost(ctx, cleanupOptions, host)
	if ctx.Err() != nil {
		cctx, _ = workflow.NewDisconnectedContext(cctx)
	}
	if _, err := Cleanup.Execute(cctx, j.in.JobID); err != nil {
		j.logger.Warn("Cleanup failed", "error", err)
	}
}

// onHost sends an activity to the worker holding the job's files.
func onHost(ctx workflow.Context, o workflow.ActivityOptions, queue string) workflow.Context {
	o.TaskQueue = queue
	o.ScheduleToStartTimeout = hostScheduleToStart
	return workflow.WithActivityOptions(ctx, o)
}

// hostLost tells a dead worker from other failures: its queue is never
// polled again, so the activity timed out waiting to start, or the files
// are gone from it.
func hostLost(err error) error {
	var timeoutErr *temporal.TimeoutError
	if errors.As(err, &timeoutErr) && timeoutErr.TimeoutType() == enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START ||
		applicationErrorType(err) == ErrTypeFilesGone {
		return fmt.Errorf("%w: %v", errWorkerLost, err)
	}
	return err
}

func (j *job) downloadInput() DownloadInput {
	return DownloadInput{
		JobID: j.in.JobID, URL: j.in.URL, Subtitles: j.in.DownloadSubtitles, Format: j.in.Format,
		MaxHeight: j.in.MaxHeight, MaxDuration: j.in.MaxDuration, Thumbnail: j.in.Thumbnail,
		ClipStart: j.in.ClipStart, ClipEnd: j.in.ClipEnd, Transcode: j.in.Transcode,
		LiveRecording: j.in.LiveRecording, LiveFromStart: j.in.LiveFromStart, WaitForVideo: j.in.WaitForVideo,
		Tenancy: j.in.Tenancy,
	}
}

// mergeMetadata announces the end of the download with the job's metadata:
// a batch's feed describes its episodes better than the media's own tags
// (often just "Episode 12"); the tags fill in what it lacks.
func (j *job) mergeMetadata(ctx workflow.Context, dl *DownloadResult) {
	dl.Title = cmp.Or(j.in.Title, dl.Title)
	dl.Description = cmp.Or(j.in.Description, dl.Description)
	dl.ReleaseDate = cmp.Or(j.in.ReleaseDate, dl.ReleaseDate)
	j.state.Title, j.state.Description, j.state.ReleaseDate = dl.Title, dl.Description, dl.ReleaseDate
	j.progress(ctx, StageDownloadComplete)
}

func (j *job) muxInput(dl *DownloadResult) MuxInput {
	return MuxInput{
		JobID: j.in.JobID, Inputs: dl.Files, Format: j.in.Format,
		Title: dl.Title, ReleaseDate: dl.ReleaseDate, Description: dl.Description, Media: dl.Media,
		ClipStart: j.in.ClipStart, ClipEnd: j.in.ClipEnd, Thumbnail: j.in.Thumbnail, ThumbnailPath: dl.Thumbnail,
		Transcode: j.in.Transcode,
	}
}
