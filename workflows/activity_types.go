package workflows

import (
	"encoding/json"
	"time"
)

// The inputs and results of the activities the workflows call
// (activity.go), as they are recorded in workflow histories. Package
// activities implements them; a field added here must be optional, so
// histories recorded before it still replay.

// DownloadInput is the input of Download.
type DownloadInput struct {
	JobID     string
	URL       string
	Subtitles bool
	// Format is the job's output format: an audio format downloads the
	// best audio alone. With ClipStart, ClipEnd and Thumbnail it also
	// decides DownloadResult.NeedsMux.
	Format string `json:",omitempty"`
	// ClipStart and ClipEnd (seconds) are the job's clip; 0: none.
	ClipStart float64 `json:",omitempty"`
	ClipEnd   float64 `json:",omitempty"`
	// MaxHeight caps the shorter side of the video among the source's
	// renditions (JobOptions.MaxHeight).
	MaxHeight int `json:",omitempty"`
	// MaxDuration (seconds) refuses longer media, before the download when
	// the source says how long it is.
	MaxDuration int `json:",omitempty"`
	// Thumbnail fetches the source's thumbnail when it has one.
	Thumbnail bool `json:",omitempty"`
	// Live streams: JobOptions' fields of the same names.
	LiveRecording bool `json:",omitempty"`
	LiveFromStart bool `json:",omitempty"`
	WaitForVideo  bool `json:",omitempty"`
	// Transcode is the job's (JobOptions.Transcode): one that encodes
	// makes NeedsMux true.
	Transcode *Transcode `json:",omitempty"`
	// Tenancy is the job's tenant and its limits: the download refuses
	// to start when the storage quota is spent and stops at the tenant's
	// file size limit.
	Tenancy
}

// Subtitle is one downloaded subtitle file.
type Subtitle struct {
	Path string
	Lang string
	Ext  string
}

// DownloadResult describes the files Download left in the job directory.
type DownloadResult struct {
	// Files are the media files to mux: one file with every stream, or a
	// video file then an audio file when the source keeps them apart.
	Files     []string
	Subtitles []Subtitle
	// Thumbnail is the source's own thumbnail; empty when it has none or
	// none was asked for.
	Thumbnail string `json:",omitempty"`
	Bytes     int64
	// Metadata from the source; empty when unknown.
	Title       string
	Description string
	// ReleaseDate is ISO 8601 (RFC 3339), empty when unknown.
	ReleaseDate string
	// Source is "http" for the native downloader, else yt-dlp's extractor.
	Source string
	// Strategy is how the media was fetched (the job view's
	// download_strategy): DownloadNativeHTTP, DownloadNativeHLS,
	// DownloadNativeDASH, DownloadYtdlp or DownloadLiveHLS.
	Strategy string `json:",omitempty"`
	// Media describes Files[0] when the downloader probed it.
	Media *MediaInfo `json:",omitempty"`
	// HostQueue is the task queue of the worker holding the files.
	HostQueue string `json:",omitempty"`
	// NeedsMux is false when the download already is the requested file
	// (one file in the requested container, no clip, no thumbnail still
	// to grab): the workflow then skips Mux. The activity decides, so the
	// decision is in the history and a change to it needs no versioning.
	NeedsMux bool `json:",omitempty"`
	// Streams are the source's codecs and video size across Files (the
	// job view's native_video_codec and native_audio_codec).
	Streams *Streams `json:",omitempty"`
}

// Download strategies (DownloadResult.Strategy).
const (
	DownloadNativeHTTP = "native_http"
	DownloadNativeHLS  = "native_hls"
	DownloadNativeDASH = "native_dash"
	DownloadYtdlp      = "ytdlp"
	DownloadLiveHLS    = "live_hls"
)

