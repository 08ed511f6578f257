package activities

import (
	"cmp"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"

	"github.com/riptide-dev/riptide/internal/ffmpeg"
	"github.com/riptide-dev/riptide/internal/heartbeat"
	"github.com/riptide-dev/riptide/internal/ytdlp"
	"github.com/riptide-dev/riptide/workflows"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// ytdlp is the worker's yt-dlp, behind its guarded proxy, with the
// operator's options.
func (a *Activities) ytdlp() ytdlp.Runner {
	return a.ytdlpFor(context.Background())
}

// ytdlpFor is ytdlp for a download attempt: with the byte cap of ctx's job
// (jobByteCap), through its upstream proxy, with its cookie jar's private
// copy (prepareSite).
func (a *Activities) ytdlpFor(ctx context.Context) ytdlp.Runner {
	r := ytdlp.Runner{Path: a.Ytdlp, Proxy: a.YtdlpProxy, Fragments: a.YtdlpFragments, Stderr: a.Stderr, MaxFilesize: a.jobByteCap(ctx),
		Options: a.Sites.YtdlpOptions}
	if sn := siteNetOf(ctx); sn != nil {
		r.Proxy, r.Cookies = sn.ytdlpProxy, sn.cookiesPath
	}
	return r
}

// downloadYtdlp downloads through yt-dlp in steps so that yt-dlp never merges
// or post-processes with ffmpeg; riptide's Mux does that. Step one extracts
// the info JSON and selects the formats, step two downloads each selected
// format to its own file, and step three fetches the subtitles.
func (a *Activities) downloadYtdlp(ctx context.Context, dir string, in workflows.DownloadInput) (*workflows.DownloadResult, error) {
	y := a.ytdlpFor(ctx)
	info, raw, err := a.waitYtdlpUpcoming(ctx, in, func() (*ytdlp.Info, []byte, error) {
		raw, info, err := y.Info(ctx, in.URL, ytdlp.FormatSelector(in))
		return info, raw, err
	})
	if err != nil {
		return nil, err
	}
	switch {
	case info.Type == "playlist" || info.Type == "multi_video":
		return nil, permanent(workflows.ErrTypeUnsupported, "%s is a playlist, not a single video", in.URL)
	case info.Live():
		// yt-dlp's download of a live stream would only end at the
		// activity's timeout: riptide records it natively (live.go).
		res, err := a.recordYtdlpLive(ctx, dir, in, info)
		if err == nil {
			res.Streams, err = a.inspectDownloads(ctx, res.Files, []*workflows.MediaInfo{res.Media})
		}
		if err != nil {
			return nil, err
		}
		return res, nil
	}
	if err := checkDuration(info.Duration, in.MaxDuration); err != nil {
		return nil, err
	}
	formats, sizes := info.Formats()
	if len(formats) == 0 {
		return nil, permanent(workflows.ErrTypeUnsupported, "yt-dlp selected no format at %s", in.URL)
	}
	infoPath := filepath.Join(dir, "info.json")
	if err := os.WriteFile(infoPath, raw, 0o644); err != nil {
		return nil, technical(err, "writing info JSON: %v", err)
	}

	if err := a.checkKnownSizes(ctx, sizes); err != nil {
		return nil, err
	}
	files, streams, strategy, err := a.fetchFormats(ctx, dir, infoPath, y, info, formats, sizes)
	if err != nil {
		return nil, err
	}
	res := &workflows.DownloadResult{
		Streams:     streams,
		Strategy:    strategy,
		Files:       files,
		Title:       info.MediaTitle(),
		Description: info.Description,
		ReleaseDate: info.ReleaseDate(),
		Source:      cmp.Or(info.Extractor, info.ExtractorKey),
	}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return nil, technical(err, "downloaded file: %v", err)
		}
		res.Bytes += st.Size()
	}
	done := heartbeat.Progress(res.Bytes, res.Bytes)
	heartbeat.Record(ctx, done)
	if info.Duration <= 0 {
		// The source did not say; the file does.
		if err := checkDuration(ffmpeg.Duration(ctx, a.Ffprobe, files[0]).Seconds(), in.MaxDuration); err != nil {
			return nil, err
		}
	}
	if in.Thumbnail && (info.Thumbnail != "" || len(info.Thumbnails) > 0) {
		// Best effort, like subtitles: a thumbnail yt-dlp cannot get
		// leaves Mux to grab a frame instead.
		if res.Thumbnail, err = y.Thumbnail(ctx, dir, infoPath, done); err != nil {
			activity.GetLogger(ctx).Warn("Source thumbnail not fetched", "error", err)
		}
	}

	if in.Subtitles && len(info.Subtitles) > 0 {
		res.Subtitles, err = y.Subtitles(ctx, dir, infoPath, done)
		// A subtitle yt-dlp cannot get for good only costs the subtitles.
		if appErr, ok := errors.AsType[*temporal.ApplicationError](err); ok && appErr.NonRetryable() {
			activity.GetLogger(ctx).Warn("Skipping subtitles", "error", err)
			res.Subtitles, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}

// checkDuration refuses media longer than maxSeconds (0: no limit); an
// unknown duration (0) passes.
func checkDuration(duration float64, maxSeconds int) error {
	if maxSeconds > 0 && duration > float64(maxSeconds) {
		return permanent(workflows.ErrTypeInvalidInput, "the media lasts %.0f s, longer than max_duration (%d s)",
			math.Ceil(duration), maxSeconds)
	}
	return nil
}
