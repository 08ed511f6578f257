package ytdlp

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/riptide-dev/riptide/internal/childproc"
	"github.com/riptide-dev/riptide/internal/failure"
	"github.com/riptide-dev/riptide/internal/heartbeat"
	"github.com/riptide-dev/riptide/workflows"
)

// Fetch downloads each format to its own file and returns their paths
// in the order of formats. Partial files keep yt-dlp's .part suffix: with
// --no-part a retry would take a truncated file for a finished one ("has
// already been downloaded"), while .part files are resumed.
func (r Runner) Fetch(ctx context.Context, dir, infoPath string, formats []string, sizes []int64) ([]string, error) {
	ctx = childproc.WithDir(ctx, dir) // yt-dlp's HOME and TMPDIR
	t := &tracker{expected: sizes, files: map[string]string{}}
	err := r.Run(ctx, &lineWriter{fn: t.line}, t.progress,
		"--ignore-config", "--load-info-json", infoPath,
		"-f", strings.Join(formats, ","),
		"-P", dir, "-o", "src.%(format_id)s.%(ext)s",
		"--fixup", "never", // fixups remux with ffmpeg
		// yt-dlp's own downloaders only: handed a stream, ffmpeg as a
		// downloader would open whatever a playlist names, outside the
		// whitelists riptide gives every ffmpeg it runs.
		"--downloader", "native",
		"--concurrent-fragments", strconv.Itoa(max(r.Fragments, 1)),
		"--newline", "--progress", "--progress-template", "download:PROG %(progress)j",
		"--print", "after_move:FILE %(format_id)s %(filepath)s",
		"--max-filesize", strconv.FormatInt(cmp.Or(max(r.MaxFilesize, 0), maxByteCount), 10))
	if err != nil {
		return nil, err
	}
	files := make([]string, len(formats))
	for i, id := range formats {
		if files[i] = t.files[id]; files[i] != "" {
			continue
		}
		if r.MaxFilesize > 0 {
			// yt-dlp skips a file whose Content-Length is over
			// --max-filesize and exits 0 without a word (--print makes it
			// quiet): that is what a successful run with no file means.
			return nil, failure.Permanent(workflows.ErrTypeInvalidInput,
				"the source is larger than the %d MiB this worker allows", r.MaxFilesize>>20)
		}
		return nil, failure.Technical(nil, "yt-dlp reported no file for format %s", id)
	}
	return files, nil
}

// Thumbnail fetches the source's thumbnail as <dir>/thumb.<ext>, and
// returns its path, or "" when yt-dlp wrote no image. It keeps heartbeating
// done, the finished media's progress.
func (r Runner) Thumbnail(ctx context.Context, dir, infoPath string, done workflows.Progress) (string, error) {
	ctx = childproc.WithDir(ctx, dir) // yt-dlp's HOME and TMPDIR
	err := r.Run(ctx, io.Discard, func() workflows.Progress { return done },
		"--ignore-config", "--load-info-json", infoPath, "--skip-download",
		"--write-thumbnail", "-P", dir, "-o", "thumb.%(ext)s")
	if err != nil {
		return "", err
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "thumb.*"))
	for _, p := range paths {
		switch strings.ToLower(filepath.Ext(p)) {
		case ".jpg", ".jpeg", ".png", ".webp", ".gif":
			return p, nil
		}
	}
	return "", nil
}