// Progress is the heartbeat detail of the transfer activities. The API reads
// it from the pending activity to show live progress; the HTTP downloader
// also resumes from Bytes after a retry.
type Progress struct {
	Bytes   int64   `json:"bytes"`
	Total   int64   `json:"total"`
	Percent float64 `json:"percent"`
	// Live is where a live recording stands: what a retry resumes from.
	// A pointer keeps Progress comparable.
	Live *LiveProgress `json:"live,omitempty"`
	// Segmented is where a native segmented download stands: what a
	// retry on the same worker resumes from. A pointer keeps Progress
	// comparable.
	Segmented *SegmentedProgress `json:"segmented,omitempty"`
	// Proxy names the upstream proxy the download attempt goes through
	// (internal/proxypool, never its credentials): the retry picks
	// another.
	Proxy string `json:"proxy,omitempty"`
}

// SegmentedProgress has one mark per stream (video, then audio).
type SegmentedProgress struct {
	Streams []StreamMark `json:"streams"`
}

// StreamMark is one stream's progress (segdl.Mark): Done of Parts parts,
// Bytes bytes, are in its file.
type StreamMark struct {
	Parts int   `json:"parts"`
	Done  int   `json:"done"`
	Bytes int64 `json:"bytes"`
}

// LiveProgress has one part per recorded playlist (video, then separate
// audio).
type LiveProgress struct {
	Parts []LivePart `json:"parts"`
}

// LivePart is one recorded playlist's progress (livehls.Progress).
type LivePart struct {
	NextSeq int64   `json:"next_seq"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
}

// MuxInput is the input of Mux.
type MuxInput struct {
	JobID string
	// Inputs are DownloadResult.Files.
	Inputs []string
	// Format is the container: mp4 (default), mkv, webm or mov, or an
	// audio format (m4a, mp3, ogg, opus), which keeps the audio alone.
	Format      string
	Title       string
	ReleaseDate string
	Description string
	// Media is DownloadResult.Media: it spares the mux a probe and tells
	// when the download already is the requested file.
	Media *MediaInfo `json:",omitempty"`
	// ClipStart and ClipEnd (seconds) cut the media; ClipEnd 0 is its end.
	ClipStart float64 `json:",omitempty"`
	ClipEnd   float64 `json:",omitempty"`
	// Thumbnail asks for a picture: ThumbnailPath when the source had
	// one, else a frame of the video.
	Thumbnail     bool   `json:",omitempty"`
	ThumbnailPath string `json:",omitempty"`
	// Transcode re-encodes streams; nil copies them (the audio of a
	// container that cannot hold it is encoded either way).
	Transcode *Transcode `json:",omitempty"`
}

// MuxResult is the muxed file and, when asked for, its thumbnail (empty
// when the media has no picture).
type MuxResult struct {
	Path      string
	Bytes     int64
	Thumbnail string `json:",omitempty"`
	// Kept is true when the download already was the requested file and
	// Path is that file, not rewritten.
	Kept bool `json:",omitempty"`
	// Streams describe the written file (the job view's video_codec,
	// audio_codec and actual_quality); nil when it could not be probed.
	Streams *Streams `json:",omitempty"`
}

// UploadInput is the input of Upload.
type UploadInput struct {
	JobID string
	Path  string
	// Key is the object key, fixed by the workflow so a retry overwrites.
	Key       string
	Subtitles []Subtitle
	// Thumbnail goes beside the media as "<key without extension>.<ext>".
	Thumbnail string `json:",omitempty"`
	// Cleanup removes the job's files once everything is uploaded, which
	// spares a job that succeeded a Cleanup activity.
	Cleanup bool `json:",omitempty"`
	// Storage is the job's target; nil: the deployment's bucket.
	Storage *StorageTarget `json:",omitempty"`
}

// UploadResult says where the media went.
type UploadResult struct {
	Key          string
	URL          string
	Bytes        int64
	SubtitleKeys []string
	ThumbnailKey string `json:",omitempty"`
}

// WebhookInput is one delivery. Body is the exact JSON sent; EventID is the
// same on every attempt of one event so receivers can deduplicate.
type WebhookInput struct {
	URL     string
	EventID string
	Body    json.RawMessage
}

// Episode is one item of a batch.
type Episode struct {
	URL         string `json:"url"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	// ReleaseDate is RFC 3339, empty when unknown.
	ReleaseDate string `json:"release_date,omitempty"`
	// Filename, set by a rename while the batch was paused, is the
	// episode job's JobOptions.Filename (with the format's extension).
	Filename string `json:"filename,omitempty"`
	// GUID is a feed item's guid (a subscription's identity of it).
	GUID string `json:"guid,omitempty"`
	// VideoID is a playlist or channel entry's "<extractor>:<id>".
	VideoID string `json:"video_id,omitempty"`
	// JobID, set in a subscription sweep's manifest, is the episode's job
	// ID (SubscriptionEpisodeJobID) instead of EpisodeJobID's.
	JobID string `json:"job_id,omitempty"`
}

