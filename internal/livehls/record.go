package livehls

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/riptide-dev/riptide/internal/failure"
	"github.com/riptide-dev/riptide/internal/httpget"
	"github.com/riptide-dev/riptide/workflows"
)

// Tunables; vars so tests can shorten them.
var (
	// MaxPlaylistBytes bounds one playlist document.
	MaxPlaylistBytes int64 = 4 << 20
	// SegmentAttempts is how often a segment is asked for before it is
	// given up on; RetryDelay the pause after a failed attempt.
	SegmentAttempts = 3
	RetryDelay      = 500 * time.Millisecond
	// WaitBackoff is the first pause while waiting for a stream to start
	// (wait_for_video); it doubles up to WaitBackoffMax.
	WaitBackoff    = 2 * time.Second
	WaitBackoffMax = 30 * time.Second
	// StallPolls is how many target durations (at least MinStall) the
	// playlist may go without a new segment, or fail to load, before the
	// recording ends with what it has: the stream stopped without saying.
	StallPolls = 6
	MinStall   = 30 * time.Second
)

// Progress is where a recording stands: what a retried attempt resumes
// from (the activity heartbeats it).
type Progress struct {
	// NextSeq is the media sequence number of the next segment to fetch.
	NextSeq int64 `json:"next_seq"`
	// Bytes is the size of the output file after the last whole segment.
	Bytes int64 `json:"bytes"`
	// Seconds is the recorded media duration (sum of EXTINF).
	Seconds float64 `json:"seconds"`
}

// Recorder records one media playlist into one file.
type Recorder struct {
	// Client fetches the playlist and the segments: the worker's guarded
	// client. Header is added to every request (nil: none).
	Client *http.Client
	Header http.Header
	// Playlist is the media playlist's URL.
	Playlist *url.URL
	// Out is the output file's path without extension; Record adds .ts,
	// .mp4 (fMP4 with init section) or the segments' audio extension.
	Out string
	// Cap ends the recording once this much media is recorded (> 0).
	Cap time.Duration
	// FromStart starts at the first segment the playlist lists, instead of
	// at the live edge.
	FromStart bool
	// Wait is how long to wait for a stream that has not started (the
	// playlist is missing or lists no segment); 0: fail at once.
	Wait time.Duration
	// Resume is a previous attempt's progress (zero: none). It is resumed
	// when the file is still as long and the playlist still lists the next
	// segment; else the recording starts afresh.
	Resume Progress
	// MaxBytes caps the file (0: no cap); EnsureSpace is asked before each
	// segment with the bytes written so far (nil: no check).
	MaxBytes    int64
	EnsureSpace func(written int64) error
	// OnProgress is told after each segment (nil: nobody).
	OnProgress func(Progress)
	// Warn logs what the recording skipped (nil: nothing).
	Warn func(msg string, args ...any)
}

// Result is a finished recording.
type Result struct {
	Path     string
	Progress Progress
	Segments int
	// Ended: the stream ended (EXT-X-ENDLIST or it stopped updating)
	// before the cap.
	Ended bool
	// Resumed: the recording continued a previous attempt's file.
	Resumed bool
	// Skipped counts segments missing from the file: given up on after
	// SegmentAttempts, or gone from the playlist before they were fetched.
	Skipped int
}

// NotStarted is the failure of a stream that has not started: its
// playlist is missing or empty and no wait was asked for, or the wait
// ran out. Permanent: the stream is not there now, and a retry a few
// seconds later would only say so again.
func NotStarted(why string, waited time.Duration) error {
	if waited > 0 {
		return failure.Permanent(workflows.ErrTypeNotFound,
			"the live stream did not start within %s (wait_for_video): %s", waited.Round(time.Second), why)
	}
	return failure.Permanent(workflows.ErrTypeNotFound,
		"the live stream has not started: %s; send wait_for_video: true to wait for it", why)
}

