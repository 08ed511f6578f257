// Package httpget is riptide's native downloader for direct media URLs:
// it tells a media file from a page, fetches it in large buffers with
// heartbeats, ends stalled transfers and resumes a previous attempt's
// partial file with a Range request.
package httpget

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/riptide-dev/riptide/internal/failure"
	"github.com/riptide-dev/riptide/internal/heartbeat"
	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/workflows"
)

// StallTimeout ends a transfer that received nothing for this long: the
// HTTP client has no timeout of its own, and a fresh attempt resumes where
// this one stopped. A var so tests can shorten it.
var StallTimeout = time.Minute

var errStalled = errors.New("transfer stalled")

// Limits bound what one download may write.
type Limits struct {
	// MaxBytes caps the file's size; 0: no cap. A larger file fails for
	// good with the error TooLarge returns, before its first byte when the
	// server says its size, else when the body reaches the cap.
	MaxBytes int64
	// EnsureSpace refuses a download that needs more disk space than is
	// left; it gets the bytes still to fetch plus the file's size, for the
	// muxed copy. Fetch asks before the first byte and again after every
	// SpaceCheckEvery bytes written, with the file's size so far standing
	// in for an unknown size: an endless body stops once its muxed copy
	// would no longer fit. nil: no check.
	EnsureSpace func(need int64) error
}

// SpaceCheckEvery is how many bytes Fetch writes between two free-space
// checks: a statfs per MiB costs nothing next to writing the MiB. A var so
// tests can change it.
var SpaceCheckEvery int64 = 1 << 20

// TooLarge is the error of a source larger than limit bytes.
func TooLarge(limit int64) error {
	return failure.Permanent(workflows.ErrTypeInvalidInput, "the source is larger than the %s this worker allows", mib(limit))
}

// mib formats a byte count in MiB, rounded down, or in bytes below 1 MiB
// ("0 MiB" would read as "none").
func mib(n int64) string {
	m := n >> 20
	if m == 0 && n > 0 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%d MiB", m)
}

// Fetch downloads the media file at u with client to <dir>/source.<ext>,
// resuming the partial file of a previous attempt (which the activity's
// heartbeats tell of) when the server supports ranges, within lim. Fetch
// returns the file and its size. A download stopped by lim removes its
// partial file: the disk space is what ran short, and a retry must not
// resume a file that is already too large.
func Fetch(ctx context.Context, client *http.Client, dir string, u *url.URL, lim Limits) (string, int64, error) {
	started := time.Now()
	partial, offset, err := resumePoint(ctx, dir)
	if err != nil {
		return "", 0, failure.Technical(err, "preparing resume: %v", err)
	}

	// Canceled with errStalled by the heartbeat loop when data stops coming.
	reqCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	var resp *http.Response
	var total int64
	for {
		resp, err = get(reqCtx, client, u, offset, nil)
		if err != nil {
			return "", 0, err
		}
		var restart bool
		offset, total, restart, err = rangeOutcome(resp, offset)
		if err != nil {
			resp.Body.Close()
			return "", 0, failure.Technical(err, "fetching %s: %v", u, err)
		}
		if !restart {
			break
		}
		// The server cannot continue from offset after all: start over.
		resp.Body.Close()
		offset = 0
	}
	defer resp.Body.Close()
	if err := checkEncoding(resp); err != nil {
		return "", 0, err
	}
	if lim.MaxBytes > 0 && total > lim.MaxBytes {
		if partial != "" {
			_ = os.Remove(partial)
		}
		return "", 0, TooLarge(lim.MaxBytes)
	}
	// The download and then its muxed copy both land in the job directory.
	if err := lim.ensureSpace(max(total-offset, 0) + total); err != nil {
		return "", 0, err
	}

	dst := partial
	if offset == 0 {
		dst = filepath.Join(dir, "source."+fileExt(u, resp.Header.Get("Content-Type")))
		if partial != "" && partial != dst {
			if err := os.Remove(partial); err != nil {
				return "", 0, failure.Technical(err, "removing stale partial file: %v", err)
			}
		}
	}

	n := offset
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable { // else already complete
		n, err = copyWithHeartbeats(reqCtx, cancel, resp.Body, dst, offset, total, lim)
		if err != nil {
			if ctx.Err() != nil {
				return "", 0, ctx.Err()
			}
			if _, ok := errors.AsType[*temporal.ApplicationError](err); ok {
				// A limit stopped the copy: its error says which.
				_ = os.Remove(dst)
				return "", 0, err
			}
			if errors.Is(context.Cause(reqCtx), errStalled) {
				return "", 0, failure.Technical(errStalled, "downloading %s: no data for %s", u, StallTimeout)
			}
			if netguard.IsNetError(err) {
				// "read tcp <local>-><remote>: connection reset by peer"
				logNetError(ctx, "Downloading the source failed", "url", u.Redacted(), "error", err)
				return "", 0, failure.Technical(err, "downloading: the connection to the source broke off")
			}
			return "", 0, failure.Technical(err, "downloading %s: %v", u, err)
		}
		if total > 0 && n != total {
			return "", 0, failure.Technical(io.ErrUnexpectedEOF, "downloading %s: got %d of %d bytes", u, n, total)
		}
	}
	heartbeat.Final(ctx, started, heartbeat.Progress(n, n))
	return dst, n, nil
}

