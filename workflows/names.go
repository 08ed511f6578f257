// Package workflows holds riptide's Temporal workflows and their public
// surface: every name a client, the API or a history depends on (this
// file), the input and state types (types.go), the activities' contract
// (activity.go, activity_types.go, failures.go) and the start options
// (start.go). None of these names changes without a new version of the
// workflow that uses it (README: Rolling out workflow changes).
package workflows

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
)

// Task queues. The workflows' own queue (RIPTIDE_TASK_QUEUE) carries the
// workflow tasks and downloads only, so its activity slots are a worker's
// room for downloads and the SDK can hand a job's download to the worker
// that ran its first workflow task (eager activity execution).
const (
	// DefaultTaskQueue is the workflows' queue when none is configured.
	DefaultTaskQueue = "riptide"
	// controlQueueSuffix names the queue of the short activities that move
	// no media: batch listings, pages and reconciliations.
	controlQueueSuffix = "-control"
	// webhookQueueSuffix names the queue of webhook deliveries, apart from
	// the control queue: a receiver that takes 30 s to answer holds one of
	// its own slots, never one a batch listing waits for.
	webhookQueueSuffix = "-webhooks"
	hostQueueInfix     = "-host-"
)

// ControlQueue is the control queue of workflows on taskQueue.
func ControlQueue(taskQueue string) string { return taskQueue + controlQueueSuffix }

// WebhookQueue is the webhook delivery queue of workflows on taskQueue.
func WebhookQueue(taskQueue string) string { return taskQueue + webhookQueueSuffix }

// NewHostQueue names a worker process's own task queue, where the mux,
// upload and clean-up of the jobs whose files it holds go. Unique per
// process: a restarted worker must not receive the tasks of jobs whose
// files its previous life held.
func NewHostQueue(taskQueue string) string {
	host, _ := os.Hostname()
	return taskQueue + hostQueueInfix + host + "-" + uuid.NewString()[:8]
}

// Workflow type names, as registered (Register) and as visibility queries
// name them.
const (
	JobWorkflowType        = "Job"
	BatchWorkflowType      = "Batch"
	RedeliverWorkflowType  = "RedeliverWebhook"
	MetadataWorkflowType   = "Metadata"
	DeleteFileWorkflowType = "DeleteJobFile"
)

// Workflow IDs.
const (
	jobWorkflowIDPrefix       = "job-"
	batchWorkflowIDPrefix     = "batch-"
	redeliverWorkflowIDPrefix = "redeliver-"
	metadataWorkflowIDPrefix  = "metadata-"
	// fileDeletedSuffix follows a job's workflow ID in the ID of its file's
	// deletion. A "/" never occurs in a job ID, so ParseJobWorkflowID
	// refuses it.
	fileDeletedSuffix = "/file-deleted"
)

// JobWorkflowID is the workflow ID of the job with the given ID.
func JobWorkflowID(jobID string) string { return jobWorkflowIDPrefix + jobID }

// ParseJobWorkflowID is the job ID of a job workflow ID.
func ParseJobWorkflowID(workflowID string) (jobID string, ok bool) {
	jobID, ok = strings.CutPrefix(workflowID, jobWorkflowIDPrefix)
	return jobID, ok && jobID != "" && !strings.Contains(jobID, "/")
}

// FileDeletedWorkflowID is the workflow ID of the deletion of a job's file
// (DeleteJobFile): "<job workflow ID>/file-deleted".
func FileDeletedWorkflowID(jobID string) string { return JobWorkflowID(jobID) + fileDeletedSuffix }

// ParseFileDeletedWorkflowID is the job ID of a FileDeletedWorkflowID.
func ParseFileDeletedWorkflowID(workflowID string) (jobID string, ok bool) {
	jobWorkflowID, ok := strings.CutSuffix(workflowID, fileDeletedSuffix)
	if !ok {
		return "", false
	}
	return ParseJobWorkflowID(jobWorkflowID)
}

// MetadataWorkflowID is the workflow ID of one POST /metadata lookup.
func MetadataWorkflowID(id string) string { return metadataWorkflowIDPrefix + id }

// BatchWorkflowID is the workflow ID of the batch with the given ID.
func BatchWorkflowID(batchID string) string { return batchWorkflowIDPrefix + batchID }

// RedeliverWorkflowID is the workflow ID of an event's redelivery. One ID
// per event: a redelivery runs at most once at a time, and the latest run
// holds the latest redelivery's record.
func RedeliverWorkflowID(eventID string) string { return redeliverWorkflowIDPrefix + eventID }

