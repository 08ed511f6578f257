package activities

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/workflows"
)

// stallTimeout ends a transfer that received nothing for this long: the
// HTTP client has no timeout of its own, and a fresh attempt resumes where
// this one stopped. A var so tests can shorten it.
var stallTimeout = time.Minute

// probeTimeout bounds the best-effort ffprobe of a downloaded file.
const probeTimeout = 30 * time.Second

var errStalled = errors.New("transfer stalled")

// mediaTypeExts names the files of common media types; mime's own table
// varies by system and lists several extensions for some of them.
var mediaTypeExts = map[string]string{
	"video/mp4":        "mp4",
	"video/x-m4v":      "m4v",
	"video/x-matroska": "mkv",
	"video/webm":       "webm",
	"video/quicktime":  "mov",
	"video/mp2t":       "ts",
	"audio/mp4":        "m4a",
	"audio/x-m4a":      "m4a",
	"audio/mpeg":       "mp3",
	"audio/ogg":        "ogg",
	"audio/opus":       "opus",
	"audio/webm":       "webm",
	"audio/wav":        "wav",
	"audio/x-wav":      "wav",
	"audio/wave":       "wav",
	"audio/flac":       "flac",
	"audio/x-flac":     "flac",
	"audio/aac":        "aac",
}

// downloadHTTP fetches a media file to <dir>/source.<ext>, resuming the
// partial file of a previous attempt when the server supports ranges.
func (a *Activities) downloadHTTP(ctx context.Context, dir string, u *url.URL) (*workflows.DownloadResult, error) {
	started := time.Now()
	partial, offset, err := resumePoint(ctx, dir)
	if err != nil {
		return nil, technical(err, "preparing resume: %v", err)
	}

	// Canceled with errStalled by the heartbeat loop when data stops coming.
	reqCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	var resp *http.Response
	var total int64
	for {
		resp, err = a.get(reqCtx, u, offset)
		if err != nil {
			return nil, err
		}
		var restart bool
		offset, total, restart, err = rangeOutcome(resp, offset)
		if err != nil {
			resp.Body.Close()
			return nil, technical(err, "fetching %s: %v", u, err)
		}
		if !restart {
			break
		}
		// The server cannot continue from offset after all: start over.
		resp.Body.Close()
		offset = 0
	}
	defer resp.Body.Close()
	// The download and then its muxed copy both land in the job directory.
	if err := a.ensureDiskSpace(dir, max(total-offset, 0)+total); err != nil {
		return nil, err
	}

	dst := partial
	if offset == 0 {
		dst = filepath.Join(dir, "source."+fileExt(u, resp.Header.Get("Content-Type")))
		if partial != "" && partial != dst {
			if err := os.Remove(partial); err != nil {
				return nil, technical(err, "removing stale partial file: %v", err)
			}
		}
	}

	n := offset
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable { // else already complete
		n, err = copyWithHeartbeats(reqCtx, cancel, resp.Body, dst, offset, total)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if errors.Is(context.Cause(reqCtx), errStalled) {
				return nil, technical(errStalled, "downloading %s: no data for %s", u, stallTimeout)
			}
			return nil, technical(err, "downloading %s: %v", u, err)
		}
		if total > 0 && n != total {
			return nil, technical(io.ErrUnexpectedEOF, "downloading %s: got %d of %d bytes", u, n, total)
		}
	}
	finalHeartbeat(ctx, started, newProgress(n, n))

	res := &workflows.DownloadResult{Files: []string{dst}, Bytes: n, Source: "http"}
	if res.Media = a.probeMedia(ctx, dst); res.Media != nil {
		res.Title, res.Description, res.ReleaseDate = res.Media.Title, res.Media.Description, res.Media.ReleaseDate
	}
	return res, nil
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
func (a *Activities) get(ctx context.Context, u *url.URL, offset int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, permanent(workflows.ErrTypeInvalidInput, "bad URL %s: %v", u, err)
	}
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	resp, err := a.HTTP.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if netguard.IsBlocked(err) {
			return nil, permanent(workflows.ErrTypeBlockedAddress, "fetching %s: %v", u, err)
		}
		return nil, technical(err, "fetching %s: %v", u, err)
	}
	code := resp.StatusCode
	if code/100 == 2 || (code == http.StatusRequestedRangeNotSatisfiable && offset > 0) {
		return resp, nil
	}
	resp.Body.Close()
	switch code {
	case http.StatusNotFound, http.StatusGone:
		return nil, permanent(workflows.ErrTypeNotFound, "HTTP %s fetching %s", resp.Status, u)
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusUnavailableForLegalReasons:
		return nil, permanent(workflows.ErrTypeContentUnavailable, "HTTP %s fetching %s", resp.Status, u)
	}
	// 429, 5xx and anything unexpected: worth another attempt.
	return nil, technical(nil, "HTTP %s fetching %s", resp.Status, u)
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

// copyWithHeartbeats writes body to dst from offset on (truncating when
// offset is 0), heartbeating progress every heartbeatInterval. It cancels
// reqCtx with errStalled when no byte arrives for stallTimeout.
func copyWithHeartbeats(reqCtx context.Context, cancel context.CancelCauseFunc, body io.Reader, dst string, offset, total int64) (int64, error) {
	flags := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	if offset == 0 {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(dst, flags, 0o644)
	if err != nil {
		return offset, err
	}
	cw := &countingWriter{w: f}
	cw.n.Store(offset)

	last, lastMoved := offset, time.Now()
	stop := heartbeatEvery(reqCtx, heartbeatInterval, func() workflows.Progress {
		n := cw.n.Load()
		if n != last {
			last, lastMoved = n, time.Now()
		} else if time.Since(lastMoved) >= stallTimeout {
			cancel(errStalled)
		}
		return newProgress(n, total)
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

type countingWriter struct {
	w io.Writer
	n atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

func newProgress(n, total int64) workflows.Progress {
	p := workflows.Progress{Bytes: n, Total: total}
	if total > 0 {
		p.Percent = min(100, float64(n)*100/float64(total))
	}
	return p
}

// fileExt picks the extension of the downloaded file: the URL's when it is a
// known media one (a page like watch.php can serve video/mp4), else one for
// the Content-Type, else "bin".
func fileExt(u *url.URL, contentType string) string {
	if ext := strings.ToLower(path.Ext(u.Path)); directMediaExts[ext] {
		return ext[1:]
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "bin"
	}
	if ext, ok := mediaTypeExts[mt]; ok {
		return ext
	}
	if exts, _ := mime.ExtensionsByType(mt); len(exts) > 0 {
		return exts[0][1:]
	}
	return "bin"
}

// normalizeDate turns a date tag into RFC 3339 in UTC, midnight when it
// holds only a day. A bare year, or anything unparsable, gives "": a day is
// not made up.
func normalizeDate(s string) string {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", time.DateOnly, "20060102"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format(time.RFC3339)
		}
	}
	return ""
}
