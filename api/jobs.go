package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/workflows"
)

// createJob handles POST /jobs: validate, start the Job workflow, answer
// with its id. Nothing is started unless the whole request is valid.
func (s *server) createJob(c *gin.Context) {
	in, e := decodeJobRequest(http.MaxBytesReader(c.Writer, c.Request.Body, s.MaxBodyBytes), s.Guard)
	if e != nil {
		abort(c, e)
		return
	}
	if s.isShowURL(c.Request.Context(), in.URL) {
		s.startBatch(c, in, "url")
		return
	}
	id, err := uuid.NewRandom()
	if err != nil {
		s.Logger.ErrorContext(c.Request.Context(), "Generating a job id failed", "error", err)
		abort(c, newError(http.StatusInternalServerError, codeInternal, "internal error"))
		return
	}
	in.JobID = id.String()

	ctx, cancel := context.WithTimeout(c.Request.Context(), temporalTimeout)
	defer cancel()
	run, err := jobs.Start(ctx, s.Temporal, s.TaskQueue, in)
	if err != nil {
		s.Logger.ErrorContext(ctx, "Starting job failed", "job_id", in.JobID, "error", err)
		abort(c, temporalError(err))
		return
	}
	s.Logger.InfoContext(ctx, "Job started", "job_id", in.JobID, "workflow_id", run.GetID(), "run_id", run.GetRunID())
	c.Header("Location", "/jobs/"+in.JobID)
	c.JSON(http.StatusCreated, gin.H{"job_id": in.JobID})
}

// getJob handles GET /jobs/:id. The key's URL is signed afresh on each read:
// the one sent in the webhook expires.
func (s *server) getJob(c *gin.Context) {
	id, ok := parseJobID(c.Param("id"))
	if !ok {
		abort(c, fieldError(codeInvalidField, "id", "id must be a job id (a UUID)"))
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), temporalTimeout)
	defer cancel()
	v, err := jobs.Get(ctx, s.Temporal, id)
	if errors.Is(err, jobs.ErrNotFound) {
		abort(c, newError(http.StatusNotFound, codeNotFound, "job not found"))
		return
	}
	if err != nil {
		s.Logger.ErrorContext(ctx, "Reading job failed", "job_id", id, "error", err)
		abort(c, temporalError(err))
		return
	}
	v.S3URL = nil
	if s.TemporalUI != "" {
		u := jobs.UIURL(s.TemporalUI, s.Namespace, v.WorkflowID, v.RunID)
		v.TemporalUIURL = &u
	}
	if v.Key != nil && s.Store != nil {
		if u, err := s.Store.PresignGet(ctx, *v.Key); err != nil {
			// The rest of the job is still worth returning.
			s.Logger.WarnContext(ctx, "Presigning failed", "job_id", id, "error", err)
		} else {
			v.S3URL = &u
		}
	}
	c.JSON(http.StatusOK, v)
}

// getJobWebhooks handles GET /jobs/:id/webhooks: every webhook event of the
// job with each delivery attempt (time, status code, latency, error).
func (s *server) getJobWebhooks(c *gin.Context) {
	id, ok := parseJobID(c.Param("id"))
	if !ok {
		abort(c, fieldError(codeInvalidField, "id", "id must be a job id (a UUID)"))
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), temporalTimeout)
	defer cancel()
	v, err := jobs.Get(ctx, s.Temporal, id)
	if errors.Is(err, jobs.ErrNotFound) {
		abort(c, newError(http.StatusNotFound, codeNotFound, "job not found"))
		return
	}
	if err != nil {
		s.Logger.ErrorContext(ctx, "Reading job failed", "job_id", id, "error", err)
		abort(c, temporalError(err))
		return
	}
	type event struct {
		workflows.WebhookEvent
		// Redelivery is the latest POST …/redeliver's record, or null.
		Redelivery *workflows.WebhookEvent `json:"redelivery"`
	}
	events := make([]event, 0, len(v.Webhooks))
	for _, ev := range v.Webhooks {
		var re *workflows.WebhookEvent
		if ev.Status != workflows.WebhookPending && ev.Status != workflows.WebhookDropped {
			if re, err = jobs.Redelivery(ctx, s.Temporal, ev.EventID); err != nil {
				s.Logger.ErrorContext(ctx, "Reading redelivery failed", "job_id", id, "error", err)
				abort(c, temporalError(err))
				return
			}
		}
		events = append(events, event{WebhookEvent: ev, Redelivery: re})
	}
	c.JSON(http.StatusOK, gin.H{"job_id": id, "webhook_status": v.WebhookStatus, "webhooks": events})
}

// redeliverWebhook handles POST /jobs/:id/webhooks/:event_id/redeliver: the
// event is sent again, same body and webhook-id, with the usual retries.
func (s *server) redeliverWebhook(c *gin.Context) {
	id, ok := parseJobID(c.Param("id"))
	if !ok {
		abort(c, fieldError(codeInvalidField, "id", "id must be a job id (a UUID)"))
		return
	}
	eventID := c.Param("event_id")
	// Event ids are evt_<job id>_<type>[.<stage>]; anything else is unknown.
	if !strings.HasPrefix(eventID, "evt_"+id+"_") || len(eventID) > 100 {
		abort(c, fieldError(codeInvalidField, "event_id", "event_id must be one of this job's webhook event ids"))
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), temporalTimeout)
	defer cancel()
	wfID, err := jobs.Redeliver(ctx, s.Temporal, s.TaskQueue, id, eventID)
	switch {
	case errors.Is(err, jobs.ErrNotFound):
		abort(c, newError(http.StatusNotFound, codeNotFound, "job not found"))
	case errors.Is(err, jobs.ErrEventNotFound):
		abort(c, newError(http.StatusNotFound, codeNotFound, "webhook event not found"))
	case errors.Is(err, jobs.ErrEventPending), errors.Is(err, jobs.ErrRedelivering):
		abort(c, newError(http.StatusConflict, codeConflict, "%v", err))
	case err != nil:
		s.Logger.ErrorContext(ctx, "Redelivery failed", "job_id", id, "error", err)
		abort(c, temporalError(err))
	default:
		c.JSON(http.StatusAccepted, gin.H{"job_id": id, "event_id": eventID, "redelivery_workflow_id": wfID})
	}
}

// parseJobID accepts a UUID in its canonical 36-character form, in any case,
// and returns it lower-cased as job ids are generated.
func parseJobID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return "", false
	}
	return u.String(), true
}