// Record records until the cap, the stream's end or ctx's end (returning
// ctx's error; the file keeps what was written).
func (r *Recorder) Record(ctx context.Context) (*Result, error) {
	pl, err := r.firstPlaylist(ctx)
	if err != nil {
		return nil, err
	}
	res := &Result{Path: r.Out + "." + outputExt(pl)}
	start, resume := r.startPoint(pl)
	flags := os.O_WRONLY | os.O_CREATE
	if resume {
		res.Resumed, res.Progress = true, r.Resume
	} else {
		flags |= os.O_TRUNC
		res.Progress = Progress{NextSeq: start}
	}
	f, err := os.OpenFile(res.Path, flags, 0o644)
	if err != nil {
		return nil, failure.Technical(err, "creating the recording: %v", err)
	}
	defer f.Close()
	if resume {
		// Bytes written after the last heartbeat are not vouched for.
		if err := f.Truncate(r.Resume.Bytes); err != nil {
			return nil, failure.Technical(err, "resuming the recording: %v", err)
		}
	} else if pl.Map != nil {
		n, err := r.fetchInto(ctx, f, 0, pl.Map)
		if err != nil {
			return nil, err
		}
		res.Progress.Bytes = n
	}
	if _, err := f.Seek(res.Progress.Bytes, io.SeekStart); err != nil {
		return nil, failure.Technical(err, "seeking the recording: %v", err)
	}

	lastNew := time.Now()
	for {
		added := false
		if len(pl.Segments) > 0 && pl.Segments[0].Seq > res.Progress.NextSeq {
			// The playlist slid past segments not fetched yet.
			gap := int(pl.Segments[0].Seq - res.Progress.NextSeq)
			res.Skipped += gap
			r.warn("Live playlist dropped segments before they were recorded", "segments", gap)
			res.Progress.NextSeq = pl.Segments[0].Seq
		}
		for _, s := range pl.Segments {
			if s.Seq < res.Progress.NextSeq {
				continue
			}
			if r.EnsureSpace != nil {
				if err := r.EnsureSpace(res.Progress.Bytes); err != nil {
					return nil, err
				}
			}
			n, err := r.fetchSegment(ctx, f, res.Progress.Bytes, s)
			switch {
			case errors.Is(err, errSkip):
				res.Skipped++
			case err != nil:
				return nil, err
			default:
				res.Progress.Bytes += n
				res.Progress.Seconds += s.Duration
				res.Segments++
			}
			res.Progress.NextSeq = s.Seq + 1
			added = true
			if r.OnProgress != nil {
				r.OnProgress(res.Progress)
			}
			if res.Progress.Seconds >= r.Cap.Seconds() {
				return res, nil
			}
		}
		if !pl.Live() {
			res.Ended = true
			return res, nil
		}
		// RFC 8216 6.3.4: reload after the target duration, or half of
		// it when the playlist had nothing new.
		target := time.Duration(pl.TargetDuration * float64(time.Second))
		wait := target
		if added {
			lastNew = time.Now()
		} else {
			wait = target / 2
			if time.Since(lastNew) >= max(MinStall, time.Duration(StallPolls)*target) {
				r.warn("Live playlist stopped updating; ending the recording", "after", time.Since(lastNew).Round(time.Second))
				res.Ended = true
				return res, nil
			}
		}
		if err := Sleep(ctx, wait); err != nil {
			return nil, err
		}
		next, err := r.loadMedia(ctx)
		switch {
		case err == nil:
			pl = next
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case isBlocked(err):
			return nil, err
		default:
			// A failed reload counts toward the stall: the next poll
			// tries again with the playlist we have.
			r.warn("Reloading the live playlist failed", "error", err)
			pl = &MediaPlaylist{TargetDuration: pl.TargetDuration, Type: pl.Type, Map: pl.Map}
		}
	}
}

