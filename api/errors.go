package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
)

// Error codes of the "code" key. Clients branch on them; messages (the
// "error" key) are for people and may change.
const (
	codeUnauthorized        = "unauthorized"
	codeInvalidJSON         = "invalid_json"
	codeUnknownField        = "unknown_field"
	codeNotSupported        = "not_supported"
	codeInvalidType         = "invalid_type"
	codeMissingField        = "missing_field"
	codeInvalidField        = "invalid_field"
	codeBodyTooLarge        = "body_too_large"
	codeNotFound            = "not_found"
	codeMethodNotAllowed    = "method_not_allowed"
	codeConflict            = "conflict"
	codeUnreadableSource    = "unreadable_source"
	codeIdempotencyConflict = "idempotency_conflict"
	codeRateLimited         = "rate_limited"
	codeTemporalUnavailable = "temporal_unavailable"
	codeInternal            = "internal_error"
	codeTimeout             = "timeout"
	codeStorageError        = "storage_error"
)

// apiError is the body of every error response, the hosted service's
// shape plus riptide's additions: "error" is the human-readable message (a
// client shows it to its user), "code" the machine code, "field" the JSON
// field at fault when there is exactly one, and "message" repeats "error"
// for riptide's earlier clients, which read the text there.
type apiError struct {
	Status  int
	Code    string
	Message string
	Field   string
}

func (e *apiError) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Error   string `json:"error"`
		Code    string `json:"code"`
		Field   string `json:"field,omitempty"`
		Message string `json:"message"`
	}{e.Message, e.Code, e.Field, e.Message})
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func newError(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// fieldError is a 400 about one request field.
func fieldError(code, field, format string, args ...any) *apiError {
	e := newError(http.StatusBadRequest, code, format, args...)
	e.Field = field
	return e
}

// unauthorized is the 401 of a request without a valid x-api-key, worded
// as the hosted service words it.
func unauthorized(missing bool) *apiError {
	if missing {
		return newError(http.StatusUnauthorized, codeUnauthorized, "Missing x-api-key header")
	}
	return newError(http.StatusUnauthorized, codeUnauthorized, "Invalid API Key")
}

func abort(c *gin.Context, e *apiError) {
	c.AbortWithStatusJSON(e.Status, e)
}

// temporalError maps a failed Temporal call to a response: 503 when Temporal
// cannot be reached or is overloaded (worth retrying), 409 for a duplicate
// job, 500 for anything else, which is our bug or our configuration.
func temporalError(err error) *apiError {
	var (
		unavailable   *serviceerror.Unavailable
		deadline      *serviceerror.DeadlineExceeded
		exhausted     *serviceerror.ResourceExhausted
		nsUnavailable *serviceerror.NamespaceUnavailable
		canceled      *serviceerror.Canceled
		started       *serviceerror.WorkflowExecutionAlreadyStarted
	)
	switch {
	case errors.As(err, &started):
		return newError(http.StatusConflict, codeConflict, "a job with this id already exists")
	case errors.As(err, &unavailable), errors.As(err, &deadline), errors.As(err, &exhausted),
		errors.As(err, &nsUnavailable), errors.As(err, &canceled),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return newError(http.StatusServiceUnavailable, codeTemporalUnavailable, "Temporal is unavailable; retry later")
	default:
		return newError(http.StatusInternalServerError, codeInternal, "internal error")
	}
}
