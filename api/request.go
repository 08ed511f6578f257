package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/workflows"
)

// Limits of the job request.
const (
	maxURLChars    = 2048
	maxFolderChars = 200
)

// createJobRequest is the body of POST /jobs.
type createJobRequest struct {
	URL string `json:"url"`
	jobOptionsRequest
}

// jobOptionsRequest are the fields a job and a batch share: everything but
// the source URL.
type jobOptionsRequest struct {
	WebhookURL            string          `json:"webhook_url"`
	Folder                string          `json:"folder"`
	EnableProgressWebhook bool            `json:"enable_progress_webhook"`
	DownloadSubtitles     bool            `json:"download_subtitles"`
	Format                string          `json:"format"`
	AudioOnly             bool            `json:"audio_only"`
	MaxResolution         json.RawMessage `json:"max_resolution"`
	Filename              string          `json:"filename"`
	DownloadThumbnail     bool            `json:"download_thumbnail"`
	ClipStart             json.RawMessage `json:"clip_start"`
	ClipEnd               json.RawMessage `json:"clip_end"`
	MaxDuration           json.RawMessage `json:"max_duration"`
	// Storage is a per-request storage target (user_storage.go).
	Storage json.RawMessage `json:"storage"`
	transcodeFields
	referenceOnlyFields
}

// referenceOnlyFields are the hosted service's documented fields that
// riptide does not implement yet. They are decoded (not refused as unknown)
// so that a client learns which documented field is not supported, and the
// values that change nothing (the "copy" codecs, false flags) are accepted.
type referenceOnlyFields struct {
	LiveRecording json.RawMessage `json:"live_recording"`
	LiveFromStart json.RawMessage `json:"live_from_start"`
	WaitForVideo  json.RawMessage `json:"wait_for_video"`
	Paused        json.RawMessage `json:"paused"`
}

// decodeJobRequest reads exactly one JSON object from body and validates it.
// The returned input has no JobID yet.
func decodeJobRequest(body io.Reader, guard *netguard.Guard) (workflows.JobInput, *apiError) {
	var req createJobRequest
	if e := decodeObject(body, &req); e != nil {
		return workflows.JobInput{}, e
	}
	return req.validate("url", guard)
}

// createBatchRequest is the body of POST /batches: a show URL and the
// options every episode's job gets.
type createBatchRequest struct {
	ShowURL string `json:"show_url"`
	jobOptionsRequest
}

// decodeBatchRequest reads and validates a POST /batches body. The
// returned input's URL is the show URL; paused tells whether the batch is
// created paused.
func decodeBatchRequest(body io.Reader, guard *netguard.Guard) (in workflows.JobInput, paused bool, e *apiError) {
	var req createBatchRequest
	if e := decodeObject(body, &req); e != nil {
		return workflows.JobInput{}, false, e
	}
	job := createJobRequest{URL: req.ShowURL, jobOptionsRequest: req.jobOptionsRequest}
	if paused, e = job.takePaused(); e != nil {
		return workflows.JobInput{}, false, e
	}
	in, e = job.validate("show_url", guard)
	return in, paused, e
}

// decodeObject reads exactly one JSON object from body into dst, refusing
// unknown fields.
func decodeObject(body io.Reader, dst any) *apiError {
	// body is bounded by http.MaxBytesReader, so reading it whole is safe,
	// and an oversized body is a 413 whatever it holds.
	raw, err := io.ReadAll(body)
	if err != nil {
		return decodeError(err)
	}
	// encoding/json would take null as an empty object.
	if trimmed := bytes.TrimLeft(raw, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return newError(http.StatusBadRequest, codeInvalidJSON, "request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	// Anything after the object, even a second object, is an error.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return newError(http.StatusBadRequest, codeInvalidJSON,
			"request body must be a single JSON object with nothing after it")
	}
	return nil
}

// decodeError maps an encoding/json error to a response.
func decodeError(err error) *apiError {
	var (
		tooLarge  *http.MaxBytesError
		typeErr   *json.UnmarshalTypeError
		syntaxErr *json.SyntaxError
	)
	switch {
	case errors.As(err, &tooLarge):
		return newError(http.StatusRequestEntityTooLarge, codeBodyTooLarge,
			"request body must be at most %d bytes", tooLarge.Limit)
	case errors.As(err, &typeErr) && typeErr.Field != "":
		// Field is a dotted path that names an embedded struct by its Go
		// type (jobOptionsRequest.folder); request bodies are flat, so the
		// last element is the field the client sent.
		field := typeErr.Field[strings.LastIndexByte(typeErr.Field, '.')+1:]
		return fieldError(codeInvalidType, field, "%s must be %s", field, kindName(typeErr.Type))
	case errors.As(err, &typeErr):
		return newError(http.StatusBadRequest, codeInvalidJSON, "request body must be a JSON object")
	case errors.As(err, &syntaxErr):
		return newError(http.StatusBadRequest, codeInvalidJSON, "request body is not valid JSON: %s",
			strings.TrimPrefix(syntaxErr.Error(), "json: "))
	case errors.Is(err, io.EOF):
		return newError(http.StatusBadRequest, codeInvalidJSON, "request body must be a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return newError(http.StatusBadRequest, codeInvalidJSON, "request body is not valid JSON: unexpected end of input")
	}
	// encoding/json has no type for this one; its message is stable.
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if f, err := strconv.Unquote(field); err == nil {
			field = f
		}
		return fieldError(codeUnknownField, field, "%s: field is not supported", field)
	}
	return newError(http.StatusBadRequest, codeInvalidJSON, "request body is not valid JSON")
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.String:
		return "a string"
	default:
		return "a " + t.Kind().String()
	}
}

