package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/riptide-dev/riptide/internal/jobs"
)

// cancelJob handles DELETE /jobs/:id: a pending or running job is
// cancelled; 202 with its view, which turns Cancelled once its transfer
// has stopped and its files are cleaned up.
func (s *server) cancelJob(c *gin.Context) {
	id, ok := idParam(c, "job")
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), temporalTimeout)
	defer cancel()
	v, err := jobs.Cancel(ctx, s.Temporal, id)
	switch {
	case errors.Is(err, jobs.ErrNotFound):
		abort(c, newError(http.StatusNotFound, codeNotFound, "job not found"))
	case errors.Is(err, jobs.ErrFinished):
		abort(c, newError(http.StatusConflict, codeConflict, "the job has already finished (status %s)", v.Status))
	case err != nil:
		s.Logger.ErrorContext(ctx, "Cancelling job failed", "job_id", id, "error", err)
		abort(c, temporalError(err))
	default:
		s.Logger.InfoContext(ctx, "Job cancellation requested", "job_id", id)
		s.decorate(ctx, v)
		// The hosted service's message and job_id beside the view.
		c.JSON(http.StatusAccepted, cancelled{View: v, JobID: id, Message: "Job cancellation requested"})
	}
}

// retryJob handles POST /jobs/:id/retry: a Failed, Cancelled or Skipped job
// runs again, with the same options, as a new job. Repeating the request
// answers the same new job.
func (s *server) retryJob(c *gin.Context) {
	id, ok := idParam(c, "job")
	if !ok {
		return
	}
	// A retry is a new job: the tenant's quota and concurrency apply.
	tenancy, ok := s.admit(c, 1)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), temporalTimeout)
	defer cancel()
	newID, started, err := jobs.Retry(ctx, s.Temporal, s.TaskQueue, id, tenancy)
	switch {
	case errors.Is(err, jobs.ErrNotFound):
		abort(c, newError(http.StatusNotFound, codeNotFound, "job not found"))
	case errors.Is(err, jobs.ErrNotRetryable):
		abort(c, newError(http.StatusConflict, codeConflict, "%v", err))
	case err != nil:
		s.Logger.ErrorContext(ctx, "Retrying job failed", "job_id", id, "error", err)
		abort(c, temporalError(err))
	case !started:
		c.Header("Location", "/jobs/"+newID)
		c.JSON(http.StatusOK, gin.H{"job_id": newID, "original_job_id": id, "retry_of": id, "cached": true,
			"message": "Job already retried"})
	default:
		s.Logger.InfoContext(ctx, "Job retried", "job_id", id, "retry_job_id", newID)
		c.Header("Location", "/jobs/"+newID)
		c.JSON(http.StatusAccepted, gin.H{"job_id": newID, "original_job_id": id, "retry_of": id,
			"message": "Job retried as a new job"})
	}
}

// cancelled answers DELETE /jobs/{id}: the job's view with the hosted
// service's message and job_id.
type cancelled struct {
	*jobs.View
	JobID   string `json:"job_id"`
	Message string `json:"message"`
}
