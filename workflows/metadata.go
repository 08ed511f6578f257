package workflows

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// POST /metadata runs as a short Metadata workflow: the SDK has no way to
// call an activity without one, and the activity must run on a worker,
// which holds yt-dlp, its sandbox and the network guard (the API links no
// media code and fetches nothing). Each lookup is one workflow with one
// activity, visible in the Temporal UI like a job.

// MetadataInput is the input of the Metadata workflow and of its activity.
type MetadataInput struct {
	URL string
}

// Metadata is what a source says about its media without downloading it,
// under the names and with the JSON types of yt-dlp's info JSON (the hosted
// service's POST /metadata answer). Every field is null when the source
// does not say.
type Metadata struct {
	Title       *string  `json:"title"`
	Duration    *float64 `json:"duration"`
	Width       *int64   `json:"width"`
	Height      *int64   `json:"height"`
	Extractor   *string  `json:"extractor"`
	Uploader    *string  `json:"uploader"`
	Thumbnail   *string  `json:"thumbnail"`
	Description *string  `json:"description"`
	ViewCount   *int64   `json:"view_count"`
	LikeCount   *int64   `json:"like_count"`
	// UploadDate is YYYYMMDD, as yt-dlp gives it.
	UploadDate     *string `json:"upload_date"`
	FilesizeApprox *int64  `json:"filesize_approx"`
	// riptide's additions: the source's own ID and page, whether it is a
	// live stream, and how it was read ("ytdlp", or "http" for a media
	// file riptide probed natively).
	ID         *string `json:"id"`
	WebpageURL *string `json:"webpage_url"`
	IsLive     bool    `json:"is_live"`
	Source     string  `json:"source"`
}

// Metadata-lookup bounds. The API waits MetadataWait for the answer; the
// activity's attempts, backoff included, end before that, and a lookup no
// worker picked up times out on its own.
const (
	MetadataWait            = 60 * time.Second
	metadataAttemptTimeout  = 25 * time.Second
	metadataScheduleToClose = 55 * time.Second
	metadataRunTimeout      = 2 * time.Minute
)

var metadataOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    metadataAttemptTimeout,
	ScheduleToCloseTimeout: metadataScheduleToClose,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 2,
		NonRetryableErrorTypes: PermanentErrorTypes,
	},
}

// MetadataWorkflow looks up in.URL's metadata with one FetchMetadata
// activity on the control queue (it moves no media, so it never waits for a
// download slot).
func MetadataWorkflow(ctx workflow.Context, in MetadataInput) (*Metadata, error) {
	if in.URL == "" {
		return nil, temporal.NewNonRetryableApplicationError("url is required", ErrTypeInvalidInput, nil)
	}
	return FetchMetadata.Execute(onControl(ctx, metadataOptions), in)
}

// MetadataStartOptions start one lookup under MetadataWorkflowID(id), id a
// fresh UUID.
func MetadataStartOptions(taskQueue, id string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       MetadataWorkflowID(id),
		TaskQueue:                taskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionTimeout: metadataRunTimeout,
	}
}
