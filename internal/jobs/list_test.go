package jobs

import (
	"context"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/mocks"

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

// An offset past one visibility page is reached in pages of skipPage.
func TestListOffsetSkipsInLargePages(t *testing.T) {
	c := &mocks.Client{}
	c.On("CountWorkflow", mock.Anything, mock.Anything).Return(&workflowservice.CountWorkflowExecutionsResponse{Count: 5000}, nil).Once()
	many := func(n int) []*workflowpb.WorkflowExecutionInfo {
		out := make([]*workflowpb.WorkflowExecutionInfo, n)
		for i := range out {
			out[i] = &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: workflows.JobWorkflowID(testJobID)}}
		}
		return out
	}
	for _, step := range []struct {
		size       int32
		in, out    string
		executions int
	}{{1000, "", "a", 1000}, {500, "a", "b", 500}, {20, "b", "c", 20}} {
		c.On("ListWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.ListWorkflowExecutionsRequest) bool {
			return r.PageSize == step.size && string(r.NextPageToken) == step.in
		})).Return(&workflowservice.ListWorkflowExecutionsResponse{Executions: many(step.executions), NextPageToken: []byte(step.out)}, nil).Once()
	}
	page, err := List(context.Background(), c, Filter{}, 20, 1500, nil)
	require.NoError(t, err)
	c.AssertExpectations(t)
	require.Len(t, page.Jobs, 20)
	require.EqualValues(t, 5000, page.Total)
	require.Equal(t, 1500, page.Offset)
	require.Equal(t, EncodeCursor([]byte("c")), *page.NextCursor)
}

func TestQueryScopesToTheTenant(t *testing.T) {
	q, err := Query(Filter{Status: workflows.StatusPending, Tenant: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "WorkflowType = 'Job' AND ExecutionStatus = 'Running' AND RiptideStatus = 'Pending' AND RiptideTenant = 'acme'"; q != want {
		t.Errorf("Query = %q, want %q", q, want)
	}
	// Workflows from before tenants have no RiptideTenant: the default
	// tenant's.
	if got, want := TenantClause(workflows.DefaultTenant), "(RiptideTenant = 'default' OR RiptideTenant IS NULL)"; got != want {
		t.Errorf("TenantClause(default) = %q, want %q", got, want)
	}
	if got := TenantClause("a'b"); got != `RiptideTenant = 'a\'b'` {
		t.Errorf("TenantClause quotes: %q", got)
	}
}
