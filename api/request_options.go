package api

import (
	"bytes"
	"encoding/json"
	"math"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/riptide-dev/riptide/internal/formats"
	"github.com/riptide-dev/riptide/workflows"
)

// Limits and choices of the job options.
const (
	maxFilenameChars = 255
	// maxKeyBytes is S3's key limit; a batch episode's key is 9 bytes
	// longer than its filename ("-" and the short job ID).
	maxKeyBytes = 1024 - 9
	// maxSeconds bounds clip times and max_duration: a week, far beyond
	// any media, and far from overflowing a time.Duration.
	maxSeconds = 7 * 24 * 3600
)

// resolutions are the heights max_resolution accepts.
var resolutions = []int{2160, 1440, 1080, 720, 480, 360, 240, 144}

// filenameMediaExts are extensions a filename may carry that contradict the
// format: they are replaced by the format's own. Any other extension is
// part of the name, and the format's extension is added after it.
var filenameMediaExts = append(formats.Names(),
	"m4v", "avi", "wmv", "flv", "ts", "wav", "flac", "aac", "oga", "weba")

// jobOptions are the options a request adds to the job's format.
type jobOptions struct {
	AudioOnly         bool
	MaxResolution     json.RawMessage
	Filename          string
	DownloadThumbnail bool
	ClipStart         json.RawMessage
	ClipEnd           json.RawMessage
	MaxDuration       json.RawMessage
}

// resolveFormat settles the output format from format and audio_only.
func resolveFormat(format string, audioOnly bool) (string, *apiError) {
	if format == "" {
		format = workflows.DefaultFormat
		if audioOnly {
			format = formats.DefaultAudio
		}
	}
	if _, ok := formats.Lookup(format); !ok {
		return "", fieldError(codeInvalidField, "format", "format must be one of %s", strings.Join(formats.Names(), ", "))
	}
	if audioOnly && !formats.IsAudio(format) {
		return "", fieldError(codeInvalidField, "audio_only",
			"audio_only conflicts with format %q, a video container: use an audio format (%s) or leave format out",
			format, strings.Join(formats.AudioNames(), ", "))
	}
	return format, nil
}

// validate turns the options into the workflow's, given the settled format
// and folder.
func (o *jobOptions) validate(format, folder string) (workflows.JobOptions, *apiError) {
	var out workflows.JobOptions
	var e *apiError
	if out.MaxHeight, e = parseResolution(o.MaxResolution); e != nil {
		return out, e
	}
	if out.Filename, e = cleanFilename(o.Filename, format, folder); e != nil {
		return out, e
	}
	out.Thumbnail = o.DownloadThumbnail
	if out.ClipStart, e = parseClipTime("clip_start", o.ClipStart); e != nil {
		return out, e
	}
	if out.ClipEnd, e = parseClipTime("clip_end", o.ClipEnd); e != nil {
		return out, e
	}
	if isSet(o.ClipEnd) && out.ClipEnd <= out.ClipStart {
		return out, fieldError(codeInvalidField, "clip_end", "clip_end must be after clip_start")
	}
	if out.MaxDuration, e = parseMaxDuration(o.MaxDuration); e != nil {
		return out, e
	}
	return out, nil
}

// isSet tells whether a raw field was given a value other than null.
func isSet(raw json.RawMessage) bool {
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

// jsonValue decodes a raw field as a number or a string; isNum tells which.
func jsonValue(raw json.RawMessage) (num float64, str string, isNum, ok bool) {
	if raw[0] == '"' {
		err := json.Unmarshal(raw, &str)
		return 0, str, false, err == nil
	}
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		return 0, "", false, false
	}
	// Out of float64's range is +/-Inf, which every range check refuses.
	f, _ := n.Float64()
	return f, "", true, true
}

// parseResolution reads max_resolution: "best" (no cap, the default) or one
// of resolutions as a number (720), a string ("720") or a string with a p
// ("720p"). The workflow compares it with the shorter side of the video
// (JobOptions.MaxHeight), so a 1080×1920 vertical video is "1080".
func parseResolution(raw json.RawMessage) (int, *apiError) {
	if !isSet(raw) {
		return 0, nil
	}
	bad := fieldError(codeInvalidField, "max_resolution",
		`max_resolution must be "best" or one of %s, as a number or a string like "1080" or "1080p"`, joinInts(resolutions))
	num, str, isNum, ok := jsonValue(raw)
	switch {
	case !ok:
		return 0, fieldError(codeInvalidType, "max_resolution", `max_resolution must be "best", a number or a string like "1080"`)
	case !isNum && str == "best":
		return 0, nil
	case !isNum:
		digits := strings.TrimSuffix(str, "p")
		n, err := strconv.Atoi(digits)
		if err != nil || strconv.Itoa(n) != digits || !slices.Contains(resolutions, n) {
			return 0, bad
		}
		return n, nil
	case num != math.Trunc(num) || !slices.Contains(resolutions, int(num)):
		return 0, bad
	}
	return int(num), nil
}

// Clip time strings: seconds ("90", "90.5"), MM:SS(.mmm) ("01:30") and
// HH:MM:SS(.mmm) ("01:02:03.5"). Minutes of MM:SS may pass 59 ("75:00");
// the fields after the first must be below 60.
var (
	secondsTime = regexp.MustCompile(`^([0-9]{1,7})(\.[0-9]{1,3})?$`)
	minutesTime = regexp.MustCompile(`^([0-9]{1,5}):([0-5][0-9])(\.[0-9]{1,3})?$`)
	clockTime   = regexp.MustCompile(`^([0-9]{1,3}):([0-5][0-9]):([0-5][0-9])(\.[0-9]{1,3})?$`)
)

const clipTimeForms = `a number of seconds or a string of seconds ("90"), "MM:SS" or "HH:MM:SS", with up to 3 decimals`