// validate checks every field and returns the job input it describes;
// urlField names the URL field in errors ("url", or "show_url" for a batch).
func (r *createJobRequest) validate(urlField string, guard *netguard.Guard) (workflows.JobInput, *apiError) {
	if r.URL == "" {
		return workflows.JobInput{}, fieldError(codeMissingField, urlField, "%s is required", urlField)
	}
	if e := checkURL(urlField, r.URL, guard); e != nil {
		return workflows.JobInput{}, e
	}
	if r.WebhookURL != "" {
		if e := checkURL("webhook_url", r.WebhookURL, guard); e != nil {
			return workflows.JobInput{}, e
		}
	}
	if e := r.referenceOnlyFields.check(); e != nil {
		return workflows.JobInput{}, e
	}
	folder, e := cleanFolder(r.Folder)
	if e != nil {
		return workflows.JobInput{}, e
	}
	format, e := resolveFormat(r.Format, r.AudioOnly)
	if e != nil {
		return workflows.JobInput{}, e
	}
	opts := jobOptions{
		AudioOnly: r.AudioOnly, MaxResolution: r.MaxResolution, Filename: r.Filename,
		DownloadThumbnail: r.DownloadThumbnail, ClipStart: r.ClipStart, ClipEnd: r.ClipEnd, MaxDuration: r.MaxDuration,
	}
	options, e := opts.validate(format, folder)
	if e != nil {
		return workflows.JobInput{}, e
	}
	if e := r.referenceOnlyFields.liveOptions(&options); e != nil {
		return workflows.JobInput{}, e
	}
	if options.Transcode, e = r.transcodeFields.parse(format); e != nil {
		return workflows.JobInput{}, e
	}
	var target *workflows.StorageTarget
	if isSet(r.Storage) {
		if target, e = parseStorage(r.Storage, "", "storage.", false, guard); e != nil {
			return workflows.JobInput{}, e
		}
	}
	return workflows.JobInput{
		Storage:               target,
		JobOptions:            options,
		URL:                   r.URL,
		WebhookURL:            r.WebhookURL,
		Folder:                folder,
		EnableProgressWebhook: r.EnableProgressWebhook,
		DownloadSubtitles:     r.DownloadSubtitles,
		Format:                format,
	}, nil
}

// checkURL accepts an absolute http or https URL with a host. A host that
// is visibly not public (a literal loopback or private address, localhost)
// is refused here so the client learns at once; names that resolve to such
// addresses are refused by the worker's dialer when it connects.
func checkURL(field, s string, guard *netguard.Guard) *apiError {
	if utf8.RuneCountInString(s) > maxURLChars {
		return fieldError(codeInvalidField, field, "%s must be at most %d characters", field, maxURLChars)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) {
		return fieldError(codeInvalidField, field, "%s must not contain whitespace or control characters", field)
	}
	if strings.ContainsFunc(s, invisible) {
		return fieldError(codeInvalidField, field, "%s must not contain invisible formatting characters", field)
	}
	u, err := url.Parse(s)
	if err != nil {
		return fieldError(codeInvalidField, field, "%s is not a valid URL", field)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fieldError(codeInvalidField, field, "%s must be an absolute http or https URL", field)
	}
	if u.Hostname() == "" {
		return fieldError(codeInvalidField, field, "%s must include a host", field)
	}
	if u.User != nil {
		// Credentials in a URL end up in logs and histories.
		return fieldError(codeInvalidField, field, "%s must not contain credentials", field)
	}
	if err := guard.CheckHost(u.Hostname()); err != nil {
		return fieldError(codeInvalidField, field, "%s must point to a public address: %v", field, err)
	}
	return nil
}

// invisible reports Unicode format characters (bidi overrides, zero-width
// spaces and joiners), which make a string read differently than it is.
func invisible(r rune) bool { return unicode.Is(unicode.Cf, r) }

// cleanFolder validates a folder prefix for object keys and trims its
// trailing slash. It must stay inside the bucket's key space as written:
// relative, no "." or ".." segments, no empty segments, no backslashes.
func cleanFolder(s string) (string, *apiError) {
	if s == "" {
		return "", nil
	}
	bad := func(format string, args ...any) (string, *apiError) {
		return "", fieldError(codeInvalidField, "folder", format, args...)
	}
	switch {
	case utf8.RuneCountInString(s) > maxFolderChars:
		return bad("folder must be at most %d characters", maxFolderChars)
	case strings.ContainsFunc(s, unicode.IsControl):
		return bad("folder must not contain control characters")
	case strings.ContainsFunc(s, invisible):
		// Bidi overrides and zero-width characters disguise key names.
		return bad("folder must not contain invisible formatting characters")
	case strings.Contains(s, `\`):
		return bad("folder must use / as separator, not backslashes")
	case strings.HasPrefix(s, "/"):
		return bad("folder must be relative (no leading /)")
	}
	s = strings.TrimSuffix(s, "/")
	for seg := range strings.SplitSeq(s, "/") {
		switch seg {
		case "":
			return bad("folder must not contain empty path segments")
		case ".", "..":
			return bad("folder must not contain . or .. path segments")
		}
	}
	return s, nil
}
