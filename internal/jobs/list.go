package jobs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/riptide-dev/riptide/internal/codec"
	"github.com/riptide-dev/riptide/workflows"
)

// Statuses are the job statuses GET /jobs filters on.
var Statuses = []string{
	workflows.StatusPending, workflows.StatusProcessing, workflows.StatusCompleted, workflows.StatusFailed,
	workflows.StatusWarning, workflows.StatusSkipped, workflows.StatusCancelled,
}

// ErrBadCursor means a list cursor was not one List returned.
var ErrBadCursor = errors.New("invalid cursor")

// Filter narrows a job list; empty fields match every job.
type Filter struct {
	// Status is one of Statuses.
	Status  string
	Folder  string
	BatchID string
	// Tenant keeps the jobs of one tenant (TenantClause); empty: every
	// tenant's.
	Tenant string
}

// TenantClause matches the workflows of tenant: those whose RiptideTenant
// says so and, for the default tenant, those started before riptide
// recorded tenants (no RiptideTenant at all).
func TenantClause(tenant string) string {
	c := workflows.SearchAttrTenant + " = " + quote(tenant)
	if tenant == workflows.DefaultTenant {
		return "(" + c + " OR " + workflows.SearchAttrTenant + " IS NULL)"
	}
	return c
}

// Page is one page of a job list: the hosted service's jobs, total, limit
// and offset, and riptide's cursor.
type Page struct {
	Jobs []*View `json:"jobs"`
	// Total is how many jobs match the filter.
	Total  int64 `json:"total"`
	Limit  int   `json:"limit"`
	Offset int   `json:"offset"`
	// NextCursor fetches the next page; null on the last one.
	NextCursor *string `json:"next_cursor"`
}

// MaxOffset bounds List's offset: reaching it reads offset jobs from the
// visibility store and drops them, so deep pages take the cursor instead.
const MaxOffset = 10_000

// skipPage is the page size List reads and drops to reach an offset.
const skipPage = 1000

// statusClauses say, in visibility terms, when a job has each status as
// View reports it. A finished job's status is the one it recorded in
// RiptideStatus, except that Temporal's verdict wins for failed, terminated,
// timed out and cancelled workflows, so those need no search attribute
// (and match jobs started before riptide recorded one). A workflow still
// running after its outcome (delivering its last webhook) already has its
// final status.
var statusClauses = map[string]string{
	workflows.StatusPending:    "ExecutionStatus = 'Running' AND RiptideStatus = 'Pending'",
	workflows.StatusProcessing: "ExecutionStatus = 'Running' AND RiptideStatus = 'Processing'",
	workflows.StatusCompleted:  "ExecutionStatus IN ('Running', 'Completed') AND RiptideStatus = 'Completed'",
	workflows.StatusWarning:    "ExecutionStatus IN ('Running', 'Completed') AND RiptideStatus = 'Warning'",
	workflows.StatusSkipped:    "ExecutionStatus IN ('Running', 'Completed') AND RiptideStatus = 'Skipped'",
	workflows.StatusFailed: "(ExecutionStatus IN ('Failed', 'Terminated', 'TimedOut') OR " +
		"(ExecutionStatus = 'Running' AND RiptideStatus = 'Failed'))",
	workflows.StatusCancelled: "(ExecutionStatus = 'Canceled' OR " +
		"(ExecutionStatus = 'Running' AND RiptideStatus = 'Cancelled'))",
}

// Query is the visibility query listing the jobs f matches. Values are
// quoted as string literals, so no filter value can change the query.
func Query(f Filter) (string, error) {
	parts := []string{"WorkflowType = 'Job'"}
	if f.Status != "" {
		clause, ok := statusClauses[f.Status]
		if !ok {
			return "", fmt.Errorf("unknown status %q", f.Status)
		}
		parts = append(parts, clause)
	}
	if f.Folder != "" {
		parts = append(parts, workflows.SearchAttrFolder+" = "+quote(f.Folder))
	}
	if f.BatchID != "" {
		parts = append(parts, workflows.SearchAttrBatchID+" = "+quote(f.BatchID))
	}
	if f.Tenant != "" {
		parts = append(parts, TenantClause(f.Tenant))
	}
	return strings.Join(parts, " AND "), nil
}

