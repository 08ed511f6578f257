package api

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/riptide-dev/riptide/internal/formats"
	"github.com/riptide-dev/riptide/workflows"
)

// transcodeFields are the request's encoding options (README: Transcoding).
type transcodeFields struct {
	VideoCodec    json.RawMessage `json:"video_codec"`
	AudioCodec    json.RawMessage `json:"audio_codec"`
	AudioBitrate  json.RawMessage `json:"audio_bitrate"`
	VideoQuality  json.RawMessage `json:"video_quality"`
	QualityPreset json.RawMessage `json:"quality_preset"`
}

// The values of the encoding options.
var (
	videoCodecs   = []string{"h264", "h265", "vp9"}
	audioCodecs   = []string{"aac", "opus", "mp3"}
	audioBitrates = []string{"64k", "128k", "192k", "256k", "320k"}
	// qualityPresets map quality_preset to the CRF it stands for (x264's
	// scale; vp9's is mapped as every CRF, see ffmpeg.VP9CRF).
	qualityPresets = map[string]int{"highest": 18, "high": 20, "medium": 23, "low": 28, "lowest": 32}
	presetOrder    = []string{"highest", "high", "medium", "low", "lowest"}
)

const maxCRF = 51

// parse turns the encoding options into the job's Transcode for the
// settled format: nil when they ask for nothing but copies.
func (f *transcodeFields) parse(format string) (*workflows.Transcode, *apiError) {
	out := &workflows.Transcode{}
	var e *apiError
	fm, _ := formats.Lookup(format)
	if out.VideoCodec, e = parseCodec("video_codec", f.VideoCodec, videoCodecs); e != nil {
		return nil, e
	}
	if out.AudioCodec, e = parseCodec("audio_codec", f.AudioCodec, audioCodecs); e != nil {
		return nil, e
	}
	if c := out.VideoCodec; c != "" && !slices.Contains(fm.VideoCodecs, c) {
		if fm.Audio {
			return nil, fieldError(codeInvalidField, "video_codec",
				`video_codec %q: format %s is audio only; leave video_codec out or send "copy"`, c, format)
		}
		return nil, fieldError(codeInvalidField, "video_codec",
			"video_codec %q cannot be stored in %s, which holds %s; pick another format (mkv holds every video_codec)",
			c, format, strings.Join(fm.VideoCodecs, ", "))
	}
	if c := out.AudioCodec; c != "" && !slices.Contains(fm.AudioCodecs, c) {
		return nil, fieldError(codeInvalidField, "audio_codec",
			"audio_codec %q cannot be stored in %s, which holds %s; pick another format or audio_codec",
			c, format, strings.Join(fm.AudioCodecs, ", "))
	}
	if isSet(f.AudioBitrate) {
		var s string
		if json.Unmarshal(f.AudioBitrate, &s) != nil {
			return nil, fieldError(codeInvalidType, "audio_bitrate", "audio_bitrate must be a string such as \"192k\"")
		}
		if !slices.Contains(audioBitrates, s) {
			return nil, fieldError(codeInvalidField, "audio_bitrate", "audio_bitrate must be one of %s", strings.Join(audioBitrates, ", "))
		}
		out.AudioBitrate, _ = strconv.Atoi(strings.TrimSuffix(s, "k"))
	}
	crf, crfSet, e := parseCRF(f.VideoQuality)
	if e != nil {
		return nil, e
	}
	preset, e := parsePreset(f.QualityPreset)
	if e != nil {
		return nil, e
	}
	if out.VideoCodec == "" {
		// Quality applies to an encode; with a copy it would be ignored.
		for _, q := range []struct {
			field string
			set   bool
		}{{"video_quality", crfSet}, {"quality_preset", preset != ""}} {
			if q.set {
				return nil, fieldError(codeInvalidField, q.field,
					"%s applies only when video_codec is one of %s; the video is copied as it is otherwise", q.field, strings.Join(videoCodecs, ", "))
			}
		}
	} else {
		out.CRF = workflows.DefaultCRF
		if crfSet {
			out.CRF = crf
		}
		if preset != "" {
			out.CRF, out.QualityPreset = qualityPresets[preset], preset
		}
	}
	if *out == (workflows.Transcode{}) {
		return nil, nil
	}
	return out, nil
}

// parseCodec reads a codec field: absent, null and "copy" are "".
func parseCodec(field string, raw json.RawMessage, values []string) (string, *apiError) {
	if !isSet(raw) {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", fieldError(codeInvalidType, field, "%s must be a string", field)
	}
	switch {
	case s == "copy":
		return "", nil
	case slices.Contains(values, s):
		return s, nil
	}
	return "", fieldError(codeInvalidField, field, "%s must be one of copy, %s", field, strings.Join(values, ", "))
}

// parseCRF reads video_quality: a whole number from 0 to 51.
func parseCRF(raw json.RawMessage) (int, bool, *apiError) {
	if !isSet(raw) {
		return 0, false, nil
	}
	num, _, isNum, ok := jsonValue(raw)
	if !ok || !isNum {
		return 0, false, fieldError(codeInvalidType, "video_quality", "video_quality must be an integer CRF from 0 to %d", maxCRF)
	}
	if num != math.Trunc(num) || num < 0 || num > maxCRF {
		return 0, false, fieldError(codeInvalidField, "video_quality", "video_quality must be an integer CRF from 0 (best) to %d (smallest)", maxCRF)
	}
	return int(num), true, nil
}

func parsePreset(raw json.RawMessage) (string, *apiError) {
	if !isSet(raw) {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", fieldError(codeInvalidType, "quality_preset", "quality_preset must be a string")
	}
	if _, ok := qualityPresets[s]; !ok {
		return "", fieldError(codeInvalidField, "quality_preset", "quality_preset must be one of %s", strings.Join(presetOrder, ", "))
	}
	return s, nil
}
