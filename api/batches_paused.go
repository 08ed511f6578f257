package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/temporal"

	"github.com/riptide-dev/riptide/internal/batches"
	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/workflows"
)

// codeNotPaused: a start or rename of a batch that is not paused. The
// hosted service answers these with a plain error, so the status is 400.
const codeNotPaused = "not_paused"

// codeStorageUnavailable: the rename could not be written to the bucket.
const codeStorageUnavailable = "storage_unavailable"

// decodeJobRequestPaused is decodeJobRequest for POST /jobs, which also
// takes paused: true creates a show's batch paused.
func decodeJobRequestPaused(body io.Reader, guard *netguard.Guard) (workflows.JobInput, bool, *apiError) {
	var req createJobRequest
	if e := decodeObject(body, &req); e != nil {
		return workflows.JobInput{}, false, e
	}
	paused, e := req.takePaused()
	if e != nil {
		return workflows.JobInput{}, false, e
	}
	in, e := req.validate("url", guard)
	return in, paused, e
}

// takePaused reads paused and takes it off the fields that are refused
// when set (referenceOnlyFields), so the paths that cannot pause (bulk)
// still refuse it.
func (f *referenceOnlyFields) takePaused() (bool, *apiError) {
	raw := f.Paused
	f.Paused = nil
	if !isSet(raw) {
		return false, nil
	}
	var b bool
	if json.Unmarshal(raw, &b) != nil {
		return false, fieldError(codeInvalidType, "paused", "paused must be a boolean")
	}
	return b, nil
}

// pausedNotShow refuses paused for a URL that is a single media, which
// has no batch to pause.
func pausedNotShow() *apiError {
	return fieldError(codeInvalidField, "paused",
		"paused applies to a show, playlist or feed URL (it creates the batch paused); this url is a single media: leave paused out")
}

// renameRequest is the body of PATCH /batch/{id}/jobs.
type renameRequest struct {
	Renames *[]renameItem `json:"renames"`
}

type renameItem struct {
	JobID    string `json:"job_id"`
	Filename string `json:"filename"`
}

// renameResponse answers PATCH /batch/{id}/jobs: the hosted service's
// updated and errors (messages, each naming its job), and riptide's
// error_details with the same errors by job.
type renameResponse struct {
	Updated      int                     `json:"updated"`
	Errors       []string                `json:"errors"`
	ErrorDetails []workflows.RenameError `json:"error_details"`
}

func (r *renameResponse) fail(jobID, msg string) {
	r.Errors = append(r.Errors, jobID+": "+msg)
	r.ErrorDetails = append(r.ErrorDetails, workflows.RenameError{JobID: jobID, Error: msg})
}

