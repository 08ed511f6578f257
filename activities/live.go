package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/riptide-dev/riptide/internal/ffmpeg"
	"github.com/riptide-dev/riptide/internal/heartbeat"
	"github.com/riptide-dev/riptide/internal/livehls"
	"github.com/riptide-dev/riptide/internal/ytdlp"
	"github.com/riptide-dev/riptide/workflows"
)

// Defaults of the live-recording settings (config.Worker.LiveMaxDuration
// and LiveMaxWait) when the Activities leave them 0.
const (
	DefaultLiveMaxDuration = 4 * time.Hour
	DefaultLiveMaxWait     = time.Hour
)

// liveSource is one playlist to record, with the headers its server wants.
type liveSource struct {
	URL    *url.URL
	Header http.Header
}

// liveCap is a recording's cap: the job's max_duration, within the
// worker's LiveMaxDuration (its default when the job gives none).
func (a *Activities) liveCap(maxDuration int) time.Duration {
	limit := a.LiveMaxDuration
	if limit <= 0 {
		limit = DefaultLiveMaxDuration
	}
	if maxDuration > 0 {
		return min(time.Duration(maxDuration)*time.Second, limit)
	}
	return limit
}

// liveWait is how long wait_for_video waits for a stream to start; 0
// without it.
func (a *Activities) liveWait(in workflows.DownloadInput) time.Duration {
	if !in.WaitForVideo {
		return 0
	}
	if a.LiveMaxWait > 0 {
		return a.LiveMaxWait
	}
	return DefaultLiveMaxWait
}

// isHLSURL tells whether u names an HLS playlist by its extension.
func isHLSURL(u *url.URL) bool {
	return strings.EqualFold(path.Ext(u.Path), ".m3u8")
}

// isDASHURL tells whether u names a DASH manifest (downloadDASHNative).
func isDASHURL(u *url.URL) bool {
	return strings.EqualFold(path.Ext(u.Path), ".mpd")
}

// downloadHLS looks at the HLS playlist at u natively: a live one (no
// EXT-X-ENDLIST, not VOD) is recorded; handled is false for an on-demand
// one, or a document that is no playlist, which yt-dlp downloads as
// before. A playlist that is missing (404) or lists no segment yet is a
// stream that has not started: waited for with wait_for_video, else a
// permanent error.
func (a *Activities) downloadHLS(ctx context.Context, dir string, u *url.URL, in workflows.DownloadInput) (res *workflows.DownloadResult, handled bool, err error) {
	wait := a.liveWait(in)
	started := time.Now()
	pause := livehls.WaitBackoff
	stop := heartbeat.Every(ctx, heartbeat.Interval, previousProgress(ctx))
	defer func() { stop() }()
	for {
		sources, media, err := a.resolveHLS(ctx, u, in)
		var why string
		switch {
		case err == nil && len(media.Segments) > 0:
			if !media.Live() {
				return nil, false, nil
			}
			stop()
			stop = func() {}
			res, err := a.recordLive(ctx, dir, sources, in, max(0, wait-time.Since(started)))
			if res != nil {
				res.Source = "hls-live"
			}
			return res, true, err
		case err == nil && !media.Live():
			return nil, false, nil
		case err == nil:
			why = "its playlist lists no segment yet"
		case isParseError(err):
			return nil, false, nil
		case ctx.Err() != nil:
			return nil, true, ctx.Err()
		case errorType(err) == workflows.ErrTypeNotFound && wait > 0:
			why = "its playlist is not there (HTTP 404)"
		default:
			return nil, true, err
		}
		if wait <= 0 {
			return nil, true, livehls.NotStarted(why, 0)
		}
		if time.Since(started)+pause > wait {
			return nil, true, livehls.NotStarted(why, wait)
		}
		activity.GetLogger(ctx).Info("Waiting for the live stream to start", "why", why, "next_check", pause)
		if err := livehls.Sleep(ctx, pause); err != nil {
			return nil, true, err
		}
		pause = min(2*pause, livehls.WaitBackoffMax)
	}
}

