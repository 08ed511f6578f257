package activities

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riptide-dev/riptide/internal/formats"
	"github.com/riptide-dev/riptide/workflows"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// ytdlpWaitDelay bounds how long Wait waits for yt-dlp's output pipes after
// the process is gone (a killed yt-dlp can leave children holding them).
const ytdlpWaitDelay = 5 * time.Second

// ytdlpInfo is the part of yt-dlp's info JSON riptide uses.
type ytdlpInfo struct {
	Type        string `json:"_type"`
	Title       string `json:"title"`
	Description string `json:"description"`
	// UploadDate is YYYYMMDD; the timestamps are Unix seconds, 0 if unknown.
	UploadDate       string  `json:"upload_date"`
	ReleaseTimestamp float64 `json:"release_timestamp"`
	Timestamp        float64 `json:"timestamp"`
	Extractor        string  `json:"extractor"`
	ExtractorKey     string  `json:"extractor_key"`
	IsLive           bool    `json:"is_live"`
	// Duration is in seconds, 0 when unknown.
	Duration   float64           `json:"duration"`
	Thumbnail  string            `json:"thumbnail"`
	Thumbnails []json.RawMessage `json:"thumbnails"`
	// The selected format, with ID "video+audio" when there are two;
	// RequestedFormats then lists them, video first.
	ytdlpFormat
	RequestedFormats []ytdlpFormat              `json:"requested_formats"`
	Subtitles        map[string]json.RawMessage `json:"subtitles"`
}

// ytdlpFormat is one format of the info JSON; sizes are 0 when unknown.
type ytdlpFormat struct {
	FormatID       string  `json:"format_id"`
	Filesize       float64 `json:"filesize"`
	FilesizeApprox float64 `json:"filesize_approx"`
}

