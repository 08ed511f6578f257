package activities

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
)

// Formats maps each supported output container to ffmpeg's muxer name.
var Formats = map[string]string{
	"mp4":  "mp4",
	"mkv":  "matroska",
	"webm": "webm",
	"mov":  "mov",
}

// Mux copies the downloaded streams into one file of the requested
// container, never re-encoding: video from the first input, audio from the
// last, plus title and date metadata.
func (a *Activities) Mux(ctx context.Context, in MuxInput) (*MuxResult, error) {
	format := in.Format
	if format == "" {
		format = "mp4"
	}
	muxer, ok := Formats[format]
	if !ok {
		return nil, permanent(ErrTypeInvalidInput, "format %q is not supported", format)
	}
	if len(in.Inputs) == 0 || len(in.Inputs) > 2 {
		return nil, permanent(ErrTypeInvalidInput, "mux needs one or two input files, got %d", len(in.Inputs))
	}
	if alreadyMuxed(in, format) {
		st, err := os.Stat(in.Inputs[0])
		if err != nil {
			return nil, technical(err, "downloaded file: %v", err)
		}
		activity.GetLogger(ctx).Debug("Download already is the requested file; not rewriting it", "format", format)
		return &MuxResult{Path: in.Inputs[0], Bytes: st.Size(), Kept: true}, nil
	}
	out := filepath.Join(a.jobDir(in.JobID), "output."+format)
	args := []string{"-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-progress", "pipe:1", "-nostats"}
	for _, f := range in.Inputs {
		args = append(args, "-i", f)
	}
	if len(in.Inputs) == 2 {
		args = append(args, "-map", "0:v:0", "-map", "1:a:0")
	} else {
		// Optional maps: an audio-only or video-only source is fine.
		args = append(args, "-map", "0:v:0?", "-map", "0:a:0?")
	}
	args = append(args, "-c", "copy", "-map_metadata", "-1")
	for _, kv := range [][2]string{{"title", in.Title}, {"date", in.ReleaseDate}, {"comment", in.Description}} {
		if kv[1] != "" {
			args = append(args, "-metadata", kv[0]+"="+kv[1])
		}
	}
	args = append(args, "-f", muxer, out)

	var duration time.Duration
	if in.Media != nil && len(in.Inputs) == 1 {
		duration = time.Duration(in.Media.Duration * float64(time.Second))
	} else {
		duration = a.probeDuration(ctx, in.Inputs[0])
	}
	cmd := exec.CommandContext(ctx, a.Ffmpeg, args...)
	cmd.WaitDelay = 5 * time.Second
	var stderr tailBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, technical(err, "ffmpeg: %v", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, technical(err, "starting ffmpeg: %v", err)
	}
	// ffmpeg's -progress output says how far it is; heartbeat with it.
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "out_time_us="); ok {
			us, _ := strconv.ParseInt(v, 10, 64)
			p := Progress{Bytes: us}
			if duration > 0 {
				p.Total = duration.Microseconds()
				p.Percent = min(100, float64(us)/float64(p.Total)*100)
			}
			activity.RecordHeartbeat(ctx, p)
		}
	}
	if err := cmd.Wait(); err != nil {
		_ = os.Remove(out)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		msg := strings.TrimSpace(stderr.String())
		if codecMismatch(msg) {
			return nil, permanent(ErrTypeInvalidInput,
				"the source's codecs cannot be stored in %s without re-encoding; request another format (mkv holds any codec): %s", format, lastLine(msg))
		}
		return nil, technical(err, "ffmpeg failed: %s", lastLine(msg))
	}
	st, err := os.Stat(out)
	if err != nil {
		return nil, technical(err, "muxed file: %v", err)
	}
	return &MuxResult{Path: out, Bytes: st.Size()}, nil
}

// codecMismatch tells from ffmpeg's stderr that the streams cannot go into
// the container as they are: retrying would fail the same way.
func codecMismatch(stderr string) bool {
	for _, m := range []string{
		"codec not currently supported in container",
		"Could not find tag for codec",
		"are supported for WebM",
		"incorrect codec parameters",
	} {
		if strings.Contains(stderr, m) {
			return true
		}
	}
	return false
}

// probeDuration returns the media's duration, or 0 when ffprobe cannot tell.
func (a *Activities) probeDuration(ctx context.Context, file string) time.Duration {
	out, err := exec.CommandContext(ctx, a.Ffprobe, "-v", "error", "-show_entries", "format=duration",
		"-of", "default=noprint_wrappers=1:nokey=1", file).Output()
	if err != nil {
		return 0
	}
	secs, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		return 0
	}
	return time.Duration(secs * float64(time.Second))
}

// tailBuffer keeps the last 64 KiB written to it: enough to explain a
// failure without holding a chatty program's whole output.
type tailBuffer struct{ b []byte }

const tailSize = 64 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > tailSize {
		t.b = append(t.b[:0], t.b[len(t.b)-tailSize:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }

var _ io.Writer = (*tailBuffer)(nil)

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	if s == "" {
		return "no diagnostic output"
	}
	return s
}
