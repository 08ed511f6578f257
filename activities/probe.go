package activities

import (
	"cmp"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/riptide-dev/riptide/internal/formats"
	"github.com/riptide-dev/riptide/workflows"
)

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
	} `json:"streams"`
}

// probeMedia describes file: from its boxes when it is a plain MP4 (see
// readMP4Info), else with ffprobe. It is best effort: nil when ffprobe is
// missing or cannot read the file.
func (a *Activities) probeMedia(ctx context.Context, file string) *workflows.MediaInfo {
	if m, ok := readMP4File(file); ok {
		return m
	}
	if a.Ffprobe == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, a.Ffprobe, "-v", "error", "-print_format", "json",
		"-show_entries", "format=format_name,duration:format_tags:stream=codec_type,codec_name", file).Output()
	if err != nil {
		return nil
	}
	var p ffprobeOutput
	if json.Unmarshal(out, &p) != nil {
		return nil
	}
	return p.mediaInfo(strings.TrimPrefix(filepath.Ext(file), "."))
}

// readMP4File is readMP4Info on a file.
func readMP4File(file string) (*workflows.MediaInfo, bool) {
	f, err := os.Open(file)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, false
	}
	return readMP4Info(f, st.Size())
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
	m.ReleaseDate = normalizeDate(tags["date"])
	codecs := map[string]bool{}
	for _, s := range p.Streams {
		switch s.CodecType {
		case "video":
			m.Video++
		case "audio":
			m.Audio++
		default:
			m.Other++
		}
		codecs[s.CodecName] = true
	}
	m.Container = containerOf(p.Format.FormatName, tags["major_brand"], ext, codecs)
	return m
}

// webmCodecs are the codecs a WebM file may hold.
var webmCodecs = map[string]bool{"vp8": true, "vp9": true, "av1": true, "opus": true, "vorbis": true}

// containerOf names the riptide format of a probed file, only when it is
// certain: ffprobe reports MP4 and QuickTime as one demuxer (told apart by
// the major brand), and Matroska and WebM as another (told apart by the
// extension the server gave and the codecs, which WebM restricts).
func containerOf(formatName, majorBrand, ext string, codecs map[string]bool) string {
	switch formatName {
	case "mov,mp4,m4a,3gp,3g2,mj2":
		switch strings.TrimSpace(majorBrand) {
		case "qt":
			return "mov"
		case "isom", "iso2", "iso4", "iso5", "iso6", "mp41", "mp42", "avc1", "M4V":
			return "mp4"
		case "M4A":
			return "m4a"
		}
	case "matroska,webm":
		switch ext {
		case "mkv":
			return "mkv"
		case "webm":
			for c := range codecs {
				if !webmCodecs[c] {
					return ""
				}
			}
			return "webm"
		}
	case "mp3":
		return "mp3"
	case "ogg":
		return "ogg"
	}
	return ""
}

// muxNeeded tells whether Mux has anything to do for in: false when the
// download already is the requested file (alreadyMuxed) and no thumbnail
// must be grabbed from it. Download reports it (DownloadResult.NeedsMux) so
// the workflow can skip the activity: one that would do nothing still costs
// a workflow task and an activity task on the server.
func muxNeeded(in workflows.MuxInput) bool {
	return !alreadyMuxed(in, cmp.Or(in.Format, "mp4")) || in.Thumbnail && in.ThumbnailPath == ""
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
	m := in.Media
	if formats.IsAudio(format) && (m == nil || m.Video > 0 || m.Audio == 0) {
		return false
	}
	return len(in.Inputs) == 1 && m != nil && in.ClipStart == 0 && in.ClipEnd == 0 &&
		m.Container == format &&
		m.Video <= 1 && m.Audio <= 1 && m.Video+m.Audio > 0 && m.Other == 0
}
