// Package ffmpeg runs riptide's ffprobe and ffmpeg: probing media files
// and URLs, and building and running the mux command.
package ffmpeg

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/riptide-dev/riptide/internal/childproc"
	"github.com/riptide-dev/riptide/internal/failure"
	"github.com/riptide-dev/riptide/internal/mediainfo"
	"github.com/riptide-dev/riptide/internal/mp4"
	"github.com/riptide-dev/riptide/internal/textcut"
	"github.com/riptide-dev/riptide/workflows"
)

// inspectEntries are what Inspect asks ffprobe for.
const inspectEntries = "format=format_name,duration:format_tags:stream=codec_type,codec_name,width,height:stream_disposition=attached_pic"

// ProbeTimeout bounds a best-effort ffprobe of a file or URL.
const ProbeTimeout = 30 * time.Second

// ffprobeOutput is the part of `ffprobe -print_format json` riptide reads.
type ffprobeOutput struct {
	Format struct {
		FormatName string            `json:"format_name"`
		Duration   string            `json:"duration"`
		Tags       map[string]string `json:"tags"`
	} `json:"format"`
	Streams []struct {
		CodecType string `json:"codec_type"`
		CodecName string `json:"codec_name"`
		Width     int    `json:"width"`
		Height    int    `json:"height"`
		// Disposition marks cover art, which ffprobe lists as video.
		Disposition struct {
			AttachedPic int `json:"attached_pic"`
		} `json:"disposition"`
	} `json:"streams"`
}

// Probe describes file: from its boxes when it is a plain MP4 (see
// mp4.ReadInfo), else with the ffprobe at path ffprobe. It is best effort:
// nil when ffprobe is missing ("") or cannot read the file.
func Probe(ctx context.Context, ffprobe, file string) *workflows.MediaInfo {
	m, _ := Inspect(ctx, ffprobe, file)
	return m
}

// Inspect is Probe that also says when file is no media riptide accepts:
// a playlist or manifest (whatever its extension), a text file, anything
// ffprobe opens with no demuxer of MediaFormats. That error (NotMedia) is
// a permanent InvalidInput failure. Anything else ffprobe cannot tell
// leaves the answer nil and the error nil, as Probe.
func Inspect(ctx context.Context, ffprobe, file string) (*workflows.MediaInfo, error) {
	if m, ok := mp4.ReadFile(file); ok {
		return m, nil
	}
	if ffprobe == "" {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	out, stderr, err := probeFile(ctx, ffprobe, file, "-print_format", "json", "-show_entries", inspectEntries)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil
		}
		return nil, NotMedia(stderr)
	}
	var p ffprobeOutput
	if json.Unmarshal(out, &p) != nil {
		return nil, nil
	}
	return p.mediaInfo(strings.TrimPrefix(filepath.Ext(file), ".")), nil
}

func (p *ffprobeOutput) mediaInfo(ext string) *workflows.MediaInfo {
	m := &workflows.MediaInfo{}
	if d, err := strconv.ParseFloat(p.Format.Duration, 64); err == nil && d > 0 {
		m.Duration = d
	}
	// Tag case varies by container (Matroska and Vorbis use upper case).
	tags := make(map[string]string, len(p.Format.Tags))
	for k, v := range p.Format.Tags {
		tags[strings.ToLower(k)] = strings.TrimSpace(v)
	}
	m.Title = tags["title"]
	m.Description = cmp.Or(tags["description"], tags["comment"])
	m.ReleaseDate = mediainfo.NormalizeDate(tags["date"])
	codecs := map[string]bool{}
	for _, s := range p.Streams {
		switch s.CodecType {
		case "video":
			m.Video++
			if m.VideoCodec == "" && s.Disposition.AttachedPic == 0 {
				m.VideoCodec, m.Width, m.Height = s.CodecName, s.Width, s.Height
			}
		case "audio":
			m.Audio++
			if m.AudioCodec == "" {
				m.AudioCodec = s.CodecName
			}
		default:
			m.Other++
		}
		codecs[s.CodecName] = true
	}
	m.Container = mediainfo.ContainerOf(p.Format.FormatName, tags["major_brand"], ext, codecs)
	return m
}

// AudioCodec names the codec of file's first audio stream.
func AudioCodec(ctx context.Context, ffprobe, file string) (string, error) {
	out, stderr, err := probeFile(ctx, ffprobe, file, "-select_streams", "a:0",
		"-show_entries", "stream=codec_name", "-of", "default=noprint_wrappers=1:nokey=1")
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if nm := NotMedia(stderr); nm != nil {
			return "", nm
		}
		return "", failure.Technical(err, "ffprobe %s: %v: %s", filepath.Base(file), err, textcut.LastLine(stderr))
	}
	codec := strings.TrimSpace(string(out))
	if codec == "" {
		return "", failure.Permanent(workflows.ErrTypeInvalidInput, "the source has no audio to keep in an audio format")
	}
	return codec, nil
}

