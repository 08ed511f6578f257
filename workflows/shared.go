// Package workflows holds riptide's Temporal workflows. Workflow and activity
// names, query names and ID formats here are a public API: running workflows
// and committed histories depend on them, so they never change silently.
package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
)

const (
	// StatusQuery returns the job's JobState.
	StatusQuery = "status"
	// MemoKey is the memo entry holding the job's JobState. The API reads
	// it through DescribeWorkflowExecution, so job state needs no database
	// and no running worker.
	MemoKey = "job"
	// jobWorkflowIDPrefix namespaces job workflow IDs.
	jobWorkflowIDPrefix = "job-"
)

// ControlQueueSuffix names the task queue, beside the workflows' own, of the
// short activities that move no media: webhook deliveries and batch
// listings. The workflows' queue then runs only downloads, so its activity
// slots are a worker's room for downloads (RIPTIDE_WORKER_CONCURRENCY), and
// the SDK can hand a job's download to the worker that ran its first
// workflow task (eager activity execution) without the task queue round
// trip.
const ControlQueueSuffix = "-control"

// ControlQueue is the control queue of workflows on taskQueue.
func ControlQueue(taskQueue string) string { return taskQueue + ControlQueueSuffix }

// JobWorkflowID is the workflow ID of the job with the given ID.
func JobWorkflowID(jobID string) string { return jobWorkflowIDPrefix + jobID }

// Job statuses, as the hosted service names them.
const (
	StatusPending    = "Pending"
	StatusProcessing = "Processing"
	StatusCompleted  = "Completed"
	StatusFailed     = "Failed"
	StatusWarning    = "Warning"
	StatusSkipped    = "Skipped"
	// StatusCancelled: cancelled through DELETE /jobs/{id} (or with its
	// batch) before it ended.
	StatusCancelled = "Cancelled"
)

// Custom search attributes (type Keyword) of Job workflows, which GET /jobs
// filters on. They must be registered in the namespace before a worker runs
// (README: An existing Temporal cluster): upserting an unknown one fails the workflow task.
const (
	// SearchAttrStatus is the job's JobState.Status, upserted as it changes.
	SearchAttrStatus = "RiptideStatus"
	// SearchAttrFolder is the job's folder, set at start.
	SearchAttrFolder = "RiptideFolder"
	// SearchAttrBatchID is the batch of an episode job, set at start.
	SearchAttrBatchID = "RiptideBatchID"
)

// SearchAttributes lists the custom search attributes riptide needs.
var SearchAttributes = []string{SearchAttrStatus, SearchAttrFolder, SearchAttrBatchID}

// Typed keys of the search attributes.
var (
	StatusKey  = temporal.NewSearchAttributeKeyKeyword(SearchAttrStatus)
	FolderKey  = temporal.NewSearchAttributeKeyKeyword(SearchAttrFolder)
	BatchIDKey = temporal.NewSearchAttributeKeyKeyword(SearchAttrBatchID)
)

// JobSearchAttributes are the search attributes a job starts with.
func JobSearchAttributes(folder, batchID string) temporal.SearchAttributes {
	updates := []temporal.SearchAttributeUpdate{StatusKey.ValueSet(StatusPending)}
	if folder != "" {
		updates = append(updates, FolderKey.ValueSet(folder))
	}
	if batchID != "" {
		updates = append(updates, BatchIDKey.ValueSet(batchID))
	}
	return temporal.NewSearchAttributes(updates...)
}

// Job steps.
const (
	StepQueued      = "Queued"
	StepDownloading = "Downloading"
	StepMuxing      = "Muxing"
	StepUploading   = "Uploading"
	StepFinished    = "Finished"
)

// DefaultFormat is the container written when a job names none.
const DefaultFormat = "mp4"

// JobInput is the single input of the Job workflow. New fields must be
// optional so histories of older jobs still replay.
type JobInput struct {
	JobID                 string
	URL                   string
	WebhookURL            string `json:",omitempty"`
	Folder                string `json:",omitempty"`
	EnableProgressWebhook bool   `json:",omitempty"`
	DownloadSubtitles     bool   `json:",omitempty"`
	// Format is the output container (video or audio); empty means
	// DefaultFormat.
	Format string `json:",omitempty"`
	JobOptions
	// Title, Description and ReleaseDate (RFC 3339) come from a batch's
	// feed or playlist; they fill in what the media itself does not say.
	Title       string `json:",omitempty"`
	Description string `json:",omitempty"`
	ReleaseDate string `json:",omitempty"`
	// RetryOf is the job this one re-runs (POST /jobs/{id}/retry).
	RetryOf string `json:",omitempty"`
}

// JobOptions are a job's optional settings beyond the format; a batch gives
// them to every episode. The zero value asks for nothing, so inputs of jobs
// started before they existed decode unchanged.
type JobOptions struct {
	// MaxHeight caps the video height (pixels) when picking among a
	// source's renditions; 0: no cap.
	MaxHeight int `json:",omitempty"`
	// Filename replaces the title slug in the object key. The API has
	// already given it the format's extension.
	Filename string `json:",omitempty"`
	// Thumbnail uploads a picture of the media beside it.
	Thumbnail bool `json:",omitempty"`
	// ClipStart and ClipEnd (seconds) cut the media; ClipEnd 0 is its end.
	ClipStart float64 `json:",omitempty"`
	ClipEnd   float64 `json:",omitempty"`
	// MaxDuration (seconds) refuses longer media; 0: no limit.
	MaxDuration int `json:",omitempty"`
}

// JobState is a job as clients see it. The workflow keeps it in its memo and
// returns it as its result.
type JobState struct {
	JobID           string    `json:"job_id"`
	URL             string    `json:"url"`
	Status          string    `json:"status"`
	Step            string    `json:"step"`
	ProgressPercent int       `json:"progress_percent"`
	Folder          string    `json:"folder,omitempty"`
	Key             string    `json:"key,omitempty"`
	SubtitleKey     string    `json:"subtitle_key,omitempty"`
	ThumbnailKey    string    `json:"thumbnail_key,omitempty"`
	FileSizeBytes   int64     `json:"file_size_bytes,omitempty"`
	Title           string    `json:"title,omitempty"`
	Description     string    `json:"description,omitempty"`
	ReleaseDate     string    `json:"release_date,omitempty"`
	Error           string    `json:"error,omitempty"`
	RetryOf         string    `json:"retry_of,omitempty"`
	UpdatedAt       time.Time `json:"updated_at"`
	// Webhooks records each event's delivery attempts.
	Webhooks []WebhookEvent `json:"webhooks,omitempty"`
}
