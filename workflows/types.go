package workflows

import "time"

// The inputs, states and messages of the workflows. A field added to an
// input must be optional (zero means what jobs started before it did), so
// histories recorded before it still replay.

// JobInput is the single input of the Job workflow.
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
	// Tenancy: the owning tenant and its limits (workflows/tenancy.go).
	Tenancy
	// Storage is where the job's objects go; nil: the deployment's bucket.
	Storage *StorageTarget `json:",omitempty"`
}

// JobOptions are a job's optional settings beyond the format; a batch gives
// them to every episode. The zero value asks for nothing.
type JobOptions struct {
	// MaxHeight caps the shorter side of the video (pixels: the height of
	// a landscape video, the width of a portrait one) when picking among a
	// source's renditions; 0: no cap. The name is kept from when it capped
	// the height alone, so running workflows' inputs still decode.
	MaxHeight int `json:",omitempty"`
	// Filename replaces the title slug in the object key. The API has
	// already given it the format's extension.
	Filename string `json:",omitempty"`
	// Thumbnail uploads a picture of the media beside it.
	Thumbnail bool `json:",omitempty"`
	// ClipStart and ClipEnd (seconds) cut the media; ClipEnd 0 is its end.
	ClipStart float64 `json:",omitempty"`
	ClipEnd   float64 `json:",omitempty"`
	// MaxDuration (seconds) refuses longer media; 0: no limit. For a live
	// source it is the recording's cap instead.
	MaxDuration int `json:",omitempty"`
	// Live streams (activities/live.go). LiveRecording asks for a live
	// recording (a live source is recorded without it too); LiveFromStart
	// records from the first segment the stream still lists instead of
	// its live edge; WaitForVideo waits (bounded) for a stream that has
	// not started instead of failing.
	LiveRecording bool `json:",omitempty"`
	LiveFromStart bool `json:",omitempty"`
	WaitForVideo  bool `json:",omitempty"`
	// Transcode re-encodes streams in the mux; nil copies them.
	Transcode *Transcode `json:",omitempty"`
}

// JobState is a job as clients see it. The workflow keeps it in its memo and
// returns it as its result.
type JobState struct {
	JobID           string `json:"job_id"`
	URL             string `json:"url"`
	Status          string `json:"status"`
	Step            string `json:"step"`
	ProgressPercent int    `json:"progress_percent"`
	Folder          string `json:"folder,omitempty"`
	Key             string `json:"key,omitempty"`
	SubtitleKey     string `json:"subtitle_key,omitempty"`
	ThumbnailKey    string `json:"thumbnail_key,omitempty"`
	FileSizeBytes   int64  `json:"file_size_bytes,omitempty"`
	Title           string `json:"title,omitempty"`
	Description     string `json:"description,omitempty"`
	ReleaseDate     string `json:"release_date,omitempty"`
	Error           string `json:"error,omitempty"`
	RetryOf         string `json:"retry_of,omitempty"`
	// Storage names the job's target (no credentials); nil: the
	// deployment's bucket.
	Storage   *StorageRef `json:"storage,omitempty"`
	UpdatedAt time.Time   `json:"updated_at"`
	// Webhooks records each event's delivery attempts.
	Webhooks []WebhookEvent `json:"webhooks,omitempty"`
}

// NewJobState is the state of a job that has not started yet: what its
// memo holds from the moment it is started (by the API or by its batch)
// until its first workflow task.
func NewJobState(in JobInput, now time.Time) JobState {
	return JobState{
		JobID: in.JobID, URL: in.URL, Folder: in.Folder, RetryOf: in.RetryOf,
		Title: in.Title, Description: in.Description, ReleaseDate: in.ReleaseDate,
		Status: StatusPending, Step: StepQueued, UpdatedAt: now.UTC(), Storage: in.Storage.Ref(),
	}
}

