// Package webhook defines the webhook payloads riptide sends (their event
// types are in package workflows, which sends them) and signs them. They follow the
// hosted service's documented contract field for field, so a receiver written
// for it works unchanged: every documented key is always present, with null
// where a value is unknown.
package webhook

// JobCompleted is sent when the media is in the bucket. It carries the fields
// of both the hosted service's reference (key, title, ...) and its blog
// examples (s3_key, s3_url, file_size_bytes).
type JobCompleted struct {
	Type          string  `json:"type"`
	JobID         string  `json:"job_id"`
	Status        string  `json:"status"`
	URL           string  `json:"url"`
	Key           string  `json:"key"`
	Folder        *string `json:"folder"`
	Title         *string `json:"title"`
	Description   *string `json:"description"`
	ReleaseDate   *string `json:"release_date"`
	SubtitleKey   *string `json:"subtitle_key"`
	ThumbnailKey  *string `json:"thumbnail_key"`
	S3Key         string  `json:"s3_key"`
	S3URL         string  `json:"s3_url"`
	FileSizeBytes int64   `json:"file_size_bytes"`
}

// JobFailed is sent when a job failed for a technical reason.
type JobFailed struct {
	Type   string `json:"type"`
	JobID  string `json:"job_id"`
	Status string `json:"status"`
	URL    string `json:"url"`
	Error  string `json:"error"`
}

// JobSkipped is sent when content cannot be processed (DRM).
type JobSkipped struct {
	Type   string `json:"type"`
	JobID  string `json:"job_id"`
	Status string `json:"status"`
	URL    string `json:"url"`
	Reason string `json:"reason"`
}

// Progress is sent at each stage when enable_progress_webhook is set.
type Progress struct {
	Type            string `json:"type"`
	JobID           string `json:"job_id"`
	URL             string `json:"url"`
	Stage           string `json:"stage"`
	ProgressPercent int    `json:"progress_percent"`
}

// BatchCompleted is sent once when every episode of a batch has ended.
type BatchCompleted struct {
	Type              string  `json:"type"`
	BatchID           string  `json:"batch_id"`
	Status            string  `json:"status"`
	ShowURL           string  `json:"show_url"`
	Folder            *string `json:"folder"`
	TotalEpisodes     int     `json:"total_episodes"`
	CompletedEpisodes int     `json:"completed_episodes"`
	FailedEpisodes    int     `json:"failed_episodes"`
}

// SubscriptionChecked is riptide's event after each sweep of a
// subscription created with notify_empty_sweeps (issue #16): what the
// source listed, how many episodes were new (started as the sweep's
// batch) and how many were already seen. Error is set when the source
// could not be listed.
type SubscriptionChecked struct {
	Type           string  `json:"type"`
	SubscriptionID string  `json:"subscription_id"`
	SweepID        string  `json:"sweep_id"`
	BatchID        *string `json:"batch_id"`
	URL            string  `json:"url"`
	Listed         int     `json:"listed"`
	New            int     `json:"new"`
	Skipped        int     `json:"skipped"`
	Error          *string `json:"error"`
}
