package activities

import (
	"context"
	"mime"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/riptide-dev/riptide/internal/heartbeat"
	"github.com/riptide-dev/riptide/workflows"
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
		_ = a.removeJobDir(in.JobID)
	}
	return res, err
}

func (a *Activities) upload(ctx context.Context, in workflows.UploadInput) (*workflows.UploadResult, error) {
	started := time.Now()
	var sent atomic.Int64
	stop := heartbeat.Every(ctx, heartbeat.Interval, func() workflows.Progress {
		return workflows.Progress{Bytes: sent.Load()}
	})
	size, err := a.Store.Upload(ctx, in.Key, in.Path, contentType(in.Key), func(n int64) { sent.Add(n) })
	stop()
	if err != nil {
		return nil, technical(err, "upload to S3 failed: %v", err)
	}
	heartbeat.Final(ctx, started, workflows.Progress{Bytes: size, Total: size, Percent: 100})

	res := &workflows.UploadResult{Key: in.Key, Bytes: size}
	base := strings.TrimSuffix(in.Key, path.Ext(in.Key))
	for _, sub := range in.Subtitles {
		key := base + "." + sub.Lang + "." + sub.Ext
		if _, err := a.Store.Upload(ctx, key, sub.Path, contentType(key), nil); err != nil {
			return nil, technical(err, "subtitle upload to S3 failed: %v", err)
		}
		res.SubtitleKeys = append(res.SubtitleKeys, key)
	}
	if in.Thumbnail != "" {
		key := base + strings.ToLower(filepath.Ext(in.Thumbnail))
		if _, err := a.Store.Upload(ctx, key, in.Thumbnail, contentType(key), nil); err != nil {
			return nil, technical(err, "thumbnail upload to S3 failed: %v", err)
		}
		res.ThumbnailKey = key
	}
	if res.URL, err = a.Store.PresignGet(ctx, in.Key); err != nil {
		return nil, technical(err, "presigning failed: %v", err)
	}
	return res, nil
}

func contentType(key string) string {
	switch ext := filepath.Ext(key); ext {
	case ".mkv":
		return "video/x-matroska"
	case ".vtt":
		return "text/vtt"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".webp":
		return "image/webp"
	default:
		if t := mime.TypeByExtension(ext); t != "" {
			return t
		}
		return "application/octet-stream"
	}
}
