package activities

import (
	"context"
	"errors"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/riptide-dev/riptide/internal/heartbeat"
	"github.com/riptide-dev/riptide/internal/storage"
	"github.com/riptide-dev/riptide/internal/ytdlp"
	"github.com/riptide-dev/riptide/workflows"
	"go.temporal.io/sdk/activity"
)

// Upload puts the muxed file at in.Key and each subtitle beside it
// ("<key without extension>.<lang>.<ext>"), then presigns a GET URL for the
// media. Keys are fixed by the workflow, so a retry overwrites, never adds.
func (a *Activities) Upload(ctx context.Context, in workflows.UploadInput) (*workflows.UploadResult, error) {
	// In use first: the sweep then leaves the files alone.
	defer a.Holds.use(jobKey(in.JobID))()
	if err := requireFiles(in.Path); err != nil {
		return nil, err
	}
	res, err := a.upload(ctx, in)
	if err == nil && in.Cleanup {
		a.discardJobDir(in.JobID)
	}
	return res, err
}

func (a *Activities) upload(ctx context.Context, in workflows.UploadInput) (*workflows.UploadResult, error) {
	store, err := a.storeFor(ctx, in.Storage)
	if err != nil {
		return nil, err
	}
	started := time.Now()
	var sent atomic.Int64
	stop := heartbeat.Every(ctx, heartbeat.Interval, func() workflows.Progress {
		return workflows.Progress{Bytes: sent.Load()}
	})
	size, err := store.Upload(ctx, in.Key, in.Path, mediaType(in.Path), func(n int64) { sent.Add(n) })
	stop()
	if err != nil {
		return nil, technical(err, "upload to %s failed: %v", providerName(in.Storage), err)
	}
	heartbeat.Final(ctx, started, workflows.Progress{Bytes: size, Total: size, Percent: 100})

	res := &workflows.UploadResult{Key: in.Key, Bytes: size}
	base := strings.TrimSuffix(in.Key, path.Ext(in.Key))
	for _, sub := range in.Subtitles {
		if !ytdlp.ValidSubtitle(sub.Lang, sub.Ext) {
			// Download keeps only safe ones; a history from before may not.
			activity.GetLogger(ctx).Warn("Dropping a subtitle with an unsafe language or extension",
				"lang", strconv.Quote(sub.Lang), "ext", strconv.Quote(sub.Ext))
			continue
		}
		key := base + "." + sub.Lang + "." + sub.Ext
		if _, err := store.Upload(ctx, key, sub.Path, subtitleTypes[sub.Ext], nil); err != nil {
			return nil, technical(err, "subtitle upload to %s failed: %v", providerName(in.Storage), err)
		}
		res.SubtitleKeys = append(res.SubtitleKeys, key)
	}
	if in.Thumbnail != "" {
		ext := strings.ToLower(filepath.Ext(in.Thumbnail))
		if typ, ok := imageTypes[ext]; ok {
			key := base + ext
			if _, err := store.Upload(ctx, key, in.Thumbnail, typ, nil); err != nil {
				return nil, technical(err, "thumbnail upload to %s failed: %v", providerName(in.Storage), err)
			}
			res.ThumbnailKey = key
		} else {
			activity.GetLogger(ctx).Warn("Dropping a thumbnail that is no image riptide serves", "ext", strconv.Quote(ext))
		}
	}
	if res.URL, err = store.PresignGet(ctx, in.Key); errors.Is(err, storage.ErrNoSignedURL) {
		// A SAS-token container: the object is stored, with no URL to give.
		res.URL = ""
	} else if err != nil {
		return nil, technical(err, "presigning failed: %v", err)
	}
	return res, nil
}

// Content-Types are set from what riptide wrote, never from a name a
// source or client chose: a client's filename "x.html" still stores media
// as video/mp4, so a presigned URL never serves a page.
var (
	// mediaTypes types the media by its file's extension, which the
	// worker chose: the format's for a muxed file, the container's for a
	// download kept as it is.
	mediaTypes = map[string]string{
		".mp4": "video/mp4", ".m4v": "video/mp4", ".mkv": "video/x-matroska", ".webm": "video/webm",
		".mov": "video/quicktime", ".m4a": "audio/mp4", ".mp3": "audio/mpeg", ".ogg": "audio/ogg",
		".oga": "audio/ogg", ".opus": "audio/ogg", ".flac": "audio/flac", ".wav": "audio/wav",
		".aac": "audio/aac", ".ts": "video/mp2t",
	}
	// subtitleTypes types ytdlp.SubtitleExts.
	subtitleTypes = map[string]string{
		"vtt": "text/vtt", "srt": "application/x-subrip", "ass": "text/x-ssa", "ttml": "application/ttml+xml",
	}
	// imageTypes are the thumbnails riptide uploads.
	imageTypes = map[string]string{
		".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp", ".gif": "image/gif",
	}
)

// mediaType is the Content-Type of the media file at path.
func mediaType(path string) string {
	if t, ok := mediaTypes[strings.ToLower(filepath.Ext(path))]; ok {
		return t
	}
	return storage.OctetStream
}
