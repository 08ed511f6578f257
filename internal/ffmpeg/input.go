package ffmpeg

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/riptide-dev/riptide/internal/failure"
	"github.com/riptide-dev/riptide/internal/textcut"
	"github.com/riptide-dev/riptide/workflows"
)

// MediaFormats are the demuxers ffprobe and ffmpeg may open a downloaded
// file with (-format_whitelist): the containers riptide accepts. ffmpeg
// picks a demuxer from a file's content, whatever its extension, and its
// playlist demuxers (hls, dash, concat, ...) open what the playlist names:
// other files on the worker included. None of those is here.
//
//   - mov: MP4, M4A, MOV, 3GP (and the fragmented MP4 of DASH and fMP4 HLS)
//   - matroska: Matroska and WebM
//   - mpegts: what yt-dlp's HLS downloader writes (the segments, joined)
//   - mp3, aac (ADTS), ogg (Vorbis, Opus, FLAC in Ogg), flac, wav: audio
const MediaFormats = "mov,matroska,mpegts,mp3,aac,ogg,flac,wav"

// URLProtocols are the protocols a probe of a URL needs through an HTTP
// proxy (-protocol_whitelist): http and https, the tcp and tls under them,
// and httpproxy, the CONNECT tunnel https goes through.
const URLProtocols = "http,https,tcp,tls,httpproxy"

// fileInput are the options before a local, downloaded input: its demuxer
// must be a media container's, and it may open nothing but files (a media
// container never refers to another file anyway).
func fileInput() []string {
	return []string{"-protocol_whitelist", "file", "-format_whitelist", MediaFormats}
}

// urlInput are the options before a URL input read through proxy.
func urlInput(proxy string) []string {
	return []string{"-protocol_whitelist", URLProtocols, "-format_whitelist", MediaFormats, "-http_proxy", proxy}
}

// refusedFormat finds the demuxer ffmpeg refused in its diagnostics:
// "[hls @ 0x55d0c8e0] Format not on whitelist 'mov,...'".
var refusedFormat = regexp.MustCompile(`\[([A-Za-z0-9_,]+) @ (?:0x)?[0-9a-fA-F]+\] Format not on whitelist`)

// refusedProtocol finds a protocol ffmpeg refused to open:
// "Protocol 'http' not on whitelist 'file'!".
var refusedProtocol = regexp.MustCompile(`Protocol '([^']*)' not on whitelist`)

// formatNames says in words what a refused demuxer reads.
var formatNames = map[string]string{
	"hls":                "an HLS playlist",
	"dash":               "a DASH manifest",
	"webm_dash_manifest": "a WebM DASH manifest",
	"concat":             "an ffmpeg concat script",
	"ffmetadata":         "an ffmpeg metadata file",
	"tty":                "a text file",
	"srt":                "a subtitle file",
	"webvtt":             "a subtitle file",
	"ass":                "a subtitle file",
}

// NotMedia tells from ffprobe's or ffmpeg's diagnostics whether an input
// was refused for what it is, not for a passing condition: a format that
// is not a media container riptide accepts, a reference to another file or
// URL, or content no demuxer reads. It returns the permanent InvalidInput
// failure for the job, or nil. Retrying would fail the same way.
func NotMedia(stderr string) error {
	if m := refusedFormat.FindStringSubmatch(stderr); m != nil {
		what := formatNames[m[1]]
		if what == "" {
			what = fmt.Sprintf("in a format riptide does not accept (%s)", m[1])
		}
		return failure.Permanent(workflows.ErrTypeInvalidInput,
			"the downloaded file is %s, not a media file: riptide accepts only media containers (MP4/MOV/M4A, Matroska/WebM, MPEG-TS, MP3, AAC, Ogg, FLAC, WAV)", what)
	}
	if m := refusedProtocol.FindStringSubmatch(stderr); m != nil {
		return failure.Permanent(workflows.ErrTypeInvalidInput,
			"the downloaded file refers to other media (%q), which riptide does not follow", m[1])
	}
	if strings.Contains(stderr, "Invalid data found when processing input") {
		return failure.Permanent(workflows.ErrTypeInvalidInput,
			"the downloaded file is not a media file ffmpeg can read: %s", textcut.LastLine(stderr))
	}
	return nil
}
