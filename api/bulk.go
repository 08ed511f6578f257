package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/riptide-dev/riptide/internal/jobs"
)

// maxBulkJobs caps POST /jobs/bulk.
const maxBulkJobs = 100

// bulkResult is one item's outcome: a job_id, or the error it would have
// got from POST /jobs.
type bulkResult struct {
	Index int       `json:"index"`
	JobID string    `json:"job_id,omitempty"`
	Error *apiError `json:"error,omitempty"`
	// Status is the HTTP status the item would have got on its own.
	Status int `json:"status"`
}

// createJobsBulk handles POST /jobs/bulk: {"jobs":[<POST /jobs body>, …]}.
// Each item is validated and started on its own; one bad item does not stop
// the others. The answer is 200 with per-item results in request order,
// unless the envelope itself is wrong.
func (s *server) createJobsBulk(c *gin.Context) {
	raw, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, s.MaxBodyBytes))
	if err != nil {
		abort(c, decodeError(err))
		return
	}
	if trimmed := bytes.TrimLeft(raw, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		abort(c, newError(http.StatusBadRequest, codeInvalidJSON, "request body must be a JSON object"))
		return
	}
	var req struct {
		Jobs []json.RawMessage `json:"jobs"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		abort(c, decodeError(err))
		return
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		abort(c, newError(http.StatusBadRequest, codeInvalidJSON, "request body must be a single JSON object with nothing after it"))
		return
	}
	switch {
	case len(req.Jobs) == 0:
		abort(c, fieldError(codeMissingField, "jobs", "jobs must be a non-empty array"))
		return
	case len(req.Jobs) > maxBulkJobs:
		abort(c, fieldError(codeInvalidField, "jobs", "jobs must hold at most %d items", maxBulkJobs))
		return
	}

	results := make([]bulkResult, len(req.Jobs))
	created := 0
	for i, item := range req.Jobs {
		results[i] = s.startBulkItem(c.Request.Context(), i, item)
		if results[i].Error == nil {
			created++
		}
	}
	c.JSON(http.StatusOK, gin.H{"created": created, "failed": len(results) - created, "results": results})
}

func (s *server) startBulkItem(ctx context.Context, i int, item json.RawMessage) bulkResult {
	fail := func(e *apiError) bulkResult { return bulkResult{Index: i, Error: e, Status: e.Status} }
	in, e := decodeJobRequest(bytes.NewReader(item), s.Guard)
	if e == nil {
		e = s.checkSpotify(in.URL, "url")
	}
	if e != nil {
		return fail(e)
	}
	id, err := uuid.NewRandom()
	if err != nil {
		return fail(newError(http.StatusInternalServerError, codeInternal, "internal error"))
	}
	in.JobID = id.String()
	ctx, cancel := context.WithTimeout(ctx, temporalTimeout)
	defer cancel()
	if _, err := jobs.Start(ctx, s.Temporal, s.TaskQueue, in); err != nil {
		s.Logger.ErrorContext(ctx, "Starting job failed", "job_id", in.JobID, "error", err)
		return fail(temporalError(err))
	}
	return bulkResult{Index: i, JobID: in.JobID, Status: http.StatusCreated}
}
