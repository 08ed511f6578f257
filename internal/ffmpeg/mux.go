package ffmpeg

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/riptide-dev/riptide/internal/childproc"
	"github.com/riptide-dev/riptide/internal/failure"
	"github.com/riptide-dev/riptide/internal/formats"
	"github.com/riptide-dev/riptide/internal/textcut"
	"github.com/riptide-dev/riptide/workflows"
)

// MuxSpec is what one mux writes.
type MuxSpec struct {
	// Inputs are one or two files: video from the first, audio from the
	// last.
	Inputs []string
	// ClipStart and ClipEnd cut every input alike (0: no cut).
	ClipStart, ClipEnd float64
	Format             formats.Format
	// AudioCodec is the last input's audio codec (ffprobe's name): what
	// the format holds is copied, anything else encoded; "" copies.
	AudioCodec string
	// Transcode re-encodes streams (nil: copy them, see audioArgs).
	Transcode *workflows.Transcode
	// Title, ReleaseDate and Description replace the inputs' metadata.
	Title, ReleaseDate, Description string
	Out                             string
}

// MuxArgs is the ffmpeg command line of s: streams are copied unless
// s.Transcode asks for a codec or the container cannot hold the source's
// audio (videoArgs, audioArgs); progress goes
// to stdout (-progress pipe:1). Each input may only be a media container of
// MediaFormats read from a file (fileInput): a playlist saved as media is
// refused, never followed to the files it names.
func MuxArgs(s MuxSpec) []string {
	args := []string{"-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-progress", "pipe:1", "-nostats"}
	for _, f := range s.Inputs {
		// Input options: each input is cut alike, and seeking before
		// reading skips what is not needed.
		if s.ClipStart > 0 {
			args = append(args, "-ss", Seconds(s.ClipStart))
		}
		if s.ClipEnd > 0 {
			args = append(args, "-t", Seconds(s.ClipEnd-s.ClipStart))
		}
		args = append(args, fileInput()...)
		args = append(args, "-i", f)
	}
	last := len(s.Inputs) - 1
	switch {
	case s.Format.Audio:
		args = append(args, "-map", fmt.Sprintf("%d:a:0", last))
		args = append(args, audioArgs(s)...)
	case len(s.Inputs) == 2:
		args = append(args, "-map", "0:v:0", "-map", "1:a:0")
		args = append(append(args, videoArgs(s)...), audioArgs(s)...)
	default:
		// Optional maps: an audio-only or video-only source is fine.
		args = append(args, "-map", "0:v:0?", "-map", "0:a:0?")
		args = append(append(args, videoArgs(s)...), audioArgs(s)...)
	}
	args = append(args, "-map_metadata", "-1")
	for _, kv := range [][2]string{{"title", s.Title}, {"date", s.ReleaseDate}, {"comment", s.Description}} {
		if kv[1] != "" {
			args = append(args, "-metadata", kv[0]+"="+kv[1])
		}
	}
	return append(args, "-f", s.Format.Muxer, s.Out)
}

// ExitError is an ffmpeg run that ended in failure, with the tail of its
// stderr.
type ExitError struct {
	Err    error
	Stderr string
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Run runs the ffmpeg at path with args, which ask for -progress on
// stdout, and passes each out_time_us it reports to progress. Failing to
// start is a technical error; a failed run is an *ExitError.
func Run(ctx context.Context, path string, args []string, progress func(outUS int64)) error {
	cmd := childproc.CommandContext(ctx, path, args...)
	cmd.WaitDelay = 5 * time.Second
	var stderr textcut.Tail
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return failure.Technical(err, "ffmpeg: %v", err)
	}
	if err := cmd.Start(); err != nil {
		if errors.Is(err, syscall.E2BIG) || errors.Is(err, syscall.EINVAL) {
			// The arguments cannot be passed (too long, or a NUL in the
			// metadata): the same arguments never will be.
			return failure.Permanent(workflows.ErrTypeInvalidInput, "the job's metadata cannot be passed to ffmpeg: %v", err)
		}
		return failure.Technical(err, "starting ffmpeg: %v", err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "out_time_us="); ok {
			us, _ := strconv.ParseInt(v, 10, 64)
			progress(us)
		}
	}
	if err := cmd.Wait(); err != nil {
		return &ExitError{Err: err, Stderr: stderr.String()}
	}
	return nil
}

// GrabFrame writes a JPEG of input's first video stream at the given
// second to out, returning ffmpeg's output.
func GrabFrame(ctx context.Context, path, input, out string, at float64) ([]byte, error) {
	args := append([]string{"-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-ss", Seconds(at)}, fileInput()...)
	args = append(args, "-i", input, "-map", "0:v:0", "-frames:v", "1", "-q:v", "3", out)
	return childproc.CommandContext(ctx, path, args...).CombinedOutput()
}

// CodecMismatch tells from ffmpeg's stderr that the streams cannot go into
// the container as they are: retrying would fail the same way.
func CodecMismatch(stderr string) bool {
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

// Seconds formats a time offset for ffmpeg, to the millisecond.
func Seconds(s float64) string { return strconv.FormatFloat(s, 'f', 3, 64) }
