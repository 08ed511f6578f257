package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/riptide-dev/riptide/internal/tenants"
	"github.com/riptide-dev/riptide/workflows"
)

// Tenant isolation over the real router: every registered route, called
// with tenant B's key, against tenant A's job and batch. A route added
// without a case here fails TestEveryRouteIsolatesTenants.

const (
	keyA, keyB = "sk_tenant_a_key", "sk_tenant_b_key"
	// jobA and batchA are tenant a's; missingID is nobody's.
	jobA      = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
	batchA    = "abababab-abab-4bab-8bab-abababababab"
	jobB      = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
	missingID = "99999999-9999-4999-8999-999999999999"
)

// tenantsHarness is the harness's router with tenants a and b.
func tenantsHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, nil)
	set, err := tenants.Build(nil, &tenants.File{Tenants: []tenants.Tenant{
		{ID: "a", Keys: []string{tenants.HashKey(keyA)}},
		{ID: "b", Keys: []string{tenants.HashKey(keyB)}},
	}})
	require.NoError(t, err)
	h.router = NewRouter(Deps{Temporal: h.tc, TaskQueue: testQueue, Store: h.store, Tenants: tenants.StaticSet(set),
		MaxBodyBytes: testMaxBytes})
	return h
}

// describedAs is a describe answer of workflow id owned by tenant ("":
// no tenant attribute, as before tenants).
func describedAs(t *testing.T, id, tenant string) *workflowservice.DescribeWorkflowExecutionResponse {
	t.Helper()
	dc := converter.GetDefaultDataConverter()
	var memo *commonpb.Memo
	if strings.HasPrefix(id, workflows.BatchWorkflowID("")) {
		p, err := dc.ToPayload(workflows.BatchState{BatchID: strings.TrimPrefix(id, workflows.BatchWorkflowID("")),
			Status: workflows.BatchRunning, Resolved: true, Total: 1})
		require.NoError(t, err)
		memo = &commonpb.Memo{Fields: map[string]*commonpb.Payload{workflows.BatchMemoKey: p}}
	} else {
		p, err := dc.ToPayload(workflows.JobState{JobID: strings.TrimPrefix(id, "job-"), Status: workflows.StatusFailed})
		require.NoError(t, err)
		memo = &commonpb.Memo{Fields: map[string]*commonpb.Payload{workflows.MemoKey: p}}
	}
	info := &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: "run-1"},
		Status:    enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
		Memo:      memo,
	}
	if tenant != "" {
		p, err := dc.ToPayload(tenant)
		require.NoError(t, err)
		info.SearchAttributes = &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{workflows.SearchAttrTenant: p}}
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: info}
}

// ownedByA answers describes: a's job and batch (and its episodes) are
// a's, everything else is missing.
func ownedByA(t *testing.T, h *harness) {
	// A's subscription, whose state memo names its tenant.
	h.tc.On("DescribeWorkflow", mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, id, _ string) (*client.WorkflowExecutionDescription, error) {
			if id != workflows.SubscriptionWorkflowID(jobA) {
				return nil, serviceerror.NewNotFound("workflow not found")
			}
			p, err := converter.GetDefaultDataConverter().ToPayload(workflows.SubscriptionState{SubscriptionID: jobA, Tenant: "a"})
			require.NoError(t, err)
			return &client.WorkflowExecutionDescription{RawResponse: &workflowservice.DescribeWorkflowExecutionResponse{
				WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
					Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: "run-1"},
					Status:    enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
					Memo:      &commonpb.Memo{Fields: map[string]*commonpb.Payload{workflows.SubscriptionMemoKey: p}},
				}}}, nil
		}).Maybe()
	h.tc.On("DescribeWorkflowExecution", mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
			switch id {
			case workflows.JobWorkflowID(jobA), workflows.BatchWorkflowID(batchA):
				return describedAs(t, id, "a"), nil
			}
			return nil, serviceerror.NewNotFound("workflow not found")
		}).Maybe()
}