// quote makes s a string literal of Temporal's list query language, whose
// parser takes backslash escapes inside single quotes.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// A cursor is Temporal's opaque next-page token, base64url-encoded, with a
// checksum: the server does not refuse a garbled token, it fails with an
// internal error the client retries until its deadline, so a damaged
// cursor must be caught here.
const cursorSum = 8

func cursorChecksum(token []byte) []byte {
	sum := sha256.Sum256(append([]byte("riptide-cursor-v1:"), token...))
	return sum[:cursorSum]
}

// EncodeCursor turns a next-page token into a URL-safe cursor.
func EncodeCursor(token []byte) string {
	return base64.RawURLEncoding.EncodeToString(append(slices.Clone(token), cursorChecksum(token)...))
}

// DecodeCursor returns the page token of cursor, ErrBadCursor when it is not
// one EncodeCursor made.
func DecodeCursor(cursor string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(b) <= cursorSum {
		return nil, ErrBadCursor
	}
	token, sum := b[:len(b)-cursorSum], b[len(b)-cursorSum:]
	if !bytes.Equal(sum, cursorChecksum(token)) {
		return nil, ErrBadCursor
	}
	return token, nil
}

// List returns one page of jobs matching f, from Temporal's visibility
// store: running jobs first, newest first, then finished jobs, most
// recently finished first (the order of Temporal's SQL visibility). Views
// come from the memo in the list results, without one Describe per job, so
// they lack the live progress inside a stage that Get adds.
//
// The page starts after token (a cursor) or, without one, offset jobs
// into the list: visibility has no offset, so the jobs before it are read
// in large pages and dropped (offset is at most MaxOffset). Total is
// CountWorkflowExecutions of the same query.
func List(ctx context.Context, c client.Client, f Filter, limit, offset int, token []byte) (*Page, error) {
	q, err := Query(f)
	if err != nil {
		return nil, err
	}
	if offset < 0 || offset > MaxOffset || (offset > 0 && len(token) > 0) {
		return nil, fmt.Errorf("offset %d with a cursor of %d bytes", offset, len(token))
	}
	page := &Page{Jobs: make([]*View, 0, limit), Limit: limit, Offset: offset}
	count, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: q})
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	page.Total = count.GetCount()
	// Read up to offset+limit jobs, keeping those from offset on; the last
	// read ends exactly after the page, so its token is the next cursor.
	skip := offset
	for {
		// Never more than the page still needs, so no job is read past.
		size := limit - len(page.Jobs)
		if skip > 0 {
			size = min(skip, skipPage)
		}
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			PageSize: int32(size), NextPageToken: token, Query: q,
		})
		if err != nil {
			var invalid *serviceerror.InvalidArgument
			if len(token) > 0 && offset == 0 && errors.As(err, &invalid) {
				// The query is ours and valid; the token is what was refused.
				return nil, ErrBadCursor
			}
			return nil, fmt.Errorf("list jobs: %w", err)
		}
		execs := resp.GetExecutions()
		if skip > 0 {
			// A server may answer fewer than asked before the end.
			drop := min(skip, len(execs))
			skip -= drop
			execs = execs[drop:]
		}
		for _, info := range execs {
			id, _ := workflows.ParseJobWorkflowID(info.GetExecution().GetWorkflowId())
			v, err := viewOfInfo(codec.Of(c), id, info, nil)
			if err != nil {
				return nil, err
			}
			page.Jobs = append(page.Jobs, v)
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 || len(page.Jobs) == limit {
			break
		}
	}
	if len(token) > 0 {
		s := EncodeCursor(token)
		page.NextCursor = &s
	}
	return page, nil
}