// resolveHLS loads the playlist at u and, for a master playlist, the
// variant the job's max_resolution picks (and its separate audio): the
// playlists to record, and the first one's content.
func (a *Activities) resolveHLS(ctx context.Context, u *url.URL, in workflows.DownloadInput) ([]liveSource, *livehls.MediaPlaylist, error) {
	master, media, err := livehls.Load(ctx, a.httpFor(ctx), nil, u)
	if err != nil {
		return nil, nil, err
	}
	sources := []liveSource{{URL: u}}
	if master != nil {
		v := master.PickVariant(in.MaxHeight)
		sources = []liveSource{{URL: v.URI}}
		if audio := master.AudioFor(v); audio != nil {
			sources = append(sources, liveSource{URL: audio})
		}
		if _, media, err = livehls.Load(ctx, a.httpFor(ctx), nil, v.URI); err != nil {
			return nil, nil, err
		}
		if media == nil {
			return nil, nil, permanent(workflows.ErrTypeUnsupported, "the HLS variant is a master playlist itself")
		}
	}
	return sources, media, nil
}

// recordYtdlpLive records a live source yt-dlp resolved: its selected
// formats' HLS playlists, natively (so every byte still passes the guard;
// yt-dlp's own --live-from-start is not used).
func (a *Activities) recordYtdlpLive(ctx context.Context, dir string, in workflows.DownloadInput, info *ytdlp.Info) (*workflows.DownloadResult, error) {
	var sources []liveSource
	for _, f := range info.LiveFormats() {
		if !strings.HasPrefix(f.Protocol, "m3u8") {
			return nil, permanent(workflows.ErrTypeUnsupported,
				"%s is a live stream served over %q; riptide records live HLS streams only", in.URL, f.Protocol)
		}
		u, err := url.Parse(f.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, permanent(workflows.ErrTypeUnsupported, "the live stream's playlist URL is not http(s)")
		}
		sources = append(sources, liveSource{URL: u, Header: sourceHeaders(f.HTTPHeaders)})
	}
	if len(sources) == 0 || len(sources) > 2 {
		return nil, permanent(workflows.ErrTypeUnsupported, "yt-dlp selected %d formats of the live stream at %s", len(sources), in.URL)
	}
	res, err := a.recordLive(ctx, dir, sources, in, 0)
	if err != nil {
		return nil, err
	}
	res.Title, res.Description, res.ReleaseDate = info.MediaTitle(), info.Description, info.ReleaseDate()
	res.Source, res.Strategy = info.Extractor, workflows.DownloadLiveHLS
	return res, nil
}

// waitYtdlpUpcoming asks yt-dlp again, with backoff, while the source is a
// stream that has not started, for up to the wait_for_video bound; without
// wait_for_video it fails at once.
func (a *Activities) waitYtdlpUpcoming(ctx context.Context, in workflows.DownloadInput, info func() (*ytdlp.Info, []byte, error)) (*ytdlp.Info, []byte, error) {
	wait := a.liveWait(in)
	started := time.Now()
	pause := livehls.WaitBackoff
	stop := heartbeat.Every(ctx, heartbeat.Interval, previousProgress(ctx))
	defer stop()
	for {
		i, raw, err := info()
		upcoming := ytdlp.IsUpcomingError(err) || (err == nil && i.Upcoming())
		if !upcoming {
			return i, raw, err
		}
		why := "yt-dlp says it is upcoming"
		if wait <= 0 {
			return nil, nil, livehls.NotStarted(why, 0)
		}
		if time.Since(started)+pause > wait {
			return nil, nil, livehls.NotStarted(why, wait)
		}
		if err := livehls.Sleep(ctx, pause); err != nil {
			return nil, nil, err
		}
		pause = min(2*pause, livehls.WaitBackoffMax)
	}
}

