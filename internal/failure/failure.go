// Package failure builds the Temporal application errors riptide's
// activities and the libraries under them fail with, typed with the
// workflows package's error types so the workflow can tell a final failure
// from one worth retrying.
package failure

import (
	"fmt"
	"time"

	"github.com/riptide-dev/riptide/workflows"
	"go.temporal.io/sdk/temporal"
)

// Permanent is a non-retryable failure of type errType.
func Permanent(errType, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), errType, nil)
}

// RateLimited is a retryable failure of a rate-limited or bot-checked
// request, retried after delay (0: the retry policy's backoff).
func RateLimited(cause error, delay time.Duration, format string, args ...any) error {
	return temporal.NewApplicationErrorWithOptions(fmt.Sprintf(format, args...), workflows.ErrTypeRateLimited,
		temporal.ApplicationErrorOptions{Cause: cause, NextRetryDelay: delay})
}

// Technical is a retryable failure caused by cause (which may be nil).
func Technical(cause error, format string, args ...any) error {
	return temporal.NewApplicationErrorWithCause(fmt.Sprintf(format, args...), workflows.ErrTypeTechnical, cause)
}
