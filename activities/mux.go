package activities

import (
	"cmp"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/riptide-dev/riptide/internal/ffmpeg"
	"github.com/riptide-dev/riptide/internal/formats"
	"github.com/riptide-dev/riptide/internal/metaclean"
	"github.com/riptide-dev/riptide/internal/textcut"
	"github.com/riptide-dev/riptide/workflows"
	"go.temporal.io/sdk/activity"
)

// Mux copies the downloaded streams into one file of the requested
// container: video from the first input, audio from the last, plus title and
// date metadata. in.Transcode re-encodes the video or the audio; audio the
// container cannot hold is encoded either way (formats.Format.Fallback). An
// audio format keeps the audio alone. A clip is cut while copying, so video
// cuts fall on keyframes (exact when the video is re-encoded).
func (a *Activities) Mux(ctx context.Context, in workflows.MuxInput) (*workflows.MuxResult, error) {
	format := in.Format
	if format == "" {
		format = workflows.DefaultFormat
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
		res := &workflows.MuxResult{Path: in.Inputs[0], Bytes: st.Size(), Kept: true, Thumbnail: in.ThumbnailPath,
			Streams: streamsOf(in.Media)}
		if in.Thumbnail && res.Thumbnail == "" {
			res.Thumbnail = a.grabFrame(ctx, in, time.Duration(in.Media.Duration*float64(time.Second)))
		}
		return res, nil
	}
	out := filepath.Join(a.jobDir(in.JobID), "output."+format)
	// Download cleaned the metadata already; the workflow may have merged
	// in a batch's, and a history from before the cleaning may hold raw
	// values. Cleaning is idempotent.
	md := metaclean.Clean(metaclean.Metadata{Title: in.Title, Description: in.Description, ReleaseDate: in.ReleaseDate})
	spec := ffmpeg.MuxSpec{Inputs: in.Inputs, ClipStart: in.ClipStart, ClipEnd: in.ClipEnd, Format: f,
		Title: md.Title, ReleaseDate: md.ReleaseDate, Description: md.Description, Out: out, Transcode: in.Transcode}
	// The duration's probe runs beside the audio codec's: each is an
	// ffprobe process, about 0.1 s on 2 cores.
	durationCh := make(chan time.Duration, 1)
	go func() { durationCh <- a.inputDuration(ctx, in) }()
	if f.Audio {
		codec, err := ffmpeg.AudioCodec(ctx, a.Ffprobe, in.Inputs[len(in.Inputs)-1])
		if err != nil {
			return nil, err
		}
		spec.AudioCodec = codec
	} else if in.Transcode == nil || in.Transcode.AudioCodec == "" {
		// Copying: a codec the container cannot hold is encoded instead.
		spec.AudioCodec = a.audioCodecOf(ctx, in)
	}
	args := ffmpeg.MuxArgs(spec)

	duration := <-durationCh
	if duration > 0 && in.ClipStart >= duration.Seconds() {
		// ffmpeg would write an empty file and call it a success.
		return nil, permanent(workflows.ErrTypeInvalidInput, "clip_start (%s s) is past the end of the media (%s s)",
			ffmpeg.Seconds(in.ClipStart), ffmpeg.Seconds(duration.Seconds()))
	}
	// Progress and the thumbnail's moment are relative to the clip.
	if duration > 0 {
		duration -= time.Duration(in.ClipStart * float64(time.Second))
	}
	if in.ClipEnd > 0 {
		clip := time.Duration((in.ClipEnd - in.ClipStart) * float64(time.Second))
		duration = min(cmp.Or(duration, clip), clip)
	}
	// ffmpeg's -progress output says how far it is; heartbeat with it.
	err := ffmpeg.Run(ctx, a.Ffmpeg, args, func(us int64) {
		p := workflows.Progress{Bytes: us}
		if duration > 0 {
			p.Total = duration.Microseconds()
			p.Percent = min(100, float64(us)/float64(p.Total)*100)
		}
		activity.RecordHeartbeat(ctx, p)
	})
	if exit, ok := errors.AsType[*ffmpeg.ExitError](err); ok {
		_ = os.Remove(out)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		msg := strings.TrimSpace(exit.Stderr)
		if err := ffmpeg.NotMedia(msg); err != nil {
			// A playlist or manifest saved as media, or no media at all:
			// refused by the input whitelists, the same on every retry.
			activity.GetLogger(ctx).Warn("Input refused: not a media container", "error", err, "ffmpeg", textcut.LastLine(msg))
			return nil, err
		}
		if ffmpeg.CodecMismatch(msg) {
			return nil, permanent(workflows.ErrTypeInvalidInput,
				"the source's codecs cannot be stored in %s without re-encoding; request another format (mkv holds any codec) or a video_codec: %s", format, textcut.LastLine(msg))
		}
		return nil, technical(exit.Err, "ffmpeg failed: %s", textcut.LastLine(msg))
	}
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(out)
	if err != nil {
		return nil, technical(err, "muxed file: %v", err)
	}
	res := &workflows.MuxResult{Path: out, Bytes: st.Size(), Thumbnail: in.ThumbnailPath}
	// What was written, for the job's view: best effort.
	res.Streams = streamsOf(ffmpeg.Probe(ctx, a.Ffprobe, out))
	if in.Thumbnail && res.Thumbnail == "" {
		res.Thumbnail = a.grabFrame(ctx, in, duration)
	}
	return res, nil
}

