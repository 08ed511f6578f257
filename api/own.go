package api

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/riptide-dev/riptide/internal/codec"
	"github.com/riptide-dev/riptide/workflows"
)

// Tenant isolation of the routes that name a job or batch: before the
// handler runs, ownJob and ownBatch read the workflow's RiptideTenant
// search attribute and answer another tenant's workflow exactly as a
// missing one (404, same body), so ids do not leak. A workflow without the
// attribute (started before tenants existed) is the default tenant's.
//
// The check's DescribeWorkflowExecution answer (or error) is handed to the
// handler's own first describe of the same workflow (describeOnce), so a
// read costs the same calls as before.

type describeKey struct{}

// describeMemo is one describe answer waiting for the handler.
type describeMemo struct {
	mu     sync.Mutex
	id     string
	resp   *workflowservice.DescribeWorkflowExecutionResponse
	err    error
	served bool
}

// describeOnce is the API's Temporal client: the first describe of the
// workflow the ownership check read gets the check's answer.
type describeOnce struct{ client.Client }

func (d describeOnce) DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	if m, ok := ctx.Value(describeKey{}).(*describeMemo); ok && runID == "" {
		m.mu.Lock()
		hit := !m.served && m.id == workflowID
		m.served = m.served || hit
		m.mu.Unlock()
		if hit {
			return m.resp, m.err
		}
	}
	//lint:ignore SA1019 the handlers' calls, passed on.
	return d.Client.DescribeWorkflowExecution(ctx, workflowID, runID)
}

// tenantOfWorkflow is the tenant recorded on a described workflow.
func tenantOfWorkflow(resp *workflowservice.DescribeWorkflowExecutionResponse) string {
	p, ok := resp.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[workflows.SearchAttrTenant]
	if !ok {
		return workflows.DefaultTenant
	}
	var t string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &t); err != nil || t == "" {
		return workflows.DefaultTenant
	}
	return t
}

// describedTenant describes workflowID and returns its tenant, with ctx
// carrying the answer for the caller's own describe of it.
func (s *server) describedTenant(ctx context.Context, workflowID string) (context.Context, string, error) {
	//lint:ignore SA1019 DescribeWorkflow(...).RawResponse is this same call; fakes mock this method.
	resp, err := s.Deps.Temporal.DescribeWorkflowExecution(ctx, workflowID, "")
	ctx = context.WithValue(ctx, describeKey{}, &describeMemo{id: workflowID, resp: resp, err: err})
	if err != nil {
		return ctx, "", err
	}
	return ctx, tenantOfWorkflow(resp), nil
}

// ownJob guards a /jobs/{id}… route.
func (s *server) ownJob(c *gin.Context) {
	s.own(c, workflows.JobWorkflowID, "job not found")
}

// ownBatch guards a /batch(es)/{id}… route.
func (s *server) ownBatch(c *gin.Context) {
	s.own(c, workflows.BatchWorkflowID, "batch not found")
}

func (s *server) own(c *gin.Context, workflowID func(string) string, notFound string) {
	id, ok := parseJobID(c.Param("id"))
	if !ok {
		c.Next() // the handler refuses the id
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), temporalTimeout)
	wid := workflowID(id)
	//lint:ignore SA1019 DescribeWorkflow(...).RawResponse is this same call; fakes mock this method.
	resp, err := s.Deps.Temporal.DescribeWorkflowExecution(ctx, wid, "")
	cancel()
	var nf *serviceerror.NotFound
	if err == nil && tenantOfWorkflow(resp) != tenantOf(c) {
		abort(c, newError(http.StatusNotFound, codeNotFound, "%s", notFound))
		return
	}
	if err != nil && !errors.As(err, &nf) {
		// Temporal failing: no answer without the check.
		s.Logger.ErrorContext(c.Request.Context(), "Reading workflow's tenant failed", "workflow_id", wid, "error", err)
		abort(c, temporalError(err))
		return
	}
	m := &describeMemo{id: wid, resp: resp, err: err}
	c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), describeKey{}, m))
	c.Next()
}

// DataConverter is the wrapped client's (codec.Of), so handlers decoding
// raw payloads through s.Temporal still decrypt them.
func (d describeOnce) DataConverter() converter.DataConverter { return codec.Of(d.Client) }
