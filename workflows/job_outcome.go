package workflows

import (
	"errors"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riptide-dev/riptide/internal/webhook"
)

// settle turns the transfer's outcome into the job's final status and the
// webhook the hosted service sends for it:
//
//	success                     Completed  job_completed
//	ContentUnavailable          Warning    none (the hosted service sends none)
//	DRMProtected                Skipped    job_skipped
//	anything else               Failed     job_failed
func (j *job) settle(ctx workflow.Context, up *UploadResult, dl *DownloadResult, err error) {
	switch errType := applicationErrorType(err); {
	case err == nil:
		j.completed(ctx, up, dl)
	case errType == ErrTypeContentUnavailable:
		j.finish(ctx, StatusWarning, errorMessage(err))
	case errType == ErrTypeDRMProtected:
		j.finish(ctx, StatusSkipped, errorMessage(err))
		j.webhooks.send(TypeJobSkipped, JobEventID(j.in.JobID, TypeJobSkipped), webhook.JobSkipped{
			Type: TypeJobSkipped, JobID: j.in.JobID, Status: "skipped", URL: j.in.URL, Reason: errorMessage(err),
		})
	default:
		j.finish(ctx, StatusFailed, errorMessage(err))
		j.webhooks.send(TypeJobFailed, JobEventID(j.in.JobID, TypeJobFailed), webhook.JobFailed{
			Type: TypeJobFailed, JobID: j.in.JobID, Status: "failed", URL: j.in.URL, Error: errorMessage(err),
		})
	}
}

func (j *job) completed(ctx workflow.Context, up *UploadResult, dl *DownloadResult) {
	j.state.Key = up.Key
	j.state.FileSizeBytes = up.Bytes
	if len(up.SubtitleKeys) > 0 {
		j.state.SubtitleKey = up.SubtitleKeys[0]
	}
	j.state.ThumbnailKey = up.ThumbnailKey
	j.state.ProgressPercent = StageCompleted.Percent
	j.finish(ctx, StatusCompleted, "")
	j.webhooks.send(TypeJobCompleted, JobEventID(j.in.JobID, TypeJobCompleted), webhook.JobCompleted{
		Type:          TypeJobCompleted,
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
	if errors.Is(err, errWorkerLost) {
		return errWorkerLost.Error()
	}
	return err.Error()
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