// recordLive records sources (a video playlist, maybe its separate
// audio) into the job directory until the cap or the stream's end,
// heartbeating where each stands.
//
// A retried attempt resumes when it lands on the worker holding the
// previous attempt's files: each part continues from its heartbeated
// sequence number and size when the playlist still lists the next
// segment (livehls.Recorder.Resume); otherwise, or on another worker (a
// restarted worker keeps only what was written in its last minutes), the recording starts
// afresh at the live edge. Either way the file is whole segments of one
// stretch of the stream, which the mux turns into a playable file.
func (a *Activities) recordLive(ctx context.Context, dir string, sources []liveSource, in workflows.DownloadInput, wait time.Duration) (*workflows.DownloadResult, error) {
	limit := a.liveCap(in.MaxDuration)
	var prev workflows.Progress
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &prev)
	}
	var mu sync.Mutex
	parts := make([]workflows.LivePart, len(sources))
	progress := func() workflows.Progress {
		mu.Lock()
		defer mu.Unlock()
		p := workflows.Progress{Live: &workflows.LiveProgress{Parts: append([]workflows.LivePart(nil), parts...)}}
		secs := -1.0
		for _, lp := range parts {
			p.Bytes += lp.Bytes
			if secs < 0 || lp.Seconds < secs {
				secs = lp.Seconds
			}
		}
		p.Percent = min(100, max(secs, 0)*100/limit.Seconds())
		return p
	}
	byteCap := a.jobByteCap(ctx)
	var recs []*livehls.Recorder
	for i, s := range sources {
		r := &livehls.Recorder{
			Client: a.httpFor(ctx), Header: s.Header, Playlist: s.URL,
			Out: filepath.Join(dir, fmt.Sprintf("live-%d", i)), Cap: limit,
			FromStart: in.LiveFromStart, Wait: wait,
			EnsureSpace: func(written int64) error { return a.ensureDiskSpace(dir, 2*written) },
			OnProgress: func(p livehls.Progress) {
				mu.Lock()
				parts[i] = workflows.LivePart{NextSeq: p.NextSeq, Bytes: p.Bytes, Seconds: p.Seconds}
				mu.Unlock()
			},
			Warn: activity.GetLogger(ctx).Warn,
		}
		r.MaxBytes = byteCap
		if prev.Live != nil && len(prev.Live.Parts) == len(sources) {
			lp := prev.Live.Parts[i]
			r.Resume = livehls.Progress{NextSeq: lp.NextSeq, Bytes: lp.Bytes, Seconds: lp.Seconds}
		}
		recs = append(recs, r)
	}
	stop := heartbeat.Every(ctx, heartbeat.Interval, progress)
	results, err := livehls.RecordAll(ctx, recs)
	stop()
	if err != nil {
		return nil, err
	}
	res := &workflows.DownloadResult{}
	for i, r := range results {
		if r.Segments == 0 {
			return nil, technical(nil, "the live stream gave no segment")
		}
		activity.GetLogger(ctx).Info("Live recording finished", "part", i, "seconds", r.Progress.Seconds,
			"segments", r.Segments, "skipped", r.Skipped, "ended", r.Ended, "resumed", r.Resumed)
		res.Files = append(res.Files, r.Path)
		res.Bytes += r.Progress.Bytes
	}
	activity.RecordHeartbeat(ctx, progress())
	// What the recorder wrote must be media, as any download's.
	if res.Media, err = ffmpeg.Inspect(ctx, a.Ffprobe, res.Files[0]); err != nil {
		return nil, err
	}
	return res, nil
}

// previousProgress repeats the previous attempt's heartbeat while a
// stream is waited for: a retry still finds where the recording stood.
func previousProgress(ctx context.Context) func() workflows.Progress {
	var prev workflows.Progress
	if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &prev)
	}
	return func() workflows.Progress { return prev }
}

// errorType is err's application error type, "" for other errors.
func errorType(err error) string {
	if e, ok := errors.AsType[*temporal.ApplicationError](err); ok {
		return e.Type()
	}
	return ""
}

func isParseError(err error) bool {
	_, ok := errors.AsType[*livehls.ParseError](err)
	return ok
}