// renameBatchJobs handles PATCH /batch/{id}/jobs: new filenames for
// episodes of a paused batch. Each filename is checked as POST /jobs
// checks filename and given the batch's format's extension; the valid
// items are applied, the others answered in errors.
func (s *server) renameBatchJobs(c *gin.Context) {
	id, ok := idParam(c, "batch")
	if !ok {
		return
	}
	var req renameRequest
	if e := decodeObject(http.MaxBytesReader(c.Writer, c.Request.Body, s.MaxBodyBytes), &req); e != nil {
		abort(c, e)
		return
	}
	switch {
	case req.Renames == nil:
		abort(c, fieldError(codeMissingField, "renames", "renames is required: a list of {\"job_id\", \"filename\"}"))
		return
	case len(*req.Renames) == 0 || len(*req.Renames) > workflows.MaxRenamesPerUpdate:
		abort(c, fieldError(codeInvalidField, "renames", "renames must list 1 to %d renames", workflows.MaxRenamesPerUpdate))
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*temporalTimeout)
	defer cancel()
	v, ok := s.readBatch(ctx, c, id)
	if !ok {
		return
	}
	if !v.Paused || v.Done() {
		abort(c, newError(http.StatusBadRequest, codeNotPaused,
			"Batch is not paused (current status: %s). Only paused batches can be renamed.", v.Status))
		return
	}
	if v.TotalEpisodes == nil {
		abort(c, newError(http.StatusBadRequest, codeNotPaused, "the batch's episode list is not known yet; retry shortly"))
		return
	}
	members := map[string]bool{}
	for _, j := range batches.JobIDs(id, 0, *v.TotalEpisodes) {
		members[j] = true
	}
	format, folder := v.Format(), ""
	if format == "" {
		format = workflows.DefaultFormat
	}
	if v.Folder != nil {
		folder = *v.Folder
	}
	resp := renameResponse{Errors: []string{}, ErrorDetails: []workflows.RenameError{}}
	var valid []workflows.EpisodeRename
	seen := map[string]bool{}
	for _, it := range *req.Renames {
		jobID, ok := parseJobID(it.JobID)
		switch {
		case it.JobID == "":
			resp.fail(it.JobID, "job_id is required")
			continue
		case !ok || !members[jobID]:
			resp.fail(it.JobID, "job_id is not an episode of this batch")
			continue
		case seen[jobID]:
			resp.fail(it.JobID, "job_id is listed more than once")
			continue
		case it.Filename == "":
			resp.fail(it.JobID, "filename is required")
			continue
		}
		name, e := cleanFilename(it.Filename, format, folder)
		if e != nil {
			resp.fail(it.JobID, e.Message)
			continue
		}
		seen[jobID] = true
		valid = append(valid, workflows.EpisodeRename{JobID: jobID, Filename: name})
	}
	if len(valid) > 0 {
		res, err := batches.Rename(ctx, s.Temporal, id, valid)
		if !s.batchUpdateOK(ctx, c, id, err) {
			return
		}
		resp.Updated = res.Updated
		for _, e := range res.Errors {
			resp.fail(e.JobID, e.Error)
		}
	}
	s.Logger.InfoContext(ctx, "Batch episodes renamed", "batch_id", id, "updated", resp.Updated, "refused", len(resp.Errors))
	c.JSON(http.StatusOK, resp)
}

// startPausedBatch handles POST /batch/{id}/start.
func (s *server) startPausedBatch(c *gin.Context) {
	id, ok := idParam(c, "batch")
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), temporalTimeout)
	defer cancel()
	v, ok := s.readBatch(ctx, c, id)
	if !ok {
		return
	}
	if !v.Paused || v.Done() {
		abort(c, newError(http.StatusBadRequest, codeNotPaused, "Batch is not paused (current status: %s)", v.Status))
		return
	}
	n, err := batches.StartPaused(ctx, s.Temporal, id)
	if !s.batchUpdateOK(ctx, c, id, err) {
		return
	}
	s.Logger.InfoContext(ctx, "Paused batch started", "batch_id", id, "episodes", n)
	c.JSON(http.StatusOK, gin.H{"batch_id": id, "started_jobs": n, "status": batches.StatusProcessing})
}

// batchUpdateOK answers a failed start or rename and returns false; nil
// err returns true.
func (s *server) batchUpdateOK(ctx context.Context, c *gin.Context, id string, err error) bool {
	if err == nil {
		return true
	}
	if st, ok := errors.AsType[*batches.StateError](err); ok {
		abort(c, newError(http.StatusBadRequest, codeNotPaused, "%s", upperFirst(st.Message)))
		return false
	}
	s.Logger.ErrorContext(ctx, "Updating batch failed", "batch_id", id, "error", err)
	if _, ok := errors.AsType[*temporal.ActivityError](err); ok {
		abort(c, newError(http.StatusServiceUnavailable, codeStorageUnavailable,
			"the batch's episode list could not be rewritten in the bucket; retry later"))
		return false
	}
	abort(c, temporalError(err))
	return false
}

func upperFirst(s string) string {
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}