// WebhookEvent is one event's delivery record, kept in the job's memo.
type WebhookEvent struct {
	EventID  string           `json:"event_id"`
	Type     string           `json:"type"`
	Status   string           `json:"status"`
	Attempts []WebhookAttempt `json:"attempts"`
}

// RedeliverInput is a webhook event to send again, byte for byte, under its
// original webhook-id.
type RedeliverInput struct {
	JobID string
	Event WebhookInput
	Type  string
}

// BatchInput is the single input of the Batch workflow. The fields after
// the tuning fields carry the state from one run to the next across
// continue-as-new; a new batch leaves them zero.
type BatchInput struct {
	BatchID               string
	ShowURL               string
	WebhookURL            string `json:",omitempty"`
	Folder                string `json:",omitempty"`
	EnableProgressWebhook bool   `json:",omitempty"`
	DownloadSubtitles     bool   `json:",omitempty"`
	Format                string `json:",omitempty"`
	JobOptions
	// WindowSize is how many episodes run at once; PageSize how many
	// episodes one run starts before it continues as new.
	WindowSize int `json:",omitempty"`
	PageSize   int `json:",omitempty"`
	// ReconcileEvery is how often the batch asks Temporal whether episodes
	// it counts as running have closed without reporting.
	ReconcileEvery time.Duration `json:",omitempty"`
	// Paused: list the episodes, then start none until StartBatchUpdate
	// (which clears it).
	Paused bool `json:",omitempty"`
	// Suspended: a running batch paused by PauseBatchUpdate; it starts no
	// new episode until StartBatchUpdate clears it (batch_pause.go).
	Suspended bool `json:",omitempty"`
	// Storage is where every episode's objects go (JobInput.Storage); the
	// manifest stays in the deployment's bucket, riptide's own.
	Storage *StorageTarget `json:",omitempty"`

	ManifestKey string   `json:",omitempty"`
	Total       int      `json:",omitempty"`
	Offset      int      `json:",omitempty"`
	Completed   int      `json:",omitempty"`
	Failed      int      `json:",omitempty"`
	Running     []string `json:",omitempty"`
	Cancelled   bool     `json:",omitempty"`
	StartedAt   time.Time
	// Renames counts the rewrites of the manifest by RenameEpisodesUpdate
	// (ManifestKey is the latest).
	Renames int `json:",omitempty"`
	// Tenancy: the owning tenant and its limits, given to every episode
	// (workflows/tenancy.go); StoredBytes is what the batch's completed
	// episodes have stored so far.
	Tenancy
	StoredBytes int64 `json:",omitempty"`
}

// BatchState is a batch as clients see it.
type BatchState struct {
	BatchID   string `json:"batch_id"`
	ShowURL   string `json:"show_url"`
	Folder    string `json:"folder,omitempty"`
	Status    string `json:"status"`
	Paused    bool   `json:"paused,omitempty"`
	Format    string `json:"format,omitempty"`
	Resolved  bool   `json:"resolved"`
	Total     int    `json:"total_episodes"`
	Started   int    `json:"started_episodes"`
	Completed int    `json:"completed_episodes"`
	Failed    int    `json:"failed_episodes"`
	Running   int    `json:"running_episodes"`
	Cancelled bool   `json:"cancelled"`
	Error     string `json:"error,omitempty"`
	// ManifestKey is where the episode list is stored in the bucket.
	ManifestKey string    `json:"manifest_key,omitempty"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// NewBatchState is the state of a batch that has not listed its source
// yet, as its memo holds it from its start.
func NewBatchState(in BatchInput, now time.Time) BatchState {
	return BatchState{
		BatchID: in.BatchID, ShowURL: in.ShowURL, Folder: in.Folder,
		Status: BatchResolving, UpdatedAt: now.UTC(),
	}
}

// EpisodeDone is the payload of EpisodeDoneSignal.
type EpisodeDone struct {
	JobID  string
	Status string
	// Bytes is what a completed episode stored (its tenant's quota).
	Bytes int64 `json:",omitempty"`
}
