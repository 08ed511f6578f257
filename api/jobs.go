package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/workflows"
)

// createJob handles POST /jobs: validate, start the Job workflow, answer
// with its id. Nothing is started unless the whole request is valid.
func (s *server) createJob(c *gin.Context) {
	in, paused, e := decodeJobRequestPaused(http.MaxBytesReader(c.Writer, c.Request.Body, s.MaxBodyBytes), s.Guard)
	if e != nil {
		abort(c, e)
		return
	}
	if e := s.checkSpotify(in.URL, "url"); e != nil {
		abort(c, e)
		return
	}
	// The idempotency digest is the request's: a tenant's storage saved
	// between two sends of one request does not make them differ.
	asSent := in
	if !s.admitCreate(c, &in) {
		return
	}
	if s.isShowURL(c.Request.Context(), in.URL) {
		s.startBatch(c, in, "url", paused)
		return
	}
	if paused {
		abort(c, pausedNotShow())
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), temporalTimeout)
	defer cancel()
	var run client.WorkflowRun
	var err error
	if key, present := c.Request.Header[http.CanonicalHeaderKey(idempotencyHeader)]; present {
		if len(key) != 1 || !validIdempotencyKey(key[0]) {
			abort(c, fieldError(codeInvalidField, idempotencyHeader,
				"%s must be 1 to %d printable ASCII characters", idempotencyHeader, maxIdempotencyKey))
			return
		}
		in.JobID = idempotentJobID(c.GetHeader(apiKeyHeader), key[0])
		digest := requestDigest(asSent)
		run, err = jobs.StartIdempotent(ctx, s.Temporal, s.TaskQueue, in, digest)
		if _, dup := errors.AsType[*serviceerror.WorkflowExecutionAlreadyStarted](err); dup {
			s.repeatedJob(ctx, c, in.JobID, digest)
			return
		}
	} else {
		id, uerr := uuid.NewRandom()
		if uerr != nil {
			s.Logger.ErrorContext(ctx, "Generating a job id failed", "error", uerr)
			abort(c, newError(http.StatusInternalServerError, codeInternal, "internal error"))
			return
		}
		in.JobID = id.String()
		run, err = jobs.Start(ctx, s.Temporal, s.TaskQueue, in)
	}
	if err != nil {
		s.Logger.ErrorContext(ctx, "Starting job failed", "job_id", in.JobID, "error", err)
		abort(c, temporalError(err))
		return
	}
	s.Logger.InfoContext(ctx, "Job started", "job_id", in.JobID, "workflow_id", run.GetID(), "run_id", run.GetRunID())
	c.Header("Location", "/jobs/"+in.JobID)
	c.JSON(http.StatusCreated, gin.H{"job_id": in.JobID})
}

// repeatedJob answers a create whose idempotency key already made a job:
// the original job when the request is the same, else 409.
func (s *server) repeatedJob(ctx context.Context, c *gin.Context, jobID, digest string) {
	// The job of a key that has since moved to another tenant is not the
	// caller's: a conflict, never its view.
	ctx, owner, err := s.describedTenant(ctx, workflows.JobWorkflowID(jobID))
	if err == nil && owner != tenantOf(c) {
		e := newError(http.StatusConflict, codeIdempotencyConflict, "this %s was already used by another tenant's key", idempotencyHeader)
		e.Field = idempotencyHeader
		abort(c, e)
		return
	}
	got, err := jobs.RequestDigest(ctx, s.Temporal, jobID)
	if err != nil {
		s.Logger.ErrorContext(ctx, "Reading the original request failed", "job_id", jobID, "error", err)
		abort(c, temporalError(err))
		return
	}
	if got != digest {
		e := newError(http.StatusConflict, codeIdempotencyConflict,
			"this %s was already used with a different request body", idempotencyHeader)
		e.Field = idempotencyHeader
		abort(c, e)
		return
	}
	c.Header("Location", "/jobs/"+jobID)
	c.JSON(http.StatusOK, gin.H{"job_id": jobID, "cached": true})
}

// Idempotency keys.
const (
	idempotencyHeader = "x-idempotency-key"
	maxIdempotencyKey = 255
	// idempotencyNamespace is the UUID namespace of job IDs derived from keys.
	idempotencyNamespace = "8c5f3a52-9d0e-4b7a-a1f6-2e4d7c9b0f13"
)