// Duration returns the media's duration, or 0 when ffprobe cannot tell.
func Duration(ctx context.Context, ffprobe, file string) time.Duration {
	secs, err := formatDuration(ctx, ffprobe, append(fileInput(), file)...)
	if err != nil {
		return 0
	}
	return time.Duration(secs * float64(time.Second))
}

// URLDuration is the duration in seconds ffprobe reads from the media at
// u over HTTP(S) through proxy (reading only its headers), 0 when it cannot
// tell. ffprobe connects on its own, so callers pass the worker's guarded
// proxy. It may use only the protocols of URLProtocols (https goes through
// the proxy's CONNECT tunnel: httpproxy) and open only MediaFormats, so a
// playlist served as media is never followed.
func URLDuration(ctx context.Context, ffprobe, proxy, u string) float64 {
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	secs, err := formatDuration(ctx, ffprobe, append(urlInput(proxy), "--", u)...)
	if err != nil || !(secs > 0) {
		return 0
	}
	return secs
}

// formatDuration asks ffprobe for the container's duration in seconds;
// input is the input, after any options for it.
func formatDuration(ctx context.Context, ffprobe string, input ...string) (float64, error) {
	args := append([]string{"-v", "error", "-show_entries", "format=duration",
		"-of", "default=noprint_wrappers=1:nokey=1"}, input...)
	out, err := childproc.CommandContext(ctx, ffprobe, args...).Output()
	if err != nil {
		return 0, err
	}
	return strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
}

// probeFile runs ffprobe on a downloaded file, limited to media containers
// and local files (fileInput), and returns its output and the tail of its
// diagnostics.
func probeFile(ctx context.Context, ffprobe, file string, args ...string) (out []byte, stderr string, err error) {
	args = append(append(fileInput(), "-v", "error"), append(args, file)...)
	var tail textcut.Tail
	cmd := childproc.CommandContext(ctx, ffprobe, args...)
	cmd.Stderr = &tail
	out, err = cmd.Output()
	return out, tail.String(), err
}

// URLMedia is what a probe of a media URL's headers says; zeros are
// unknown.
type URLMedia struct {
	Duration      float64
	Width, Height int64
	// Size is the file's length in bytes, as the server announced it.
	Size  int64
	Title string
	// Description and Date (RFC 3339) come from the container's tags.
	Description, Date string
}

// ProbeURL describes the media file at u from its headers, read through
// proxy with the protocols and formats of URLDuration. An error means
// ffprobe could not tell (the caller may ask yt-dlp instead).
func ProbeURL(ctx context.Context, ffprobe, proxy, u string) (*URLMedia, error) {
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	args := append([]string{"-v", "error", "-print_format", "json",
		"-show_entries", "format=format_name,duration,size:format_tags:stream=codec_type,codec_name,width,height"},
		append(urlInput(proxy), "--", u)...)
	var tail textcut.Tail
	cmd := childproc.CommandContext(ctx, ffprobe, args...)
	cmd.Stderr = &tail
	out, err := cmd.Output()
	if err != nil {
		return nil, failure.Technical(err, "ffprobe %v: %s", err, textcut.LastLine(tail.String()))
	}
	var p ffprobeOutput
	var sized struct {
		Format struct {
			Size string `json:"size"`
		} `json:"format"`
		Streams []struct {
			CodecType string `json:"codec_type"`
			Width     int64  `json:"width"`
			Height    int64  `json:"height"`
		} `json:"streams"`
	}
	if err := errors.Join(json.Unmarshal(out, &p), json.Unmarshal(out, &sized)); err != nil {
		return nil, failure.Technical(err, "parsing ffprobe's output: %v", err)
	}
	mi := p.mediaInfo("")
	m := &URLMedia{Duration: mi.Duration, Title: mi.Title, Description: mi.Description, Date: mi.ReleaseDate}
	if n, err := strconv.ParseInt(sized.Format.Size, 10, 64); err == nil && n > 0 {
		m.Size = n
	}
	for _, s := range sized.Streams {
		if s.CodecType == "video" && s.Width > 0 && s.Height > 0 {
			m.Width, m.Height = s.Width, s.Height
			break
		}
	}
	return m, nil
}