// downloadYtdlp downloads through yt-dlp in steps so that yt-dlp never merges
// or post-processes with ffmpeg; riptide's Mux does that. Step one extracts
// the info JSON and selects the formats, step two downloads each selected
// format to its own file, and step three fetches the subtitles.
func (a *Activities) downloadYtdlp(ctx context.Context, dir string, in workflows.DownloadInput) (*workflows.DownloadResult, error) {
	var raw bytes.Buffer
	// --flat-playlist keeps a playlist URL from resolving every entry just
	// to be refused below.
	err := a.runYtdlp(ctx, &raw, func() workflows.Progress { return workflows.Progress{} },
		"--ignore-config", "--no-playlist", "--flat-playlist", "-J", "-f", formatSelector(in), "--", in.URL)
	if err != nil {
		return nil, err
	}
	var info ytdlpInfo
	if err := json.Unmarshal(raw.Bytes(), &info); err != nil {
		return nil, technical(err, "parsing yt-dlp's info JSON: %v", err)
	}
	switch {
	case info.Type == "playlist" || info.Type == "multi_video":
		return nil, permanent(workflows.ErrTypeUnsupported, "%s is a playlist, not a single video", in.URL)
	case info.IsLive:
		// A live stream never ends, so the download would only time out.
		return nil, permanent(workflows.ErrTypeUnsupported, "%s is a live stream", in.URL)
	}
	if err := checkDuration(info.Duration, in.MaxDuration); err != nil {
		return nil, err
	}
	formats, sizes := info.formats()
	if len(formats) == 0 {
		return nil, permanent(workflows.ErrTypeUnsupported, "yt-dlp selected no format at %s", in.URL)
	}
	infoPath := filepath.Join(dir, "info.json")
	if err := os.WriteFile(infoPath, raw.Bytes(), 0o644); err != nil {
		return nil, technical(err, "writing info JSON: %v", err)
	}

	files, err := a.ytdlpFetch(ctx, dir, infoPath, formats, sizes)
	if err != nil {
		return nil, err
	}
	res := &workflows.DownloadResult{
		Files:       files,
		Title:       info.title(),
		Description: info.Description,
		ReleaseDate: info.releaseDate(),
		Source:      cmp.Or(info.Extractor, info.ExtractorKey),
	}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return nil, technical(err, "downloaded file: %v", err)
		}
		res.Bytes += st.Size()
	}
	done := newProgress(res.Bytes, res.Bytes)
	activity.RecordHeartbeat(ctx, done)
	if info.Duration <= 0 {
		// The source did not say; the file does.
		if err := checkDuration(a.probeDuration(ctx, files[0]).Seconds(), in.MaxDuration); err != nil {
			return nil, err
		}
	}
	if in.Thumbnail && (info.Thumbnail != "" || len(info.Thumbnails) > 0) {
		res.Thumbnail = a.ytdlpThumbnail(ctx, dir, infoPath, done)
	}

	if in.Subtitles && len(info.Subtitles) > 0 {
		if res.Subtitles, err = a.ytdlpSubtitles(ctx, dir, infoPath, done); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// formatSelector picks what yt-dlp downloads: the best video and audio
// (apart or together), no taller than MaxHeight, or the best audio alone.
// Renditions of unknown height count as fitting (<=?), and when every
// rendition is taller than MaxHeight the smallest one is taken rather than
// failing the job.
func formatSelector(in workflows.DownloadInput) string {
	switch {
	case formats.IsAudio(in.Format):
		// A source without an audio-only format: its best combined one,
		// whose audio Mux keeps.
		return "ba/b"
	case in.MaxHeight > 0:
		h := fmt.Sprintf("[height<=?%d]", in.MaxHeight)
		return "bv*" + h + "+ba/b" + h + "/wv*+ba/w"
	}
	return "bv*+ba/b"
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

// ytdlpThumbnail fetches the source's thumbnail as <dir>/thumb.<ext>. Like
// subtitles it is best effort: a thumbnail yt-dlp cannot get leaves Mux to
// grab a frame instead.
func (a *Activities) ytdlpThumbnail(ctx context.Context, dir, infoPath string, done workflows.Progress) string {
	err := a.runYtdlp(ctx, io.Discard, func() workflows.Progress { return done },
		"--ignore-config", "--load-info-json", infoPath, "--skip-download",
		"--write-thumbnail", "-P", dir, "-o", "thumb.%(ext)s")
	if err != nil {
		activity.GetLogger(ctx).Warn("Source thumbnail not fetched", "error", err)
		return ""
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "thumb.*"))
	for _, p := range paths {
		switch strings.ToLower(filepath.Ext(p)) {
		case ".jpg", ".jpeg", ".png", ".webp", ".gif":
			return p
		}
	}
	return ""
}

// formats returns the IDs of the formats to download, video first, with
// their expected sizes (0 when unknown).
func (i *ytdlpInfo) formats() (ids []string, sizes []int64) {
	fs := i.RequestedFormats
	if len(fs) == 0 && i.FormatID != "" {
		fs = []ytdlpFormat{i.ytdlpFormat}
	}
	for _, f := range fs {
		ids = append(ids, f.FormatID)
		sizes = append(sizes, byteCount(cmp.Or(f.Filesize, f.FilesizeApprox)))
	}
	return ids, sizes
}

func (i *ytdlpInfo) title() string {
	if i.Extractor == "html5" {
		// The HTML5 embed extractor numbers a page's videos as
		// "<page title> (n)"; riptide only ever takes a page with one.
		return strings.TrimSuffix(i.Title, " (1)")
	}
	return i.Title
}

func (i *ytdlpInfo) releaseDate() string {
	for _, ts := range []float64{i.ReleaseTimestamp, i.Timestamp} {
		if ts > 0 {
			return time.Unix(int64(ts), 0).UTC().Format(time.RFC3339)
		}
	}
	if t, err := time.Parse("20060102", i.UploadDate); err == nil {
		return t.Format(time.RFC3339)
	}
	return ""
}

// ytdlpFetch downloads each format to its own file and returns their paths
// in the order of formats. Partial files keep yt-dlp's .part suffix: with
// --no-part a retry would take a truncated file for a finished one ("has
// already been downloaded"), while .part files are resumed.
func (a *Activities) ytdlpFetch(ctx context.Context, dir, infoPath string, formats []string, sizes []int64) ([]string, error) {
	t := &ytdlpTracker{expected: sizes, files: map[string]string{}}
	err := a.runYtdlp(ctx, &lineWriter{fn: t.line}, t.progress,
		"--ignore-config", "--load-info-json", infoPath,
		"-f", strings.Join(formats, ","),
		"-P", dir, "-o", "src.%(format_id)s.%(ext)s",
		"--fixup", "never", // fixups remux with ffmpeg
		"--concurrent-fragments", strconv.Itoa(max(a.YtdlpFragments, 1)),
		"--newline", "--progress", "--progress-template", "download:PROG %(progress)j",
		"--print", "after_move:FILE %(format_id)s %(filepath)s")
	if err != nil {
		return nil, err
	}
	files := make([]string, len(formats))
	for i, id := range formats {
		if files[i] = t.files[id]; files[i] == "" {
			return nil, technical(nil, "yt-dlp reported no file for format %s", id)
		}
	}
	return files, nil
}

// ytdlpSubtitles fetches the subtitles as <dir>/sub.<lang>.<ext>. Doing it
// apart from the media keeps a subtitle yt-dlp cannot get (say, a 404) from
// failing the job: permanent failures only cost the subtitles. It keeps
// heartbeating done, the finished media's progress.
func (a *Activities) ytdlpSubtitles(ctx context.Context, dir, infoPath string, done workflows.Progress) ([]workflows.Subtitle, error) {
	err := a.runYtdlp(ctx, io.Discard, func() workflows.Progress { return done },
		"--ignore-config", "--load-info-json", infoPath, "--skip-download",
		"--write-subs", "--sub-langs", "all,-live_chat", "--sub-format", "vtt/best",
		"-P", dir, "-o", "sub.%(ext)s")
	if appErr, ok := errors.AsType[*temporal.ApplicationError](err); ok && appErr.NonRetryable() {
		activity.GetLogger(ctx).Warn("Skipping subtitles", "error", err)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	paths, err := filepath.Glob(filepath.Join(dir, "sub.*"))
	if err != nil {
		return nil, technical(err, "listing subtitles: %v", err)
	}
	var subs []workflows.Subtitle
	for _, p := range paths {
		ext := filepath.Ext(p)
		lang := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "sub."), ext)
		if ext == ".part" || ext == ".ytdl" || lang == "" {
			continue
		}
		subs = append(subs, workflows.Subtitle{Path: p, Lang: lang, Ext: ext[1:]})
	}
	return subs, nil
}