func validIdempotencyKey(k string) bool {
	if k == "" || len(k) > maxIdempotencyKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// idempotentJobID derives the job ID from the caller's API key and its
// idempotency key, so a repeat maps to the same workflow ID and Temporal's
// duplicate check is the idempotency store. The API key is hashed in, so
// two clients' keys never collide and the key itself is not recoverable.
func idempotentJobID(apiKey, key string) string {
	k := sha256.Sum256([]byte(apiKey))
	return uuid.NewSHA1(uuid.MustParse(idempotencyNamespace), append(k[:], key...)).String()
}

// requestDigest identifies a validated request: equal for the same job
// options however the JSON was spelled.
func requestDigest(in workflows.JobInput) string {
	in.JobID = ""
	// The tenancy is the key's, and its stored bytes change between
	// repeats.
	in.Tenancy = workflows.Tenancy{}
	b, _ := json.Marshal(in) // a struct of strings and bools cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// jobFromPath reads the job named by the :id path parameter. When it cannot
// (a malformed id, an unknown job, Temporal failing) it has answered the
// request and returns false.
func (s *server) jobFromPath(ctx context.Context, c *gin.Context) (*jobs.View, bool) {
	id, ok := idParam(c, "job")
	if !ok {
		return nil, false
	}
	v, err := jobs.Get(ctx, s.Temporal, id)
	if errors.Is(err, jobs.ErrNotFound) {
		abort(c, newError(http.StatusNotFound, codeNotFound, "job not found"))
		return nil, false
	}
	if err != nil {
		s.Logger.ErrorContext(ctx, "Reading job failed", "job_id", id, "error", err)
		abort(c, temporalError(err))
		return nil, false
	}
	return v, true
}

// getJob handles GET /jobs/:id. The key's URL is signed afresh on each read:
// the one sent in the webhook expires.
func (s *server) getJob(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), temporalTimeout)
	defer cancel()
	v, ok := s.jobFromPath(ctx, c)
	if !ok {
		return
	}
	if err := jobs.AddStages(ctx, s.Temporal, v); err != nil {
		// The per-stage figures stay null; the rest is still worth it.
		s.Logger.WarnContext(ctx, "Reading the job's history failed", "job_id", v.ID, "error", err)
	}
	if v.Status == workflows.StatusCompleted {
		if err := jobs.AddFileDeletion(ctx, s.Temporal, v); err != nil {
			s.Logger.ErrorContext(ctx, "Reading the job's file deletion failed", "job_id", v.ID, "error", err)
			abort(c, temporalError(err))
			return
		}
	}
	s.decorate(ctx, v)
	c.JSON(http.StatusOK, v)
}

// getJobWebhooks handles GET /jobs/:id/webhooks: every webhook event of the
// job with each delivery attempt (time, status code, latency, error).
func (s *server) getJobWebhooks(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), temporalTimeout)
	defer cancel()
	v, ok := s.jobFromPath(ctx, c)
	if !ok {
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
			var err error
			if re, err = jobs.Redelivery(ctx, s.Temporal, ev.EventID); err != nil {
				s.Logger.ErrorContext(ctx, "Reading redelivery failed", "job_id", v.ID, "error", err)
				abort(c, temporalError(err))
				return
			}
		}
		events = append(events, event{WebhookEvent: ev, Redelivery: re})
	}
	c.JSON(http.StatusOK, gin.H{"job_id": v.ID, "webhook_status": v.WebhookStatus, "webhooks": events})
}

// redeliverWebhook handles POST /jobs/:id/webhooks/:event_id/redeliver: the
// event is sent again, same body and webhook-id, with the usual retries.
func (s *server) redeliverWebhook(c *gin.Context) {
	id, ok := idParam(c, "job")
	if !ok {
		return
	}
	eventID := c.Param("event_id")
	// Event ids are evt_<job id>_<type>[.<stage>]; anything else is unknown.
	if !workflows.IsJobEventID(id, eventID) {
		abort(c, fieldError(codeInvalidField, "event_id", "event_id must be one of this job's webhook event ids"))
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), temporalTimeout)
	defer cancel()
	wfID, err := jobs.Redeliver(ctx, s.Temporal, s.TaskQueue, tenantOf(c), id, eventID)
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

// idParam reads the :id of a job's or batch's route (what: "job" or
// "batch"), answering 400 when it is not one.
func idParam(c *gin.Context, what string) (string, bool) {
	id, ok := parseJobID(c.Param("id"))
	if !ok {
		abort(c, fieldError(codeInvalidField, "id", "id must be a %s id (a UUID)", what))
	}
	return id, ok
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
