package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// clipSeconds is the length of the clip the big files loop.
const clipSeconds = 10

// generateMedia writes an MP4 of about size bytes to dir/name. Encoding a
// gigabyte of video would take longer than moving it, so a short lossless
// (hence large) clip is encoded once and then looped with stream copy up to
// the size: a real, playable file at disk speed.
func generateMedia(ctx context.Context, dir, name string, size int64) (string, error) {
	clip, err := ensureClip(ctx, dir)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, name)
	err = ffmpeg(ctx, "-stream_loop", "-1", "-i", clip, "-map", "0", "-c", "copy", "-fs", strconv.FormatInt(size, 10), out)
	return out, err
}

// ensureClip encodes dir/clip.mp4 once: clipSeconds of lossless (about
// 16 Mb/s) 1280x720 H.264 with a keyframe every 2 s, and 128 kb/s AAC.
func ensureClip(ctx context.Context, dir string) (string, error) {
	clip := filepath.Join(dir, "clip.mp4")
	if _, err := os.Stat(clip); err == nil {
		return clip, nil
	}
	err := ffmpeg(ctx, "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", strconv.Itoa(clipSeconds), "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0",
		"-pix_fmt", "yuv420p", "-g", "60", "-c:a", "aac", "-b:a", "128k", clip)
	if err != nil {
		os.Remove(clip) // not a half-written clip for the next section
	}
	return clip, err
}

// generateTiny writes the small clip the orchestration jobs move.
func generateTiny(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "tiny.mp4")
	return out, ffmpeg(ctx, "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-f", "lavfi", "-i", "sine",
		"-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", out)
}

func ffmpeg(ctx context.Context, args ...string) error {
	args = append([]string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y"}, args...)
	if out, err := exec.CommandContext(ctx, "ffmpeg", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ffmpeg %v: %w: %s", args, err, out)
	}
	return nil
}