// inputDuration is the duration of the first input: the download's probe
// of it when there is one input, else ffprobe's; 0 when unknown.
func (a *Activities) inputDuration(ctx context.Context, in workflows.MuxInput) time.Duration {
	if in.Media != nil && len(in.Inputs) == 1 {
		return time.Duration(in.Media.Duration * float64(time.Second))
	}
	return ffmpeg.Duration(ctx, a.Ffprobe, in.Inputs[0])
}

// grabFrame writes a JPEG of the first input's video, a tenth into the
// (clipped) media, for sources without a thumbnail of their own. It is best
// effort: media without video get no thumbnail, and the job goes on.
func (a *Activities) grabFrame(ctx context.Context, in workflows.MuxInput, duration time.Duration) string {
	thumb := filepath.Join(a.jobDir(in.JobID), "frame.jpg")
	out, err := ffmpeg.GrabFrame(ctx, a.Ffmpeg, in.Inputs[0], thumb, in.ClipStart+duration.Seconds()/10)
	if st, serr := os.Stat(thumb); err != nil || serr != nil || st.Size() == 0 {
		activity.GetLogger(ctx).Warn("No thumbnail: the media has no frame to grab", "error", err, "ffmpeg", textcut.LastLine(string(out)))
		_ = os.Remove(thumb)
		return ""
	}
	return thumb
}

// muxNeeded tells whether Mux has anything to do for in: false when the
// download already is the requested file (alreadyMuxed) and no thumbnail
// must be grabbed from it. Download reports it (DownloadResult.NeedsMux) so
// the workflow can skip the activity: one that would do nothing still costs
// a workflow task and an activity task on the server.
func muxNeeded(in workflows.MuxInput) bool {
	return !alreadyMuxed(in, cmp.Or(in.Format, workflows.DefaultFormat)) || in.Thumbnail && in.ThumbnailPath == ""
}

// alreadyMuxed tells whether the download already is the file the mux would
// write: one input, in the requested container, with at most one video and
// one audio stream and nothing else (audio alone for an audio format), and
// no clip to cut. Rewriting it would cost a full read and
// write of the file (a third of a large job's time, and most of a tiny job's
// CPU) and change only its tags: riptide does not rewrite a publisher's
// file just to retag it. The title, description and date are in the job
// and its webhook either way.
func alreadyMuxed(in workflows.MuxInput, format string) bool {
	if in.Transcode.Encodes() {
		return false // the client asked for new streams
	}
	m := in.Media
	if formats.IsAudio(format) && (m == nil || m.Video > 0 || m.Audio == 0) {
		return false
	}
	return len(in.Inputs) == 1 && m != nil && in.ClipStart == 0 && in.ClipEnd == 0 &&
		m.Container == format &&
		m.Video <= 1 && m.Audio <= 1 && m.Video+m.Audio > 0 && m.Other == 0
}

// audioCodecOf is the codec of the last input's audio (ffprobe's name),
// from the download's probe when it described that file; "" when unknown.
func (a *Activities) audioCodecOf(ctx context.Context, in workflows.MuxInput) string {
	if in.Media != nil && len(in.Inputs) == 1 && in.Media.AudioCodec != "" {
		return in.Media.AudioCodec
	}
	if m := ffmpeg.Probe(ctx, a.Ffprobe, in.Inputs[len(in.Inputs)-1]); m != nil {
		return m.AudioCodec
	}
	return ""
}

// streamsOf is what a probe says of a file's streams; nil when unknown.
func streamsOf(m *workflows.MediaInfo) *workflows.Streams {
	if m == nil || m.Streams == (workflows.Streams{}) {
		return nil
	}
	s := m.Streams
	return &s
}