// EpisodeJobID is the job ID of a batch's index-th episode (0-based): a
// UUID v5 of the batch ID and the index, so every run of the batch, the API
// and clients derive the same ID without storing it.
func EpisodeJobID(batchID string, index int) string {
	ns, err := uuid.Parse(batchID)
	name := strconv.Itoa(index)
	if err != nil {
		ns, name = uuid.NameSpaceURL, "riptide:batch:"+batchID+"/"+name
	}
	return uuid.NewSHA1(ns, []byte(name)).String()
}

// RetryJobID is the job ID a retry of jobID runs under: derived, so
// retrying the same job twice (a client repeating its request) starts one
// job, not two.
func RetryJobID(jobID string) string {
	ns, err := uuid.Parse(jobID)
	if err != nil {
		ns = uuid.NameSpaceURL
	}
	return uuid.NewSHA1(ns, []byte("riptide:retry:"+jobID)).String()
}

// Webhook event IDs: evt_<job id>_<type>[.<stage>] and
// evt_batch_<batch id>_batch_completed, the same on every delivery attempt
// so receivers can deduplicate.
const maxEventIDLen = 100

// JobEventID identifies one event of a job across delivery attempts.
func JobEventID(jobID, eventType string) string { return "evt_" + jobID + "_" + eventType }

// ProgressEventID identifies the progress event of one stage.
func ProgressEventID(jobID, stage string) string {
	return JobEventID(jobID, TypeProgress+"."+stage)
}

// BatchEventID identifies a batch's batch_completed event.
func BatchEventID(batchID string) string { return "evt_batch_" + batchID + "_" + TypeBatchCompleted }

// IsJobEventID tells whether eventID has the form of an event of the job
// jobID.
func IsJobEventID(jobID, eventID string) bool {
	return len(eventID) <= maxEventIDLen && strings.HasPrefix(eventID, JobEventID(jobID, ""))
}

// Webhook event types, as the hosted service names them.
const (
	TypeJobCompleted   = "job_completed"
	TypeJobFailed      = "job_failed"
	TypeJobSkipped     = "job_skipped"
	TypeBatchCompleted = "batch_completed"
	TypeProgress       = "progress"
)

// Queries, signals and updates.
const (
	// StatusQuery returns the job's JobState.
	StatusQuery = "status"
	// BatchStateQuery returns the batch's BatchState.
	BatchStateQuery = "state"
	// BatchListedUpdate waits until the batch's episode list is known (or
	// could not be read) and returns its BatchState. The API sends it with
	// the batch's start (update-with-start), so one call both starts the
	// batch and answers with its episodes.
	BatchListedUpdate = "listed"
	// EpisodeDoneSignal is sent by each episode job to its batch when it
	// ends; the payload is an EpisodeDone.
	EpisodeDoneSignal = "episode-done"
	// CancelBatchSignal asks a batch to cancel its unfinished episodes.
	CancelBatchSignal = "cancel"
	// StartBatchUpdate starts the episodes of a batch created paused
	// (BatchInput.Paused) and answers a StartBatchResult; refused
	// (ErrTypeBatchState) unless the batch is paused.
	StartBatchUpdate = "start"
	// PauseBatchUpdate pauses a running batch: it starts no new episode
	// (the running ones finish) until StartBatchUpdate; it answers a
	// PauseBatchResult and is refused (ErrTypeBatchState) unless the batch
	// is running and not paused.
	PauseBatchUpdate = "pause"
	// RenameEpisodesUpdate renames episodes of a paused batch: its payload
	// is a []EpisodeRename, its answer a RenameEpisodesResult.
	RenameEpisodesUpdate = "rename-episodes"
)

// Memo keys. The API reads state from the memo through
// DescribeWorkflowExecution, so it needs no database and no running worker.
const (
	// MemoKey holds a job's JobState (and a redelivery's WebhookEvent).
	MemoKey = "job"
	// BatchMemoKey holds a batch's BatchState as of its current run's start
	// (and the final state once it ended).
	BatchMemoKey = "batch"
	// RequestMemoKey holds the digest of the request that created a job
	// under an idempotency key.
	RequestMemoKey = "request_sha256"
)