// firstPlaylist loads the playlist, waiting up to r.Wait for a stream that
// has not started.
func (r *Recorder) firstPlaylist(ctx context.Context) (*MediaPlaylist, error) {
	started := time.Now()
	pause := WaitBackoff
	for {
		pl, err := r.loadMedia(ctx)
		why := ""
		switch {
		case err == nil && len(pl.Segments) > 0:
			return pl, nil
		case err == nil && !pl.Live():
			return nil, failure.Permanent(workflows.ErrTypeUnsupported, "the stream ended without a segment")
		case err == nil:
			why = "its playlist lists no segment yet"
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case appErrType(err) == workflows.ErrTypeNotFound:
			why = "its playlist is not there (HTTP 404)"
		default:
			return nil, err
		}
		if r.Wait <= 0 {
			return nil, NotStarted(why, 0)
		}
		if time.Since(started)+pause > r.Wait {
			return nil, NotStarted(why, r.Wait)
		}
		if err := Sleep(ctx, pause); err != nil {
			return nil, err
		}
		pause = min(2*pause, WaitBackoffMax)
	}
}

// startPoint picks the first segment to fetch and whether the previous
// attempt is resumed: when it recorded something, the file is still that
// long, and the playlist still lists the segment after its last (no gap).
// Else the recording starts afresh: at the first listed segment with
// FromStart, else at the live edge, the last segment that starts at least
// three target durations before the playlist's end (RFC 8216 6.3.3).
func (r *Recorder) startPoint(pl *MediaPlaylist) (seq int64, resume bool) {
	first := pl.Segments[0].Seq
	last := pl.Segments[len(pl.Segments)-1].Seq
	if p := r.Resume; p.Bytes > 0 && p.NextSeq >= first && p.NextSeq <= last+1 {
		if st, err := os.Stat(r.Out + "." + outputExt(pl)); err == nil && st.Size() >= p.Bytes {
			return p.NextSeq, true
		}
	}
	if r.FromStart || !pl.Live() {
		return first, false
	}
	var tail float64
	for i := len(pl.Segments) - 1; i >= 0; i-- {
		tail += pl.Segments[i].Duration
		if tail >= 3*pl.TargetDuration {
			return pl.Segments[i].Seq, false
		}
	}
	return first, false
}

var errSkip = errors.New("segment skipped")

// fetchSegment appends segment s to f (at offset at), trying it up to
// SegmentAttempts times. A segment that stays missing (404) is skipped:
// a live recording with a gap beats none. Other lasting failures fail
// the recording (a retry resumes it).
func (r *Recorder) fetchSegment(ctx context.Context, f *os.File, at int64, s Segment) (int64, error) {
	var err error
	for attempt := 1; ; attempt++ {
		var n int64
		n, err = r.fetchInto(ctx, f, at, s.URI)
		if err == nil || ctx.Err() != nil || !worthRetrying(err) {
			return n, err
		}
		if attempt >= SegmentAttempts {
			break
		}
		if err := Sleep(ctx, time.Duration(attempt)*RetryDelay); err != nil {
			return 0, err
		}
	}
	if appErrType(err) == workflows.ErrTypeNotFound {
		r.warn("Skipping a live segment that stayed missing", "seq", s.Seq, "error", err)
		return 0, errSkip
	}
	return 0, err
}

// fetchInto writes the body at u to f from offset at, truncating f back to
// at when it fails midway.
func (r *Recorder) fetchInto(ctx context.Context, f *os.File, at int64, u *url.URL) (int64, error) {
	resp, err := httpget.Get(ctx, r.Client, u, r.Header)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := f.Seek(at, io.SeekStart); err != nil {
		return 0, failure.Technical(err, "writing the recording: %v", err)
	}
	var body io.Reader = resp.Body
	if r.MaxBytes > 0 {
		body = io.LimitReader(resp.Body, r.MaxBytes-at+1)
	}
	n, err := io.Copy(f, body)
	if err == nil && r.MaxBytes > 0 && at+n > r.MaxBytes {
		_ = f.Truncate(at)
		return 0, httpget.TooLarge(r.MaxBytes)
	}
	if err != nil {
		_ = f.Truncate(at)
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, failure.Technical(err, "fetching a live segment: the connection broke off")
	}
	return n, nil
}

