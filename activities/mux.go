package activities

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/riptide-dev/riptide/internal/formats"
	"github.com/riptide-dev/riptide/workflows"
	"go.temporal.io/sdk/activity"
)

// Mux copies the downloaded streams into one file of the requested
// container, never re-encoding video: video from the first input, audio from
// the last, plus title and date metadata. An audio format keeps the audio
// alone, copied when the format holds its codec, else encoded. A clip is cut
// while copying, so video cuts fall on keyframes.
func (a *Activities) Mux(ctx context.Context, in workflows.MuxInput) (*workflows.MuxResult, error) {
	format := in.Format
	if format == "" {
		format = "mp4"
	}
	f, ok := formats.Lookup(format)
	if !ok {
		return nil, permanent(workflows.ErrTypeInvalidInput, "format %q is not supported", format)
	}
	if len(in.Inputs) == 0 || len(in.Inputs) > 2 {
		return nil, permanent(workflows.ErrTypeInvalidInput, "mux needs one or two input files, got %d", len(in.Inputs))
	}
	if in.ClipStart < 0 || (in.ClipEnd != 0 && in.ClipEnd <= in.ClipStart) {
		return nil, permanent(workflows.ErrTypeInvalidInput, "bad clip %g–%g s", in.ClipStart, in.ClipEnd)
	}
	// In use first: the sweep then leaves the files alone.
	defer a.Holds.use(jobKey(in.JobID))()
	if err := requireFiles(in.Inputs...); err != nil {
		return nil, err
	}
	if alreadyMuxed(in, format) {
		st, err := os.Stat(in.Inputs[0])
		if err != nil {
			return nil, technical(err, "downloaded file: %v", err)
		}
		activity.GetLogger(ctx).Debug("Download already is the requested file; not rewriting it", "format", format)
		res := &workflows.MuxResult{Path: in.Inputs[0], Bytes: st.Size(), Kept: true, Thumbnail: in.ThumbnailPath}
		if in.Thumbnail && res.Thumbnail == "" {
			res.Thumbnail = a.grabFrame(ctx, in, time.Duration(in.Media.Duration*float64(time.Second)))
		}
		return res, nil
	}
	out := filepath.Join(a.jobDir(in.JobID), "output."+format)
	args := []string{"-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-progress", "pipe:1", "-nostats"}
	for _, f := range in.Inputs {
		// Input options: each input is cut alike, and seeking before
		// reading skips what is not needed.
		if in.ClipStart > 0 {
			args = append(args, "-ss", seconds(in.ClipStart))
		}
		if in.ClipEnd > 0 {
			args = append(args, "-t", seconds(in.ClipEnd-in.ClipStart))
		}
		args = append(args, "-i", f)
	}
	last := len(in.Inputs) - 1
	switch {
	case f.Audio:
		codec, err := a.audioCodec(ctx, in.Inputs[last])
		if err != nil {
			return nil, err
		}
		args = append(args, "-map", fmt.Sprintf("%d:a:0", last))
		if f.CopiesCodec(codec) {
			args = append(args, "-c", "copy")
		} else {
			args = append(args, f.Encoder...)
		}
	case len(in.Inputs) == 2:
		args = append(args, "-map", "0:v:0", "-map", "1:a:0", "-c", "copy")
	default:
		// Optional maps: an audio-only or video-only source is fine.
		args = append(args, "-map", "0:v:0?", "-map", "0:a:0?", "-c", "copy")
	}
	args = append(args, "-map_metadata", "-1")
	for _, kv := range [][2]string{{"title", in.Title}, {"date", in.ReleaseDate}, {"comment", in.Description}} {
		if kv[1] != "" {
			args = append(args, "-metadata", kv[0]+"="+kv[1])
		}
	}
	args = append(args, "-f", f.Muxer, out)

	var duration time.Duration
	if in.Media != nil && len(in.Inputs) == 1 {
		duration = time.Duration(in.Media.Duration * float64(time.Second))
	} else {
		duration = a.probeDuration(ctx, in.Inputs[0])
	}
	if duration > 0 && in.ClipStart >= duration.Seconds() {
		// ffmpeg would write an empty file and call it a success.
		return nil, permanent(workflows.ErrTypeInvalidInput, "clip_start (%s s) is past the end of the media (%s s)",
			seconds(in.ClipStart), seconds(duration.Seconds()))
	}
	// Progress and the thumbnail's moment are relative to the clip.
	if duration > 0 {
		duration -= time.Duration(in.ClipStart * float64(time.Second))
	}
	if in.ClipEnd > 0 {
		clip := time.Duration((in.ClipEnd - in.ClipStart) * float64(time.Second))
		duration = min(cmp.Or(duration, clip), clip)
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
			p := workflows.Progress{Bytes: us}
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
			return nil, permanent(workflows.ErrTypeInvalidInput,
				"the source's codecs cannot be stored in %s without re-encoding; request another format (mkv holds any codec): %s", format, lastLine(msg))
		}
		return nil, technical(err, "ffmpeg failed: %s", lastLine(msg))
	}
	st, err := os.Stat(out)
	if err != nil {
		return nil, technical(err, "muxed file: %v", err)
	}
	res := &workflows.MuxResult{Path: out, Bytes: st.Size(), Thumbnail: in.ThumbnailPath}
	if in.Thumbnail && res.Thumbnail == "" {
		res.Thumbnail = a.grabFrame(ctx, in, duration)
	}
	return res, nil
}

// seconds formats a time offset for ffmpeg, to the millisecond.
func seconds(s float64) string { return strconv.FormatFloat(s, 'f', 3, 64) }

// audioCodec names the codec of file's first audio stream.
func (a *Activities) audioCodec(ctx context.Context, file string) (string, error) {
	out, err := exec.CommandContext(ctx, a.Ffprobe, "-v", "error", "-select_streams", "a:0",
		"-show_entries", "stream=codec_name", "-of", "default=noprint_wrappers=1:nokey=1", file).Output()
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", technical(err, "ffprobe %s: %v", filepath.Base(file), err)
	}
	codec := strings.TrimSpace(string(out))
	if codec == "" {
		return "", permanent(workflows.ErrTypeInvalidInput, "the source has no audio to keep in an audio format")
	}
	return codec, nil
}

// grabFrame writes a JPEG of the first input's video, a tenth into the
// (clipped) media, for sources without a thumbnail of their own. It is best
// effort: media without video get no thumbnail, and the job goes on.
func (a *Activities) grabFrame(ctx context.Context, in workflows.MuxInput, duration time.Duration) string {
	thumb := filepath.Join(a.jobDir(in.JobID), "frame.jpg")
	at := in.ClipStart + duration.Seconds()/10
	out, err := exec.CommandContext(ctx, a.Ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
		"-ss", seconds(at), "-i", in.Inputs[0], "-map", "0:v:0", "-frames:v", "1", "-q:v", "3", thumb).CombinedOutput()
	if st, serr := os.Stat(thumb); err != nil || serr != nil || st.Size() == 0 {
		activity.GetLogger(ctx).Warn("No thumbnail: the media has no frame to grab", "error", err, "ffmpeg", lastLine(string(out)))
		_ = os.Remove(thumb)
		return ""
	}
	return thumb
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