// Custom search attributes (type Keyword) of Job workflows, which GET /jobs
// filters on. They must be registered in the namespace before a worker runs
// (README: An existing Temporal cluster): upserting an unknown one fails the
// workflow task.
const (
	// SearchAttrStatus is the job's JobState.Status, upserted as it changes.
	SearchAttrStatus = "RiptideStatus"
	// SearchAttrFolder is the job's folder, set at start.
	SearchAttrFolder = "RiptideFolder"
	// SearchAttrBatchID is the batch of an episode job, set at start.
	SearchAttrBatchID = "RiptideBatchID"
	// SearchAttrTenant is the tenant that owns a workflow (issue #15).
	SearchAttrTenant = "RiptideTenant"
)

// DefaultTenant owns everything in a deployment that defines no tenants:
// the keys of RIPTIDE_API_KEYS all belong to it.
const DefaultTenant = "default"

// SearchAttributes lists the custom search attributes riptide needs.
var SearchAttributes = []string{SearchAttrStatus, SearchAttrFolder, SearchAttrBatchID, SearchAttrTenant}

// Typed keys of the search attributes.
var (
	StatusKey  = temporal.NewSearchAttributeKeyKeyword(SearchAttrStatus)
	FolderKey  = temporal.NewSearchAttributeKeyKeyword(SearchAttrFolder)
	BatchIDKey = temporal.NewSearchAttributeKeyKeyword(SearchAttrBatchID)
	TenantKey  = temporal.NewSearchAttributeKeyKeyword(SearchAttrTenant)
)

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

// Batch statuses.
const (
	BatchResolving = "resolving"
	BatchRunning   = "running"
	// BatchPaused: created paused, episodes listed, none started until
	// StartBatchUpdate.
	BatchPaused = "paused"
	// BatchCompleted and BatchFinished are the hosted service's final
	// statuses: every episode succeeded, or some failed or were skipped.
	BatchCompleted = "completed"
	BatchFinished  = "finished"
)

// Webhook delivery states, as WebhookEvent.Status shows them.
const (
	WebhookPending   = "pending"
	WebhookDelivered = "delivered"
	WebhookFailed    = "failed"
	// WebhookDropped: a progress event not sent because an earlier one
	// could not be delivered.
	WebhookDropped = "dropped"
)

// Job steps, as JobState.Step shows them.
const (
	StepQueued      = "Queued"
	StepDownloading = "Downloading"
	StepMuxing      = "Muxing"
	StepUploading   = "Uploading"
	StepFinished    = "Finished"
)

// Stage is a progress stage with its fixed percentage, as progress
// webhooks announce it.
type Stage struct {
	Name    string
	Percent int
}

// The six progress stages, in the order they are sent. Completed is
// announced by the job_completed event itself.
var (
	StageDownloading      = Stage{"downloading", 0}
	StageDownloadComplete = Stage{"download_complete", 33}
	StageMuxing           = Stage{"muxing", 33}
	StageMuxComplete      = Stage{"mux_complete", 66}
	StageUploading        = Stage{"uploading", 66}
	StageCompleted        = Stage{"completed", 100}
)

// StepSpan is what a running step does: its activity, and the share of
// the job's progress it covers, from the stage that starts it to the next.
type StepSpan struct {
	Activity ActivityHandle
	From, To int
}

// StepSpans maps each transfer step to its span.
var StepSpans = map[string]StepSpan{
	StepDownloading: {Download, StageDownloading.Percent, StageDownloadComplete.Percent},
	StepMuxing:      {Mux, StageMuxing.Percent, StageMuxComplete.Percent},
	StepUploading:   {Upload, StageUploading.Percent, StageCompleted.Percent - 1},
}

// Defaults of BatchInput's tuning fields.
const (
	DefaultBatchWindow   = 20
	DefaultBatchPageSize = 500
	// DefaultReconcileEvery is how often a batch looks for episodes that
	// closed without reporting.
	DefaultReconcileEvery = 5 * time.Minute
)

// DefaultFormat is the container written when a job names none.
const DefaultFormat = "mp4"

// ManifestKey is the object key of a batch's episode list in the bucket.
func ManifestKey(batchID string) string {
	return fmt.Sprintf("%s%s/manifest.json", ManifestPrefix, batchID)
}

// ManifestRevisionKey is the object key of the rev-th rewrite of a batch's
// episode list (renames of a paused batch). Each rewrite has a key of its
// own, so no worker's cached copy of an earlier one is ever stale.
func ManifestRevisionKey(batchID string, rev int) string {
	return fmt.Sprintf("%s%s/manifest-%d.json", ManifestPrefix, batchID, rev)
}

// ManifestPrefix is where batch manifests go in the bucket.
const ManifestPrefix = "_riptide/batches/"
