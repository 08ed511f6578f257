package ffmpeg

import (
	"cmp"
	"strconv"

	"github.com/riptide-dev/riptide/internal/formats"
	"github.com/riptide-dev/riptide/workflows"
)

// EncodeThreads caps the threads of a video encoder, so that a transcode
// on a 2-core worker leaves its downloads, uploads and heartbeats room.
const EncodeThreads = 2

// VP9CRF maps a CRF of x264's 0–51 scale to libvpx-vp9's 0–63 scale,
// linearly and rounded: 23 → 28, 51 → 63.
func VP9CRF(crf int) int { return (crf*63 + 25) / 51 }

// VideoEncoder is the encoder and its options for a video_codec at crf
// (0–51), in the container f. The presets keep a 2-core worker usable:
// libx264 veryfast, libx265 faster, libvpx-vp9 deadline good with
// cpu-used 5 and row multithreading, each capped at EncodeThreads.
func VideoEncoder(codec string, crf int, f formats.Format) []string {
	threads := strconv.Itoa(EncodeThreads)
	var args []string
	switch codec {
	case "h264":
		args = []string{"-c:v", "libx264", "-preset", "veryfast", "-crf", strconv.Itoa(crf), "-threads", threads}
	case "h265":
		args = []string{"-c:v", "libx265", "-preset", "faster", "-crf", strconv.Itoa(crf),
			"-x265-params", "pools=" + threads + ":frame-threads=1:log-level=error"}
		if f.Muxer == "mp4" || f.Muxer == "mov" {
			// hvc1 is the tag Apple's players require.
			args = append(args, "-tag:v", "hvc1")
		}
	case "vp9":
		args = []string{"-c:v", "libvpx-vp9", "-deadline", "good", "-cpu-used", "5", "-row-mt", "1",
			"-crf", strconv.Itoa(VP9CRF(crf)), "-b:v", "0", "-threads", threads}
	default:
		return []string{"-c:v", "copy"}
	}
	// 8-bit 4:2:0 plays everywhere; a 10-bit or 4:4:4 source would
	// otherwise give a file many players refuse.
	return append(args, "-pix_fmt", "yuv420p")
}

// AudioEncoder is the encoder for an audio codec (an audio_codec value, or
// a container's Fallback) at kbps (0: workflows.DefaultAudioBitrate).
func AudioEncoder(codec string, kbps int) []string {
	enc := map[string]string{"aac": "aac", "opus": "libopus", "mp3": "libmp3lame", "vorbis": "libvorbis"}[codec]
	if enc == "" {
		return []string{"-c:a", "copy"}
	}
	return []string{"-c:a", enc, "-b:a", strconv.Itoa(cmp.Or(kbps, workflows.DefaultAudioBitrate)) + "k"}
}

// audioArgs is how the mux writes the audio of s: the requested codec, a
// copy when the container holds the source's codec (or it is unknown: the
// mux then fails on a codec the container refuses), else the container's
// fallback encoder.
func audioArgs(s MuxSpec) []string {
	t := s.Transcode
	if t == nil {
		t = &workflows.Transcode{}
	}
	switch {
	case t.AudioCodec != "":
		return AudioEncoder(t.AudioCodec, t.AudioBitrate)
	case s.Format.Audio && s.Format.CopiesCodec(s.AudioCodec):
		return []string{"-c:a", "copy"}
	case s.Format.Audio:
		if t.AudioBitrate == 0 {
			// No bitrate asked for: the format's own encoder.
			return s.Format.Encoder
		}
		return AudioEncoder(s.Format.Fallback, t.AudioBitrate)
	case s.AudioCodec != "" && !s.Format.HoldsAudio(s.AudioCodec):
		return AudioEncoder(s.Format.Fallback, t.AudioBitrate)
	}
	return []string{"-c:a", "copy"}
}

// videoArgs is how the mux writes the video of s.
func videoArgs(s MuxSpec) []string {
	if s.Transcode == nil || s.Transcode.VideoCodec == "" {
		return []string{"-c:v", "copy"}
	}
	return VideoEncoder(s.Transcode.VideoCodec, s.Transcode.CRF, s.Format)
}