type isoCase struct {
	path, body string
	// kind: "object" (B gets the 404 of a missing id), "list" (B's
	// queries are scoped to b), "create" (the start records b), "open"
	// (no key, no tenant data), "stateless" (a key, but the route reads
	// no workflow: it transforms the body it gets), "self" (the route acts
	// on the caller's own tenant entity: it never names another tenant's).
	kind string
}

// isoCases has one case per registered route (method and gin path).
var isoCases = map[string]isoCase{
	"GET /healthz":           {kind: "open"},
	"GET /openapi.json":      {kind: "open"},
	"GET /":                  {kind: "open"},
	"GET /ui/*filepath":      {kind: "open"},
	"POST /jobs":             {path: "/jobs", body: `{"url":"https://example.com/v.mp4"}`, kind: "create"},
	"POST /jobs/bulk":        {path: "/jobs/bulk", body: `{"jobs":[{"url":"https://example.com/v.mp4"}]}`, kind: "create"},
	"POST /metadata":         {path: "/metadata", body: `{"url":"https://example.com/v.mp4"}`, kind: "create"},
	"POST /batches":          {path: "/batches", body: `{"show_url":"https://example.com/feed.xml"}`, kind: "create"},
	"GET /jobs":              {path: "/jobs", kind: "list"},
	"GET /jobs/:id":          {path: "/jobs/{job}", kind: "object"},
	"DELETE /jobs/:id":       {path: "/jobs/{job}", kind: "object"},
	"POST /jobs/:id/retry":   {path: "/jobs/{job}/retry", kind: "object"},
	"DELETE /jobs/:id/file":  {path: "/jobs/{job}/file", kind: "object"},
	"GET /jobs/:id/webhooks": {path: "/jobs/{job}/webhooks", kind: "object"},
	"POST /jobs/:id/webhooks/:event_id/redeliver": {path: "/jobs/{job}/webhooks/evt_{job}_job_completed/redeliver", kind: "object"},
	"GET /batch/:id":                {path: "/batch/{batch}", kind: "object"},
	"DELETE /batch/:id":             {path: "/batch/{batch}", kind: "object"},
	"PATCH /batch/:id/jobs":         {path: "/batch/{batch}/jobs", body: `{"renames":[{"job_id":"x","filename":"y.mp4"}]}`, kind: "object"},
	"POST /batch/:id/start":         {path: "/batch/{batch}/start", kind: "object"},
	"POST /batch/:id/pause":         {path: "/batch/{batch}/pause", kind: "object"},
	"GET /batches/:id":              {path: "/batches/{batch}", kind: "object"},
	"DELETE /batches/:id":           {path: "/batches/{batch}", kind: "object"},
	"PATCH /batches/:id/jobs":       {path: "/batches/{batch}/jobs", body: `{"renames":[{"job_id":"x","filename":"y.mp4"}]}`, kind: "object"},
	"POST /batches/:id/start":       {path: "/batches/{batch}/start", kind: "object"},
	"POST /batches/:id/pause":       {path: "/batches/{batch}/pause", kind: "object"},
	"GET /dashboard/stats":          {path: "/dashboard/stats", kind: "list"},
	"GET /dashboard/jobs":           {path: "/dashboard/jobs", kind: "list"},
	"GET /dashboard/batches":        {path: "/dashboard/batches", kind: "list"},
	"GET /dashboard/cluster":        {path: "/dashboard/cluster", kind: "list"},
	"GET /dashboard/daily":          {path: "/dashboard/daily", kind: "list"},
	"GET /usage":                    {path: "/usage", kind: "list"},
	"POST /user/s3":                 {path: "/user/s3", body: `{"bucket":"b","access_key":"k","secret_key":"s","endpoint":"http://127.0.0.1:1"}`, kind: "self"},
	"DELETE /user/s3":               {path: "/user/s3", kind: "self"},
	"POST /user/bucket":             {path: "/user/bucket", body: `{"bucket":"b","access_key":"k","secret_key":"s","endpoint":"http://127.0.0.1:1"}`, kind: "self"},
	"DELETE /user/bucket":           {path: "/user/bucket", kind: "self"},
	"POST /user/oss":                {path: "/user/oss", body: `{"bucket":"b","access_key":"k","secret_key":"s","region":"cn-hangzhou"}`, kind: "self"},
	"DELETE /user/oss":              {path: "/user/oss", kind: "self"},
	"POST /user/blob":               {path: "/user/blob", body: `{"account_name":"a","account_key":"a2V5","container":"c"}`, kind: "self"},
	"DELETE /user/blob":             {path: "/user/blob", kind: "self"},
	"POST /user/gcs":                {path: "/user/gcs", body: `{"bucket":"b","service_account_json":"{}"}`, kind: "self"},
	"DELETE /user/gcs":              {path: "/user/gcs", kind: "self"},
	"POST /subscriptions":           {path: "/subscriptions", body: `{"url":"https://example.com/feed.xml","every":"1h"}`, kind: "create"},
	"GET /subscriptions":            {path: "/subscriptions", kind: "list"},
	"GET /subscriptions/:id":        {path: "/subscriptions/{job}", kind: "object"},
	"PATCH /subscriptions/:id":      {path: "/subscriptions/{job}", body: `{"paused":true}`, kind: "object"},
	"DELETE /subscriptions/:id":     {path: "/subscriptions/{job}", kind: "object"},
	"POST /subscriptions/:id/check": {path: "/subscriptions/{job}/check", kind: "object"},
	"POST /codec/decode":            {path: "/codec/decode", body: `{"payloads":[]}`, kind: "stateless"},
	"POST /codec/encode":            {path: "/codec/encode", body: `{"payloads":[]}`, kind: "stateless"},
}

