// Package activities holds the work a job does outside the workflow:
// download, mux, upload, webhook delivery and clean-up. Each activity is a
// method on Activities so its dependencies are injected once by the worker
// and replaced by fakes in unit tests.
//
// The activities are thin: the media drivers (internal/ytdlp,
// internal/ffmpeg, internal/mp4, internal/httpget) and the source listers
// (internal/feeds, internal/spotify, internal/sources) do the work, and
// the files here decide what it means for the job: download.go, ytdlp.go,
// mux.go, upload.go, webhook.go, batch.go and spotify.go (batch listing),
// reconcile.go, holds.go (the jobs whose files this worker holds) and
// diskspace.go.
//
// Only small values cross the workflow boundary: URLs, local paths, object
// keys and sizes. Media bytes stay on the worker's disk and in S3.
package activities

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/riptide-dev/riptide/internal/webhook"
	"github.com/riptide-dev/riptide/workflows"
)

// Store is the slice of S3 the activities need. The worker passes
// *storage.Store; unit tests pass an in-memory fake.
type Store interface {
	// Upload streams the file at path to key; onProgress receives the bytes
	// sent so far. A failed upload leaves no object behind.
	Upload(ctx context.Context, key, path, contentType string, onProgress func(sent int64)) (size int64, err error)
	// PresignGet returns a time-limited GET URL for key.
	PresignGet(ctx context.Context, key string) (string, error)
	// Delete removes the object at key; a key with no object is no error.
	Delete(ctx context.Context, key string) error
}

// Activities carries the dependencies of every activity.
type Activities struct {
	Store Store
	// Targets opens the client of a job's own storage target (a
	// per-request or tenant bucket); nil: such jobs fail clearly.
	Targets func(ctx context.Context, t workflows.StorageTarget) (Store, error)
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
	// NativeDownload lets riptide download what yt-dlp resolves (HLS, DASH,
	// plain files) itself, with segdl; false leaves it to yt-dlp.
	NativeDownload bool
	// Fragments is segdl's parts in flight per stream; 0: adaptive.
	Fragments int
	// YtdlpProxy, when set, is the URL of the proxy yt-dlp must connect
	// through: a netguard.Proxy that refuses non-public addresses.
	YtdlpProxy string
	// Stderr, when set, receives the external programs' diagnostic output.
	Stderr io.Writer
	// MinFreeBytes is the free space a download must leave in WorkDir; 0
	// disables the check. DiskFree reports free space (nil: statfs).
	MinFreeBytes int64
	DiskFree     func(dir string) (int64, error)
	// MaxJobBytes caps what one job downloads (yt-dlp: each file); 0:
	// derived from the disk's size (jobByteCap), negative: no cap.
	// DiskSize reports the work directory disk's size (nil: statfs).
	MaxJobBytes int64
	DiskSize    func(dir string) (int64, error)
	// Listings bounds the batch listings that run at once; nil: no bound.
	// MaxFeedBytes bounds a feed document (0: feeds.DefaultMaxBytes).
	Listings     *Listings
	MaxFeedBytes int64
	// Manifests stores batch episode lists (ResolveBatch, BatchEpisodes).
	Manifests ManifestStore
	// Spotify lists Spotify shows and looks up episodes; nil when no
	// credentials are configured, which makes Spotify URLs fail clearly.
	Spotify *SpotifyClient
	// Workflows describes episode workflows for batch reconciliation
	// (client.Client satisfies it); set by the worker.
	Workflows WorkflowDescriber
	// HostQueue is this worker's own task queue, which Download returns
	// so the job's mux and upload follow its files here (holds.go).
	HostQueue string
	// Holds bounds the jobs whose files this worker holds; nil: no limit.
	Holds *Holds
	// LiveMaxDuration caps a live recording (and a job's max_duration for
	// one); LiveMaxWait bounds wait_for_video. 0: the Default* of live.go.
	LiveMaxDuration, LiveMaxWait time.Duration
	// Sites: cookie jars, upstream proxies, per-site rate control and
	// the operator's yt-dlp options (sites.go).
	Sites Sites

	cacheOnce sync.Once
	cache     *manifestCache
	discards  sync.WaitGroup // discardJobDir's deletions
}

// jobDir is the directory holding one job's temporary files on this worker.
func (a *Activities) jobDir(jobID string) string {
	return filepath.Join(a.WorkDir, jobKey(jobID))
}

// jobKey names a job on this worker: its directory and its hold.
func jobKey(jobID string) string {
	return filepath.Base(jobID)
}

// Cleanup deletes the job's temporary files on this worker.
func (a *Activities) Cleanup(_ context.Context, jobID string) error {
	return a.removeJobDir(jobID)
}

// storeFor is the store of a job's target: the deployment's for nil.
func (a *Activities) storeFor(ctx context.Context, t *workflows.StorageTarget) (Store, error) {
	if t == nil {
		return a.Store, nil
	}
	if a.Targets == nil {
		return nil, permanent(workflows.ErrTypeInvalidInput, "this worker cannot open %s storage targets", t.Provider)
	}
	st, err := a.Targets(ctx, *t)
	if err != nil {
		// A target that does not open (bad credentials' shape, unknown
		// provider) will not open on a retry either.
		return nil, permanent(workflows.ErrTypeInvalidInput, "the job's %s storage: %v", t.Provider, err)
	}
	return st, nil
}

// providerName names a target's service in error messages.
func providerName(t *workflows.StorageTarget) string {
	switch {
	case t == nil, t.Provider == workflows.ProviderS3:
		return "S3"
	case t.Provider == workflows.ProviderBlob:
		return "Azure Blob"
	case t.Provider == workflows.ProviderGCS:
		return "GCS"
	case t.Provider == workflows.ProviderOSS:
		return "OSS"
	}
	return t.Provider
}