// logNetError logs a connection failure's detail, which the client's error
// leaves out, to the activity's log (the process's outside one).
func logNetError(ctx context.Context, msg string, args ...any) {
	if activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Warn(msg, args...)
		return
	}
	slog.WarnContext(ctx, msg, args...)
}

// resumePoint finds the partial file a previous attempt left and how much of
// it to keep. The offset is what that attempt heartbeated, not the file's
// size: nothing vouches for bytes written after the last heartbeat (without
// fsync, a machine crash can leave them as zeros), and fetching a second's
// worth again is cheap.
func resumePoint(ctx context.Context, dir string) (partial string, offset int64, err error) {
	matches, err := filepath.Glob(filepath.Join(dir, "source.*"))
	if err != nil || len(matches) == 0 {
		return "", 0, err
	}
	partial = matches[0]
	if !activity.HasHeartbeatDetails(ctx) {
		return partial, 0, nil
	}
	var p workflows.Progress
	if err := activity.GetHeartbeatDetails(ctx, &p); err != nil || p.Bytes <= 0 {
		return partial, 0, nil
	}
	st, err := os.Stat(partial)
	if err != nil || st.Size() < p.Bytes {
		// Not the file that was heartbeated: download it again.
		return partial, 0, nil
	}
	return partial, p.Bytes, os.Truncate(partial, p.Bytes)
}

// get sends the GET, asking for the bytes from offset on, and maps failure
// statuses to typed errors.
func get(ctx context.Context, client *http.Client, u *url.URL, offset int64, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, failure.Permanent(workflows.ErrTypeInvalidInput, "bad URL %s: %v", u, err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	// Asking for an encoding stops the transport from asking for gzip and
	// transparently inflating it: a small compressed body must not become
	// gigabytes on disk, nor hide its size from the checks. Media files
	// are compressed already.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// The client's message names no address or port (a redirect's
		// target, what a name resolved to, which ports are open); the
		// error is the cause, kept in the history and the worker's log.
		logNetError(ctx, "Fetching the source failed", "url", u.Redacted(), "error", err)
		if netguard.IsBlocked(err) {
			return nil, temporal.NewNonRetryableApplicationError(netguard.MsgSourceBlocked, workflows.ErrTypeBlockedAddress, err)
		}
		if se, ok := errors.AsType[*netguard.UpstreamStatusError](err); ok && se.Code == http.StatusTooManyRequests {
			// An upstream proxy rate-limited: another one is tried.
			return nil, failure.RateLimited(err, 0, "%s", se.Error())
		}
		return nil, failure.Technical(err, "%s", netguard.SourceMessage(err))
	}
	code := resp.StatusCode
	if code/100 == 2 || (code == http.StatusRequestedRangeNotSatisfiable && offset > 0) {
		return resp, nil
	}
	resp.Body.Close()
	switch code {
	case http.StatusNotFound, http.StatusGone:
		return nil, failure.Permanent(workflows.ErrTypeNotFound, "HTTP %s fetching %s", resp.Status, u)
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusUnavailableForLegalReasons:
		return nil, failure.Permanent(workflows.ErrTypeContentUnavailable, "HTTP %s fetching %s", resp.Status, u)
	}
	if code == http.StatusTooManyRequests {
		// Backs off per site (activities' siteOutcome).
		return nil, failure.RateLimited(nil, 0, "HTTP %s fetching %s", resp.Status, u)
	}
	// 5xx and anything unexpected: worth another attempt.
	return nil, failure.Technical(nil, "HTTP %s fetching %s", resp.Status, u)
}