// EpisodeRename is one item of RenameEpisodesUpdate: an episode's job and
// its new filename, with the format's extension (the API adds it).
type EpisodeRename struct {
	JobID    string `json:"job_id"`
	Filename string `json:"filename"`
}

// RenameEpisodesInput asks RenameEpisodes to write the manifest at
// ManifestKey to NewKey with the episodes at Index renamed.
type RenameEpisodesInput struct {
	ManifestKey string
	NewKey      string
	Renames     []IndexedRename
}

// IndexedRename is an EpisodeRename with the episode's manifest index.
type IndexedRename struct {
	Index int
	EpisodeRename
}

// RenameEpisodesResult says which renames were applied: Updated of them,
// the others each with its reason in Errors. ManifestKey is the manifest
// to read from now on.
type RenameEpisodesResult struct {
	ManifestKey string        `json:"manifest_key"`
	Updated     int           `json:"updated"`
	Errors      []RenameError `json:"errors"`
}

// RenameError is why one rename was not applied.
type RenameError struct {
	JobID string `json:"job_id"`
	Error string `json:"error"`
}

// StartBatchResult answers StartBatchUpdate: how many episode jobs the
// batch now starts (through its window).
type StartBatchResult struct {
	StartedJobs int `json:"started_jobs"`
}

// ResolveBatchInput is the input of ResolveBatch.
type ResolveBatchInput struct {
	BatchID string
	ShowURL string
}

// ResolveBatchResult points at the stored manifest.
type ResolveBatchResult struct {
	ManifestKey string
	Total       int
	// Source is "feed", "spotify" or "ytdlp".
	Source string
}

// BatchEpisodesInput asks for one page of a manifest.
type BatchEpisodesInput struct {
	ManifestKey string
	Offset      int
	Limit       int
}

// MediaInfo is what one ffprobe of a downloaded file says. The download
// probes once and hands it to the mux, which then needs no probe of its own
// and can tell when the file already is what the job asked for.
type MediaInfo struct {
	// Container is the riptide format the file already is (mp4, mov, mkv,
	// webm, m4a, mp3, ogg), or "" when that is not certain.
	Container string `json:",omitempty"`
	// Duration in seconds; 0 when unknown.
	Duration float64 `json:",omitempty"`
	// Streams by kind.
	Video, Audio, Other int `json:",omitempty"`
	// Metadata from the container's tags, normalized as DownloadResult's.
	Title       string `json:",omitempty"`
	Description string `json:",omitempty"`
	ReleaseDate string `json:",omitempty"`
	// Streams are the first video and audio stream's codecs and size.
	Streams
}

// ClosedWorkflow is a workflow that has ended, and how.
type ClosedWorkflow struct {
	WorkflowID string
	// Status is Temporal's close status: "Completed", "Failed",
	// "Canceled", "Terminated", "TimedOut".
	Status string
}

// WebhookAttempt records one delivery attempt. The workflow keeps them in
// the job's memo, where GET /jobs/{id} and its webhooks endpoint read them.
type WebhookAttempt struct {
	At         time.Time `json:"at"`
	StatusCode int       `json:"status_code,omitempty"`
	LatencyMS  int64     `json:"latency_ms"`
	Error      string    `json:"error,omitempty"`
	// RetryAfterSeconds is the receiver's Retry-After, capped.
	RetryAfterSeconds int `json:"retry_after_seconds,omitempty"`
	// Delivered: a 2xx answer. Final: retrying is pointless (410 Gone, an
	// address riptide refuses, a URL that cannot be requested).
	Delivered bool `json:"delivered"`
	Final     bool `json:"final,omitempty"`
}
