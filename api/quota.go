package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/workflows"
)

// A tenant's limits (RIPTIDE_TENANTS_FILE) at create time: POST /jobs,
// POST /batches and POST /jobs/bulk. The storage quota answers the hosted
// service's 403; concurrent_jobs answers 429 with Retry-After, as it is a
// wait, not a refusal (it passes as the tenant's jobs finish); a request
// above max_resolution or max_duration answers 403 naming the field, and a
// request without them gets the tenant's. The job's input carries the
// limits, so its download enforces them too (activities/tenancy.go).

const (
	codeQuotaExceeded      = "quota_exceeded"
	codeLimitExceeded      = "limit_exceeded"
	codeConcurrentExceeded = "concurrent_jobs_exceeded"
	// concurrentRetryAfter is the Retry-After of a 429 for concurrent_jobs.
	concurrentRetryAfter = 10
)

// quotaExceeded is the reference's 403 body, with riptide's code and the
// same figures in bytes.
type quotaExceeded struct {
	Error      string  `json:"error"`
	Code       string  `json:"code"`
	LimitGB    float64 `json:"limit_gb"`
	UsedGB     float64 `json:"used_gb"`
	Message    string  `json:"message"`
	LimitBytes int64   `json:"limit_bytes"`
	UsedBytes  int64   `json:"used_bytes"`
}

// tenancy is the caller's tenant and its limits (nil when it has none),
// usedBytes its stored bytes.
func (s *server) tenancy(c *gin.Context, usedBytes int64) workflows.Tenancy {
	t := workflows.Tenancy{Tenant: tenantOf(c)}
	if l := s.Tenants.Current().Limits(t.Tenant); l != (workflows.TenantLimits{}) {
		l.StorageUsedBytes = usedBytes
		t.Limits = &l
	}
	return t
}

// applyLimits refuses in's options above the tenant's limits and gives it
// the limits it did not ask for.
func applyLimits(in *workflows.JobInput, l workflows.TenantLimits) *apiError {
	if l.MaxResolution > 0 {
		if in.MaxHeight > l.MaxResolution {
			return &apiError{Status: http.StatusForbidden, Code: codeLimitExceeded, Field: "max_resolution",
				Message: fmt.Sprintf("max_resolution %d is above this key's limit of %d", in.MaxHeight, l.MaxResolution)}
		}
		if in.MaxHeight == 0 {
			in.MaxHeight = l.MaxResolution
		}
	}
	if l.MaxDurationSeconds > 0 {
		if in.MaxDuration > l.MaxDurationSeconds {
			return &apiError{Status: http.StatusForbidden, Code: codeLimitExceeded, Field: "max_duration",
				Message: fmt.Sprintf("max_duration %d is above this key's limit of %d seconds", in.MaxDuration, l.MaxDurationSeconds)}
		}
		if in.MaxDuration == 0 {
			in.MaxDuration = l.MaxDurationSeconds
		}
	}
	return nil
}

// admit checks the caller's storage quota and concurrent jobs before n
// new jobs (a batch counts as one: its window bounds what it runs) and
// returns the tenancy their inputs carry; false when it has answered.
func (s *server) admit(c *gin.Context, n int) (workflows.Tenancy, bool) {
	tenant := tenantOf(c)
	l := s.Tenants.Current().Limits(tenant)
	var used int64
	if l.StorageBytes > 0 {
		agg, err := s.dash.completed(tenant)
		if err != nil {
			s.dash.fail(c, "storage", err)
			return workflows.Tenancy{}, false
		}
		used = agg.StoredBytes
		if used >= l.StorageBytes {
			c.AbortWithStatusJSON(http.StatusForbidden, quotaExceeded{
				Error: workflows.QuotaExceededMessage, Code: codeQuotaExceeded,
				LimitGB: toGB(l.StorageBytes), UsedGB: toGB(used), LimitBytes: l.StorageBytes, UsedBytes: used,
				Message: fmt.Sprintf("You have used %.2f GB of your %.2f GB storage limit; ask the operator for a larger quota",
					toGB(used), toGB(l.StorageBytes)),
			})
			return workflows.Tenancy{}, false
		}
	}
	if l.ConcurrentJobs > 0 {
		ctx, cancel := context.WithTimeout(c.Request.Context(), temporalTimeout)
		defer cancel()
		q, _ := jobs.Query(jobs.Filter{Tenant: tenant})
		resp, err := s.Temporal.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: q + " AND ExecutionStatus = 'Running'"})
		if err != nil {
			s.Logger.ErrorContext(ctx, "Counting running jobs failed", "error", err)
			abort(c, temporalError(err))
			return workflows.Tenancy{}, false
		}
		if running := resp.GetCount(); running+int64(n) > int64(l.ConcurrentJobs) {
			c.Header("Retry-After", strconv.Itoa(concurrentRetryAfter))
			abort(c, &apiError{Status: http.StatusTooManyRequests, Code: codeConcurrentExceeded,
				Message: fmt.Sprintf("this key's tenant has %d unfinished jobs and may run %d at once; retry when some have finished",
					running, l.ConcurrentJobs)})
			return workflows.Tenancy{}, false
		}
	}
	return s.tenancy(c, used), true
}

// admitCreate readies the input of one new job or batch for the caller's
// tenant: its limits (a 403 above them), its quota and concurrent jobs
// (admit) and its storage (request > tenant's saved > deployment, verified).
// False when it has answered.
func (s *server) admitCreate(c *gin.Context, in *workflows.JobInput) bool {
	if e := applyLimits(in, s.Tenants.Current().Limits(tenantOf(c))); e != nil {
		abort(c, e)
		return false
	}
	tenancy, ok := s.admit(c, 1)
	if !ok {
		return false
	}
	in.Tenancy = tenancy
	if e := s.resolveStorage(c, in); e != nil {
		abort(c, e)
		return false
	}
	return true
}