// parseClipTimeString reads a clip time string into seconds.
func parseClipTimeString(str string) (float64, bool) {
	atoi := func(s string) float64 { n, _ := strconv.Atoi(s); return float64(n) }
	frac := func(s string) float64 { f, _ := strconv.ParseFloat("0"+s, 64); return f }
	if m := secondsTime.FindStringSubmatch(str); m != nil {
		return atoi(m[1]) + frac(m[2]), true
	}
	if m := minutesTime.FindStringSubmatch(str); m != nil {
		return atoi(m[1])*60 + atoi(m[2]) + frac(m[3]), true
	}
	if m := clockTime.FindStringSubmatch(str); m != nil {
		return atoi(m[1])*3600 + atoi(m[2])*60 + atoi(m[3]) + frac(m[4]), true
	}
	return 0, false
}

// parseClipTime reads a clip time: seconds as a number (fractions to the
// millisecond) or a string parseClipTimeString reads.
func parseClipTime(field string, raw json.RawMessage) (float64, *apiError) {
	if !isSet(raw) {
		return 0, nil
	}
	num, str, isNum, ok := jsonValue(raw)
	if !ok {
		return 0, fieldError(codeInvalidType, field, "%s must be %s", field, clipTimeForms)
	}
	if !isNum {
		if num, ok = parseClipTimeString(str); !ok {
			return 0, fieldError(codeInvalidField, field, "%s must be %s", field, clipTimeForms)
		}
	}
	if !(num >= 0 && num <= maxSeconds) {
		return 0, fieldError(codeInvalidField, field, "%s must be between 0 and %d seconds", field, maxSeconds)
	}
	return math.Round(num*1000) / 1000, nil
}

// parseMaxDuration reads max_duration: a whole, positive number of
// seconds, as a number (3600) or a string of digits ("3600").
func parseMaxDuration(raw json.RawMessage) (int, *apiError) {
	if !isSet(raw) {
		return 0, nil
	}
	num, str, isNum, ok := jsonValue(raw)
	if ok && !isNum {
		n, err := strconv.Atoi(str)
		if err != nil || strconv.Itoa(n) != str {
			return 0, fieldError(codeInvalidField, "max_duration", `max_duration must be a whole number of seconds, as a number or a string of digits like "3600"`)
		}
		num, isNum = float64(n), true
	}
	if !ok || !isNum {
		return 0, fieldError(codeInvalidType, "max_duration", "max_duration must be a number of seconds")
	}
	if num != math.Trunc(num) || num < 1 || num > maxSeconds {
		return 0, fieldError(codeInvalidField, "max_duration", "max_duration must be a whole number of seconds from 1 to %d", maxSeconds)
	}
	return int(num), nil
}

// cleanFilename validates a filename for the object key and gives it the
// format's extension: appended when it has none (or one that is no media
// extension), replacing a media extension that names another format.
func cleanFilename(s, format, folder string) (string, *apiError) {
	if s == "" {
		return "", nil
	}
	bad := func(msg string, args ...any) (string, *apiError) {
		return "", fieldError(codeInvalidField, "filename", msg, args...)
	}
	switch {
	case utf8.RuneCountInString(s) > maxFilenameChars:
		return bad("filename must be at most %d characters", maxFilenameChars)
	case strings.ContainsFunc(s, unicode.IsControl):
		return bad("filename must not contain control characters")
	case strings.ContainsFunc(s, invisible):
		return bad("filename must not contain invisible formatting characters")
	case strings.ContainsAny(s, `/\`):
		return bad("filename must not contain / or \\")
	case strings.Contains(s, ".."):
		return bad("filename must not contain '..'")
	case strings.HasPrefix(s, "."):
		return bad("filename must not start with a dot")
	}
	stem, ext := s, "."+format
	if e := path.Ext(s); slices.Contains(filenameMediaExts, strings.ToLower(strings.TrimPrefix(e, "."))) {
		stem = strings.TrimSuffix(s, e)
		if strings.EqualFold(e, ext) {
			ext = e // the client's spelling of the right extension
		}
	}
	stem = strings.TrimRight(stem, ".")
	if strings.TrimSpace(stem) == "" {
		return bad("filename must have a name before its extension")
	}
	return checkKeyLength(stem+ext, folder)
}

func checkKeyLength(name, folder string) (string, *apiError) {
	if len(path.Join(folder, name)) > maxKeyBytes {
		return "", fieldError(codeInvalidField, "filename",
			"filename and folder together must be at most %d bytes in UTF-8 (S3 keys hold 1024, batch episodes add 9)", maxKeyBytes)
	}
	return name, nil
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// check refuses every reference-only field set to a value that would change
// what riptide does: 400 not_supported naming the field, never a value
// accepted and silently ignored.
func (f *referenceOnlyFields) check() *apiError {
	for _, b := range []struct {
		field, what string
		raw         json.RawMessage
	}{
		// POST /jobs and /batches take paused off first (takePaused): what
		// is left is a bulk item, a single job with nothing to pause.
		{"paused", "pausing bulk jobs", f.Paused},
	} {
		if e := checkFalseOnly(b.field, b.what, b.raw); e != nil {
			return e
		}
	}
	return nil
}

// checkFalseOnly accepts a boolean field that is absent, null or false,
// which asks for nothing.
func checkFalseOnly(field, what string, raw json.RawMessage) *apiError {
	if !isSet(raw) {
		return nil
	}
	var b bool
	if json.Unmarshal(raw, &b) != nil {
		return fieldError(codeInvalidType, field, "%s must be a boolean", field)
	}
	if b {
		return fieldError(codeNotSupported, field, "%s: riptide does not support %s yet; leave %s out or send false", field, what, field)
	}
	return nil
}
