// Package mediainfo names what riptide reads from a probed file, whether
// ffprobe or the MP4 box reader probed it: the riptide format of its
// container and its release date.
package mediainfo

import (
	"strings"
	"time"
)

// webmCodecs are the codecs a WebM file may hold.
var webmCodecs = map[string]bool{"vp8": true, "vp9": true, "av1": true, "opus": true, "vorbis": true}

// ContainerOf names the riptide format of a probed file, only when it is
// certain: ffprobe reports MP4 and QuickTime as one demuxer (told apart by
// the major brand), and Matroska and WebM as another (told apart by the
// extension the server gave and the codecs, which WebM restricts).
func ContainerOf(formatName, majorBrand, ext string, codecs map[string]bool) string {
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

// NormalizeDate turns a date tag into RFC 3339 in UTC, midnight when it
// holds only a day. A bare year, or anything unparsable, gives "": a day is
// not made up.
func NormalizeDate(s string) string {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", time.DateOnly, "20060102"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format(time.RFC3339)
		}
	}
	return ""
}
