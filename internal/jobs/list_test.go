package jobs

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/workflows"
)

func TestQueryFilters(t *testing.T) {
	q, err := Query(Filter{})
	require.NoError(t, err)
	require.Equal(t, "WorkflowType = 'Job'", q)

	q, err = Query(Filter{Status: workflows.StatusProcessing, Folder: "shows/a", BatchID: "b-1"})
	require.NoError(t, err)
	require.Equal(t, "WorkflowType = 'Job' AND ExecutionStatus = 'Running' AND RiptideStatus = 'Processing'"+
		" AND RiptideFolder = 'shows/a' AND RiptideBatchID = 'b-1'", q)

	// Failed and Cancelled follow Temporal's verdict, as GET /jobs/{id} does.
	q, err = Query(Filter{Status: workflows.StatusFailed})
	require.NoError(t, err)
	require.Contains(t, q, "ExecutionStatus IN ('Failed', 'Terminated', 'TimedOut')")
	q, err = Query(Filter{Status: workflows.StatusCancelled})
	require.NoError(t, err)
	require.Contains(t, q, "ExecutionStatus = 'Canceled'")

	_, err = Query(Filter{Status: "processing"})
	require.Error(t, err, "statuses are canonical here; the API folds case")
}

func TestEveryStatusHasAClause(t *testing.T) {
	for _, st := range Statuses {
		_, err := Query(Filter{Status: st})
		require.NoError(t, err, st)
	}
	require.Len(t, statusClauses, len(Statuses))
}

// TestQueryQuotesValues: a quote or backslash in a value stays inside its
// literal, so a folder cannot add a condition.
func TestQueryQuotesValues(t *testing.T) {
	q, err := Query(Filter{Folder: `x' OR WorkflowType != 'Job`})
	require.NoError(t, err)
	require.Equal(t, `WorkflowType = 'Job' AND RiptideFolder = 'x\' OR WorkflowType != \'Job'`, q)

	q, err = Query(Filter{Folder: `a\' OR 'b`})
	require.NoError(t, err)
	require.Equal(t, `WorkflowType = 'Job' AND RiptideFolder = 'a\\\' OR \'b'`, q)
}

func TestCursorRoundTrip(t *testing.T) {
	token := []byte{0, 1, 2, 0xfe, 0xff, '{', '"'}
	c := EncodeCursor(token)
	require.NotContains(t, c, "=")
	require.NotContains(t, c, "+")
	require.NotContains(t, c, "/")
	got, err := DecodeCursor(c)
	require.NoError(t, err)
	require.Equal(t, token, got)

	// One character changed, a token without its checksum, a truncation.
	flipped := []byte(c)
	flipped[2] ^= 1
	raw := base64.RawURLEncoding.EncodeToString(token)
	for _, bad := range []string{"", "!!!", "a b", "abc=def", "%%", string(flipped), raw, c[:len(c)-2]} {
		_, err := DecodeCursor(bad)
		require.ErrorIs(t, err, ErrBadCursor, bad)
	}
}

func TestRetryJobIDIsStableAndDistinct(t *testing.T) {
	id := "550e8400-e29b-41d4-a716-446655440000"
	require.Equal(t, workflows.RetryJobID(id), workflows.RetryJobID(id))
	require.NotEqual(t, id, workflows.RetryJobID(id))
	require.NotEqual(t, workflows.RetryJobID(id), workflows.RetryJobID(workflows.RetryJobID(id)))
	require.Len(t, workflows.RetryJobID(id), 36)
}