func routeKey(r gin.RouteInfo) string { return r.Method + " " + r.Path }

func TestEveryRouteHasAnIsolationCase(t *testing.T) {
	h := tenantsHarness(t)
	seen := map[string]bool{}
	for _, r := range h.router.(*gin.Engine).Routes() {
		seen[routeKey(r)] = true
		_, ok := isoCases[routeKey(r)]
		require.True(t, ok, "route %s has no tenant isolation case in isoCases", routeKey(r))
	}
	for k := range isoCases {
		require.True(t, seen[k], "isoCases names %s, which is not a route", k)
	}
}

func fill(path, job, batch string) string {
	return strings.NewReplacer("{job}", job, "{batch}", batch).Replace(path)
}

func TestEveryRouteIsolatesTenants(t *testing.T) {
	for key, tc := range isoCases {
		method := strings.Fields(key)[0]
		t.Run(key, func(t *testing.T) {
			switch tc.kind {
			case "object":
				// B on A's object answers exactly what a missing id does.
				h := tenantsHarness(t)
				ownedByA(t, h)
				got := h.do(method, fill(tc.path, jobA, batchA), tc.body, keyB)
				missing := h.do(method, fill(tc.path, missingID, missingID), tc.body, keyB)
				require.Equal(t, http.StatusNotFound, got.Code, got.Body.String())
				require.Equal(t, missing.Code, got.Code)
				// The same body, but for the id an error message may echo.
				echoed := strings.NewReplacer(jobA, missingID, batchA, missingID).Replace(got.Body.String())
				require.JSONEq(t, missing.Body.String(), echoed, "another tenant's id reads as a missing one")
				m := decodeBody(t, got)
				require.Equal(t, codeNotFound, m["code"])
				for _, call := range []string{"ExecuteWorkflow", "CancelWorkflow", "SignalWorkflow", "UpdateWorkflow", "TerminateWorkflow"} {
					h.tc.AssertNotCalled(t, call)
				}
			case "list":
				h := tenantsHarness(t)
				queries := scopedLists(t, h)
				rec := h.do(method, tc.path, "", keyB)
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				qs := queries()
				require.NotEmpty(t, qs, "the route reads visibility")
				for _, q := range qs {
					require.Contains(t, q, "RiptideTenant = 'b'", "every visibility query is scoped to the caller")
					require.NotContains(t, q, "'a'")
				}
				body := rec.Body.String()
				require.NotContains(t, body, jobA)
				switch tc.path {
				case "/jobs", "/dashboard/jobs":
					require.Contains(t, body, jobB, "the caller's own job is listed")
				case "/usage":
					require.Equal(t, "b", decodeBody(t, rec)["client_name"])
				}
			case "create":
				h := tenantsHarness(t)
				starts := recordStarts(t, h)
				h.do(method, tc.path, tc.body, keyB)
				got := starts()
				require.NotEmpty(t, got, "the route starts a workflow")
				for _, o := range got {
					require.Equal(t, "b", tenantAttr(o), "started as the caller's tenant")
				}
			case "self":
				h := tenantsHarness(t)
				h.tc.On("QueryWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
					Return(nil, serviceerror.NewNotFound("workflow not found")).Maybe()
				h.tc.On("UpdateWorkflow", mock.Anything, mock.Anything).
					Return(nil, serviceerror.NewNotFound("workflow not found")).Maybe()
				rec := h.do(method, tc.path, tc.body, keyB)
				require.Less(t, rec.Code, 500, rec.Body.String())
				for _, call := range h.tc.Calls {
					for _, arg := range call.Arguments {
						id, _ := arg.(string)
						if o, ok := arg.(client.UpdateWorkflowOptions); ok {
							id = o.WorkflowID
						}
						if strings.HasPrefix(id, "tenant-") {
							require.Equal(t, workflows.TenantWorkflowID("b"), id, "%s names another tenant's entity", call.Method)
						}
					}
				}
			case "stateless":
				h := tenantsHarness(t)
				rec := h.do(method, tc.path, tc.body, keyB)
				require.Less(t, rec.Code, 500, rec.Body.String())
				for _, call := range []string{"DescribeWorkflowExecution", "ListWorkflow", "QueryWorkflow", "GetWorkflowHistory"} {
					h.tc.AssertNotCalled(t, call)
				}
			case "open":
			default:
				t.Fatalf("unknown kind %q", tc.kind)
			}
		})
	}
}

// scopedLists answers list and count queries with a's job unless the
// query is scoped to b, and records them.
func scopedLists(t *testing.T, h *harness) func() []string {
	var mu sync.Mutex
	var qs []string
	record := func(q string) bool {
		mu.Lock()
		defer mu.Unlock()
		qs = append(qs, q)
		return strings.Contains(q, "RiptideTenant = 'b'")
	}
	h.tc.ExpectedCalls = nil // the harness's own list answers would hide unscoped queries
	h.tc.On("ListWorkflow", mock.Anything, mock.Anything).Return(
		func(_ context.Context, r *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
			id, tenant := jobA, "a"
			if record(r.GetQuery()) {
				id, tenant = jobB, "b"
			}
			if strings.Contains(r.GetQuery(), workflows.DeleteFileWorkflowType) {
				return &workflowservice.ListWorkflowExecutionsResponse{}, nil
			}
			info := listInfo(t, id, workflows.JobState{JobID: id, Status: workflows.StatusCompleted, FileSizeBytes: 5}, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED)
			p, _ := converter.GetDefaultDataConverter().ToPayload(tenant)
			info.SearchAttributes = &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{workflows.SearchAttrTenant: p}}
			return &workflowservice.ListWorkflowExecutionsResponse{Executions: []*workflowpb.WorkflowExecutionInfo{info}}, nil
		}).Maybe()
	h.tc.On("CountWorkflow", mock.Anything, mock.Anything).Return(
		func(_ context.Context, r *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error) {
			if strings.Contains(r.GetQuery(), "GROUP BY") {
				record(r.GetQuery())
				return nil, serviceerror.NewInvalidArgument("no group by")
			}
			if record(r.GetQuery()) {
				return &workflowservice.CountWorkflowExecutionsResponse{Count: 1}, nil
			}
			return &workflowservice.CountWorkflowExecutionsResponse{Count: 99}, nil
		}).Maybe()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), qs...)
	}
}

