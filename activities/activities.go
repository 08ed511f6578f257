// Package activities holds the work a job does outside the workflow:
// download, mux, upload, webhook delivery and clean-up. Each activity is a
// method on Activities so its dependencies are injected once by the worker
// and replaced by fakes in unit tests.
//
// Only small values cross the workflow boundary: URLs, local paths, object
// keys and sizes. Media bytes stay on the worker's disk and in S3.
package activities

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"

	"github.com/riptide-dev/riptide/internal/webhook"
	"sync"
)

// Store is the slice of S3 the activities need. The worker passes
// *storage.Store; unit tests pass an in-memory fake.
type Store interface {
	// Upload streams the file at path to key; onProgress receives the bytes
	// sent so far. A failed upload leaves no object behind.
	Upload(ctx context.Context, key, path, contentType string, onProgress func(sent int64)) (size int64, err error)
	// PresignGet returns a time-limited GET URL for key.
	PresignGet(ctx context.Context, key string) (string, error)
}

// Activities carries the dependencies of every activity.
type Activities struct {
	Store Store
	// HTTP downloads direct media URLs; it has no overall timeout because
	// files can be large: the activity's context bounds it.
	HTTP *http.Client
	// Webhook delivers webhooks; its Timeout is the 30 s delivery limit.
	Webhook *http.Client
	// Signer signs webhooks; nil or without secrets, they go unsigned.
	Signer *webhook.Signer
	// WorkDir is where each job gets a directory of temporary files.
	WorkDir string
	// Paths of the external programs.
	Ytdlp, Ffmpeg, Ffprobe string
	// YtdlpFragments is yt-dlp's --concurrent-fragments (0 or 1: one at a
	// time).
	YtdlpFragments int
	// YtdlpProxy, when set, is the URL of the proxy yt-dlp must connect
	// through: a netguard.Proxy that refuses non-public addresses.
	YtdlpProxy string
	// Stderr, when set, receives the external programs' diagnostic output.
	Stderr io.Writer
	// MinFreeBytes is the free space a download must leave in WorkDir; 0
	// disables the check. DiskFree reports free space (nil: statfs).
	MinFreeBytes int64
	DiskFree     func(dir string) (int64, error)
	// Manifests stores batch episode lists (ResolveBatch, BatchEpisodes).
	Manifests ManifestStore
	// Spotify lists Spotify shows and looks up episodes; nil when no
	// credentials are configured, which makes Spotify URLs fail clearly.
	Spotify *SpotifyClient
	// Workflows describes episode workflows for batch reconciliation
	// (client.Client satisfies it); set by the worker.
	Workflows WorkflowDescriber
	// HostQueue is this worker's own task queue, which Download returns
	// so the job's mux and upload follow its files here (host.go).
	HostQueue string
	// Holds bounds the jobs whose files this worker holds; nil: no limit.
	Holds *Holds

	cacheOnce sync.Once
	cache     *manifestCache
}

// jobDir is the directory holding one job's temporary files on this worker.
func (a *Activities) jobDir(jobID string) string {
	return filepath.Join(a.WorkDir, jobKey(jobID))
}

// jobKey names a job on this worker: its directory and its hold.
func jobKey(jobID string) string {
	return filepath.Base(jobID)
}

// DownloadInput is the input of Download.
type DownloadInput struct {
	JobID     string
	URL       string
	Subtitles bool
	// AudioOnly downloads the best audio alone (an audio output format).
	AudioOnly bool `json:",omitempty"`
	// MaxHeight caps the video height among the source's renditions.
	MaxHeight int `json:",omitempty"`
	// MaxDuration (seconds) refuses longer media, before the download when
	// the source says how long it is.
	MaxDuration int `json:",omitempty"`
	// Thumbnail fetches the source's thumbnail when it has one.
	Thumbnail bool `json:",omitempty"`
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
	// Media describes Files[0] when the downloader probed it.
	Media *MediaInfo `json:",omitempty"`
	// HostQueue is the task queue of the worker holding the files.
	HostQueue string `json:",omitempty"`
}

// Progress is the heartbeat detail of the transfer activities. The API reads
// it from the pending activity to show live progress; the HTTP downloader
// also resumes from Bytes after a retry.
type Progress struct {
	Bytes   int64   `json:"bytes"`
	Total   int64   `json:"total"`
	Percent float64 `json:"percent"`
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

// Cleanup deletes the job's temporary files on this worker.
func (a *Activities) Cleanup(_ context.Context, jobID string) error {
	return a.removeJobDir(jobID)
}
