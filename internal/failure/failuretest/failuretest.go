// Package failuretest checks the typed failures of package failure in
// tests.
package failuretest

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
)

// Type is the type of err, which must be a Temporal application error.
func Type(t *testing.T, err error) string {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	return appErr.Type()
}