// recordStarts records the options of every workflow start and refuses
// it (Temporal unavailable): the tenant it would have carried is what the
// test looks at.
func recordStarts(t *testing.T, h *harness) func() []client.StartWorkflowOptions {
	var mu sync.Mutex
	var got []client.StartWorkflowOptions
	rec := func(o client.StartWorkflowOptions) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, o)
	}
	unavailable := serviceerror.NewUnavailable("down")
	h.tc.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, o client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
			rec(o)
			return nil, unavailable
		}).Maybe()
	h.tc.On("NewWithStartWorkflowOperation", mock.Anything, mock.Anything, mock.Anything).Return(
		func(o client.StartWorkflowOptions, _ any, _ ...any) client.WithStartWorkflowOperation {
			rec(o)
			return nil
		}).Maybe()
	h.tc.On("UpdateWithStartWorkflow", mock.Anything, mock.Anything).Return(nil, unavailable).Maybe()
	return func() []client.StartWorkflowOptions {
		mu.Lock()
		defer mu.Unlock()
		return append([]client.StartWorkflowOptions(nil), got...)
	}
}

// TestWorkflowsWithoutTenantAreTheDefaultTenants: a workflow from before
// tenants (no RiptideTenant) is readable with a default-tenant key and
// missing for any other tenant.
func TestWorkflowsWithoutTenantAreTheDefaultTenants(t *testing.T) {
	set, err := tenants.Build([]string{testKey}, &tenants.File{Tenants: []tenants.Tenant{{ID: "b", Keys: []string{tenants.HashKey(keyB)}}}})
	require.NoError(t, err)
	h := newHarness(t, nil)
	h.router = NewRouter(Deps{Temporal: h.tc, TaskQueue: testQueue, Store: h.store, Tenants: tenants.StaticSet(set), MaxBodyBytes: testMaxBytes})
	h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.JobWorkflowID(testJobID), "").
		Return(describedAs(t, workflows.JobWorkflowID(testJobID), ""), nil)
	rec := h.do(http.MethodGet, "/jobs/"+testJobID, "", testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	requireError(t, h.do(http.MethodGet, "/jobs/"+testJobID, "", keyB), http.StatusNotFound, codeNotFound, "")
}

// TestIdempotencyKeyNeverAnswersAnotherTenantsJob: a key moved to another
// tenant repeating an idempotency key gets a conflict, not the job its
// former tenant created.
func TestIdempotencyKeyNeverAnswersAnotherTenantsJob(t *testing.T) {
	h := tenantsHarness(t)
	jobID := idempotentJobID(keyB, "k-1")
	h.tc.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
		Return(nil, serviceerror.NewWorkflowExecutionAlreadyStarted("started", "", "")).Once()
	h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.JobWorkflowID(jobID), "").
		Return(describedAs(t, workflows.JobWorkflowID(jobID), "a"), nil).Once()
	req := `{"url":"https://example.com/v.mp4"}`
	rec := httptestDo(h, http.MethodPost, "/jobs", req, keyB, map[string]string{idempotencyHeader: "k-1"})
	m := requireError(t, rec, http.StatusConflict, codeIdempotencyConflict, idempotencyHeader)
	require.NotContains(t, rec.Body.String(), jobID)
	require.Contains(t, m["error"], "another tenant")
}

func httptestDo(h *harness, method, path, body, key string, headers map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(apiKeyHeader, key)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.router.ServeHTTP(rec, req)
	return rec
}