// runYtdlp runs yt-dlp, heartbeating progress() until it exits, and turns a
// failure into a typed error.
func (a *Activities) runYtdlp(ctx context.Context, stdout io.Writer, progress func() workflows.Progress, args ...string) error {
	var tail tailBuffer
	if a.YtdlpProxy != "" {
		// Options before "--"; the URL, when there is one, comes last.
		args = append([]string{"--proxy", a.YtdlpProxy}, args...)
	}
	cmd := exec.CommandContext(ctx, a.Ytdlp, args...)
	cmd.Stdout = stdout
	cmd.Stderr = &tail
	if a.Stderr != nil {
		cmd.Stderr = io.MultiWriter(&tail, a.Stderr)
	}
	cmd.WaitDelay = ytdlpWaitDelay
	stop := heartbeatEvery(ctx, heartbeatInterval, progress)
	err := cmd.Run()
	stop()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if _, ok := errors.AsType[*exec.ExitError](err); !ok {
		return technical(err, "running yt-dlp: %v", err)
	}
	return classifyYtdlpError(tail.String(), err)
}

// ytdlpTracker follows yt-dlp's stdout: progress lines of the formats, which
// it downloads one after the other, and the path of each finished file.
type ytdlpTracker struct {
	mu       sync.Mutex
	expected []int64 // per format, 0 when unknown
	finished int     // formats done
	done     int64   // their bytes
	cur      int64   // the current format's bytes
	curTotal int64   // and its expected size, 0 when unknown
	files    map[string]string
}

// ytdlpProgressLine is yt-dlp's progress hook dict; sizes can be floats.
type ytdlpProgressLine struct {
	Status             string  `json:"status"`
	DownloadedBytes    float64 `json:"downloaded_bytes"`
	TotalBytes         float64 `json:"total_bytes"`
	TotalBytesEstimate float64 `json:"total_bytes_estimate"`
}

func (t *ytdlpTracker) line(l string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if rest, ok := strings.CutPrefix(l, "FILE "); ok {
		if id, path, ok := strings.Cut(rest, " "); ok {
			t.files[id] = path
		}
		return
	}
	rest, ok := strings.CutPrefix(l, "PROG ")
	if !ok {
		return
	}
	var p ytdlpProgressLine
	if json.Unmarshal([]byte(rest), &p) != nil {
		return
	}
	switch p.Status {
	case "downloading":
		t.cur = byteCount(p.DownloadedBytes)
		t.curTotal = byteCount(cmp.Or(p.TotalBytes, p.TotalBytesEstimate))
	case "finished":
		// A file found complete from an earlier attempt reports only its
		// total.
		t.done += byteCount(max(p.DownloadedBytes, p.TotalBytes))
		t.finished++
		t.cur, t.curTotal = 0, 0
	}
}

// maxByteCount bounds sizes read from yt-dlp (1 PiB): larger, negative or
// non-numeric values are nonsense, and summing them must not overflow.
const maxByteCount = 1 << 50

// byteCount converts a size from yt-dlp's JSON, 0 when it is not sane.
func byteCount(f float64) int64 {
	if !(f >= 0 && f <= maxByteCount) { // also false for NaN
		return 0
	}
	return int64(f)
}

// progress sums the finished formats and the current one. The total is
// only known once every remaining format's size is.
func (t *ytdlpTracker) progress() workflows.Progress {
	t.mu.Lock()
	defer t.mu.Unlock()
	n, total := t.done+t.cur, t.done
	for i := t.finished; i < len(t.expected); i++ {
		size := t.expected[i]
		if i == t.finished && t.curTotal > 0 {
			size = t.curTotal
		}
		if size <= 0 {
			return workflows.Progress{Bytes: n}
		}
		total += size
	}
	return newProgress(n, total)
}

// lineWriter calls fn with each complete line written to it.
type lineWriter struct {
	fn  func(string)
	buf []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.fn(strings.TrimSuffix(string(w.buf[:i]), "\r"))
		w.buf = w.buf[i+1:]
	}
}