// rangeOutcome reads how the server answered a request for the bytes from
// offset on: where its body starts in the file (0 when it sent the whole
// file), the file's total size (0 when unknown), and whether it cannot
// continue the partial file, so the download must start over.
func rangeOutcome(resp *http.Response, offset int64) (start, total int64, restart bool, err error) {
	switch resp.StatusCode {
	case http.StatusPartialContent:
		cr := resp.Header.Get("Content-Range")
		first, size, ok := parseContentRange(cr)
		if !ok || first != offset {
			if offset > 0 {
				return 0, 0, true, nil
			}
			return 0, 0, false, fmt.Errorf("unasked-for partial content %q", cr)
		}
		if size < 0 && resp.ContentLength >= 0 {
			size = offset + resp.ContentLength
		}
		return offset, max(size, 0), false, nil
	case http.StatusRequestedRangeNotSatisfiable:
		// "bytes */size": nothing lies beyond offset when it is the size,
		// i.e. the previous attempt got everything.
		_, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		return offset, size, !ok || size != offset, nil
	default:
		// 200 and friends: the whole file, whatever was asked for.
		return 0, max(resp.ContentLength, 0), false, nil
	}
}

// parseContentRange parses "bytes first-last/size" or "bytes */size"; start
// is -1 for the latter and size is -1 when given as "*".
func parseContentRange(h string) (start, size int64, ok bool) {
	spec, found := strings.CutPrefix(h, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, sz, found := strings.Cut(spec, "/")
	if !found {
		return 0, 0, false
	}
	size = -1
	if sz != "*" {
		var err error
		if size, err = strconv.ParseInt(sz, 10, 64); err != nil || size < 0 {
			return 0, 0, false
		}
	}
	if rng == "*" {
		return -1, size, size >= 0
	}
	first, _, found := strings.Cut(rng, "-")
	start, err := strconv.ParseInt(first, 10, 64)
	if !found || err != nil || start < 0 {
		return 0, 0, false
	}
	return start, size, true
}

// checkEncoding refuses a body the server encoded although it was asked not
// to: riptide stores media as the server sends it, and an encoded media
// file is either a mistake or a decompression bomb.
func checkEncoding(resp *http.Response) error {
	for _, ce := range resp.Header.Values("Content-Encoding") {
		for _, e := range strings.Split(ce, ",") {
			if e = strings.TrimSpace(e); e != "" && !strings.EqualFold(e, "identity") {
				return failure.Permanent(workflows.ErrTypeInvalidInput,
					"the server sent the media with Content-Encoding %q although asked for none; riptide accepts media files only as they are", e)
			}
		}
	}
	return nil
}

func (l Limits) ensureSpace(need int64) error {
	if l.EnsureSpace == nil {
		return nil
	}
	return l.EnsureSpace(need)
}

// copyWithHeartbeats writes body to dst from offset on (truncating when
// offset is 0), heartbeating progress every heartbeat.Interval, within lim
// (a write that would pass lim.MaxBytes fails instead, so the file never
// grows past it). It cancels reqCtx with errStalled when no byte arrives
// for StallTimeout.
func copyWithHeartbeats(reqCtx context.Context, cancel context.CancelCauseFunc, body io.Reader, dst string, offset, total int64, lim Limits) (int64, error) {
	flags := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	if offset == 0 {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(dst, flags, 0o644)
	if err != nil {
		return offset, err
	}
	cw := &countingWriter{w: f, lim: lim, total: total, checked: offset}
	cw.n.Store(offset)

	last, lastMoved := offset, time.Now()
	stop := heartbeat.Every(reqCtx, heartbeat.Interval, func() workflows.Progress {
		n := cw.n.Load()
		if n != last {
			last, lastMoved = n, time.Now()
		} else if time.Since(lastMoved) >= StallTimeout {
			cancel(errStalled)
		}
		return heartbeat.Progress(n, total)
	})
	// The counting writer hides os.File's ReadFrom, so CopyBuffer really
	// uses the large buffer instead of io.Copy's 32 KiB one.
	_, err = io.CopyBuffer(cw, body, make([]byte, 1<<20))
	stop()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return cw.n.Load(), err
}

// countingWriter counts the bytes written to w (for the heartbeats, which
// read n from another goroutine) and enforces lim.
type countingWriter struct {
	w       io.Writer
	n       atomic.Int64
	lim     Limits
	total   int64 // the file's size, 0 when unknown
	checked int64 // n at the last free-space check
}

func (c *countingWriter) Write(p []byte) (int, error) {
	had := c.n.Load()
	if c.lim.MaxBytes > 0 && had+int64(len(p)) > c.lim.MaxBytes {
		return 0, TooLarge(c.lim.MaxBytes)
	}
	n, err := c.w.Write(p)
	now := c.n.Add(int64(n))
	if err != nil {
		return n, err
	}
	if now-c.checked >= SpaceCheckEvery {
		c.checked = now
		size := max(c.total, now)
		if err := c.lim.ensureSpace(max(c.total-now, 0) + size); err != nil {
			return n, err
		}
	}
	return n, nil
}