// loadMedia fetches and parses the media playlist.
func (r *Recorder) loadMedia(ctx context.Context) (*MediaPlaylist, error) {
	master, media, err := Load(ctx, r.Client, r.Header, r.Playlist)
	if pe, ok := errors.AsType[*ParseError](err); ok {
		return nil, failure.Permanent(workflows.ErrTypeUnsupported, "%v", pe)
	}
	if err != nil {
		return nil, err
	}
	if master != nil {
		return nil, failure.Permanent(workflows.ErrTypeUnsupported, "the live playlist turned into a master playlist")
	}
	return media, nil
}

// Load fetches the playlist at u through client and parses it.
func Load(ctx context.Context, client *http.Client, header http.Header, u *url.URL) (*MasterPlaylist, *MediaPlaylist, error) {
	data, err := Fetch(ctx, client, header, u)
	if err != nil {
		return nil, nil, err
	}
	master, media, err := Parse(u, data)
	if err != nil {
		if _, ok := errors.AsType[*UnsupportedError](err); ok {
			return nil, nil, failure.Permanent(workflows.ErrTypeUnsupported, "%v", err)
		}
		return nil, nil, &ParseError{err}
	}
	return master, media, nil
}

// Fetch reads the playlist document at u through client (the guarded
// downloader's checks, httpget.Get), at most MaxPlaylistBytes of it.
func Fetch(ctx context.Context, client *http.Client, header http.Header, u *url.URL) ([]byte, error) {
	return FetchDocument(ctx, client, header, u, "HLS playlist")
}

// FetchDocument is Fetch for any manifest; what names it in errors.
func FetchDocument(ctx context.Context, client *http.Client, header http.Header, u *url.URL, what string) ([]byte, error) {
	resp, err := httpget.Get(ctx, client, u, header)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxPlaylistBytes+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, failure.Technical(err, "reading the %s: the connection broke off", what)
	}
	if int64(len(data)) > MaxPlaylistBytes {
		return nil, failure.Permanent(workflows.ErrTypeUnsupported, "the %s is over %d MiB", what, MaxPlaylistBytes>>20)
	}
	return data, nil
}

// ParseError is a document that is no playlist riptide can read.
type ParseError struct{ Err error }

func (e *ParseError) Error() string { return "reading the HLS playlist: " + e.Err.Error() }
func (e *ParseError) Unwrap() error { return e.Err }

// outputExt names the recording's file after its segments.
func outputExt(pl *MediaPlaylist) string {
	if pl.Map != nil {
		return "mp4"
	}
	if len(pl.Segments) > 0 {
		switch ext := strings.ToLower(path.Ext(pl.Segments[0].URI.Path)); ext {
		case ".aac", ".mp3", ".ac3", ".ec3":
			return ext[1:]
		}
	}
	return "ts"
}

func (r *Recorder) warn(msg string, args ...any) {
	if r.Warn != nil {
		r.Warn(msg, args...)
	}
}

// Sleep waits d or until ctx is done, whichever comes first.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func appErrType(err error) string {
	if e, ok := errors.AsType[*temporal.ApplicationError](err); ok {
		return e.Type()
	}
	return ""
}

func isBlocked(err error) bool { return appErrType(err) == workflows.ErrTypeBlockedAddress }

// worthRetrying tells a segment failure another request may cure (a
// segment not on the CDN yet, a server error, a broken connection) from
// one it cannot (a refused address, the byte cap, the disk).
func worthRetrying(err error) bool {
	e, ok := errors.AsType[*temporal.ApplicationError](err)
	return !ok || e.Type() == workflows.ErrTypeNotFound || !e.NonRetryable()
}

// RecordAll records several playlists at once (a video and its separate
// audio rendition), each into its own file; the first failure stops all.
func RecordAll(ctx context.Context, rs []*Recorder) ([]*Result, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	results := make([]*Result, len(rs))
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for i, r := range rs {
		wg.Go(func() {
			res, err := r.Record(ctx)
			if err != nil {
				once.Do(func() { first = err; cancel(err) })
				return
			}
			results[i] = res
		})
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return results, nil
}
