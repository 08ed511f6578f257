package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/riptide-dev/riptide/internal/jobs"
)

// createJob handles POST /jobs: validate, start the Job workflow, answer
// with its id. Nothing is started unless the whole request is valid.
func (s *server) createJob(c *gin.Context) {
	in, e := decodeJobRequest(http.MaxBytesReader(c.Writer, c.Request.Body, s.MaxBodyBytes))
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