// Subtitles fetches the subtitles as <dir>/sub.<lang>.<ext>. Doing it apart
// from the media lets a caller keep a subtitle yt-dlp cannot get (say, a
// 404) from failing the job. It keeps heartbeating done, the finished
// media's progress.
//
// A subtitle's language and extension come from the source and end up in a
// file name yt-dlp writes and in an S3 key: only the languages that pass
// ValidSubtitle with at least one format of SubtitleExts are asked for, by
// name, in those formats; the others are dropped with a log line.
func (r Runner) Subtitles(ctx context.Context, dir, infoPath string, done workflows.Progress) ([]workflows.Subtitle, error) {
	langs, err := safeSubtitleLangs(infoPath)
	if err != nil || len(langs) == 0 {
		return nil, err
	}
	ctx = childproc.WithDir(ctx, dir) // yt-dlp's HOME and TMPDIR
	err = r.Run(ctx, io.Discard, func() workflows.Progress { return done },
		"--ignore-config", "--load-info-json", infoPath, "--skip-download",
		"--write-subs", "--sub-langs", strings.Join(langs, ","), "--sub-format", subtitleFormats,
		"-P", dir, "-o", "sub.%(ext)s")
	if err != nil {
		return nil, err
	}
	paths, err := filepath.Glob(filepath.Join(dir, "sub.*"))
	if err != nil {
		return nil, failure.Technical(err, "listing subtitles: %v", err)
	}
	var subs []workflows.Subtitle
	for _, p := range paths {
		ext := filepath.Ext(p)
		lang := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "sub."), ext)
		if ext == ".part" || ext == ".ytdl" || lang == "" {
			continue
		}
		if !ValidSubtitle(lang, ext[1:]) {
			slog.Warn("Dropping a subtitle with an unsafe language or extension", "lang", lang, "ext", ext)
			continue
		}
		subs = append(subs, workflows.Subtitle{Path: p, Lang: lang, Ext: ext[1:]})
	}
	return subs, nil
}

// SubtitleExts are the subtitle formats riptide keeps.
var SubtitleExts = []string{"vtt", "srt", "ass", "ttml"}

// subtitleFormats is yt-dlp's --sub-format for SubtitleExts, in order of
// preference.
var subtitleFormats = strings.Join(SubtitleExts, "/")

// subtitleLang is what a language may be: a BCP 47 tag's alphabet, short.
var subtitleLang = regexp.MustCompile(`^[A-Za-z0-9-]{1,35}$`)

// ValidSubtitle tells whether a subtitle's language and extension are safe
// in a file name and an object key: the language matches
// ^[A-Za-z0-9-]{1,35}$, the extension is one of SubtitleExts.
func ValidSubtitle(lang, ext string) bool {
	return subtitleLang.MatchString(lang) && slices.Contains(SubtitleExts, ext)
}

// subtitleFormat is one format of a subtitle in the info JSON.
type subtitleFormat struct {
	Ext string `json:"ext"`
}

// safeSubtitleLangs lists the languages of the info JSON's subtitles that
// are safe to fetch (ValidSubtitle with one of their formats), sorted; it
// logs the ones it drops. The languages are plain names, which yt-dlp's
// --sub-langs (regular expressions) matches as themselves.
func safeSubtitleLangs(infoPath string) ([]string, error) {
	raw, err := os.ReadFile(infoPath)
	if err != nil {
		return nil, failure.Technical(err, "reading the info JSON: %v", err)
	}
	var info struct {
		Subtitles map[string][]subtitleFormat `json:"subtitles"`
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, failure.Technical(err, "parsing yt-dlp's info JSON: %v", err)
	}
	var langs []string
	for lang, fmts := range info.Subtitles {
		ok := slices.ContainsFunc(fmts, func(f subtitleFormat) bool { return ValidSubtitle(lang, f.Ext) })
		if !ok {
			exts := make([]string, len(fmts))
			for i, f := range fmts {
				exts[i] = f.Ext
			}
			slog.Warn("Dropping a subtitle with an unsafe language or no safe format", "lang", lang, "exts", exts)
			continue
		}
		langs = append(langs, lang)
	}
	slices.Sort(langs)
	return langs, nil
}

// tracker follows yt-dlp's stdout: progress lines of the formats, which
// it downloads one after the other, and the path of each finished file.
type tracker struct {
	mu       sync.Mutex
	expected []int64 // per format, 0 when unknown
	finished int     // formats done
	done     int64   // their bytes
	cur      int64   // the current format's bytes
	curTotal int64   // and its expected size, 0 when unknown
	files    map[string]string
}

// progressLine is yt-dlp's progress hook dict; sizes can be floats.
type progressLine struct {
	Status             string  `json:"status"`
	DownloadedBytes    float64 `json:"downloaded_bytes"`
	TotalBytes         float64 `json:"total_bytes"`
	TotalBytesEstimate float64 `json:"total_bytes_estimate"`
}

func (t *tracker) line(l string) {
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
	var p progressLine
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
func (t *tracker) progress() workflows.Progress {
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
	return heartbeat.Progress(n, total)
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
