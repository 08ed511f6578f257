package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/workflows"
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

// bulkResponse answers POST /jobs/bulk: the hosted service's batch_id,
// total_jobs and job_ids, and riptide's per-item results.
type bulkResponse struct {
	// BatchID groups the jobs: each carries it as batch_id, and GET
	// /jobs?batch_id= lists them.
	BatchID   string       `json:"batch_id"`
	TotalJobs int          `json:"total_jobs"`
	JobIDs    []string     `json:"job_ids"`
	Created   int          `json:"created"`
	Failed    int          `json:"failed"`
	Results   []bulkResult `json:"results"`
}

// sharedBulkFields are the POST /jobs fields a bulk request may set once for
// every item: all but url.
var sharedBulkFields = func() map[string]bool {
	fields := map[string]bool{}
	for _, f := range reflect.VisibleFields(reflect.TypeFor[createJobRequest]()) {
		if name := strings.Split(f.Tag.Get("json"), ",")[0]; !f.Anonymous && name != "" && name != "-" {
			fields[name] = true
		}
	}
	delete(fields, "url")
	return fields
}()

// createJobsBulk handles POST /jobs/bulk. The hosted service's shape is
// {"jobs": [{"url", "filename"}], ...options shared by every item}; an item
// may also carry any POST /jobs field (riptide's full-body items), which
// wins over the shared one. Each item is validated and started on its own:
// one bad item does not stop the others. A bad shared option is the whole
// request's error, and nothing starts. The answer is 200 with the ids of
// the jobs started and per-item results in request order.
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
	var top map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&top); err != nil {
		abort(c, decodeError(err))
		return
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		abort(c, newError(http.StatusBadRequest, codeInvalidJSON, "request body must be a single JSON object with nothing after it"))
		return
	}
	shared := map[string]json.RawMessage{}
	for k, v := range top {
		switch {
		case k == "jobs":
		case k == "url":
			abort(c, fieldError(codeInvalidField, "url", "url belongs in each item of jobs"))
			return
		case !sharedBulkFields[k]:
			abort(c, fieldError(codeUnknownField, k, "%s: field is not supported", k))
			return
		default:
			shared[k] = v
		}
	}
	var items []json.RawMessage
	if rawJobs, ok := top["jobs"]; ok {
		if err := json.Unmarshal(rawJobs, &items); err != nil {
			abort(c, fieldError(codeInvalidType, "jobs", "jobs must be an array of objects"))
			return
		}
	}
	switch {
	case len(items) == 0:
		abort(c, fieldError(codeMissingField, "jobs", "jobs must be a non-empty array"))
		return
	case len(items) > maxBulkJobs:
		abort(c, fieldError(codeInvalidField, "jobs", "jobs must hold at most %d items", maxBulkJobs))
		return
	}

	// Validate every item before starting any, so a bad shared option
	// fails the request with nothing started.
	results := make([]bulkResult, len(items))
	inputs := make([]workflows.JobInput, len(items))
	for i, item := range items {
		in, own, e := s.decodeBulkItem(item, shared)
		if e != nil && e.Field != "" && shared[e.Field] != nil && !own[e.Field] {
			abort(c, e)
			return
		}
		if e == nil {
			e = applyLimits(&in, s.Tenants.Current().Limits(tenantOf(c)))
		}
		if e != nil {
			results[i] = bulkResult{Index: i, Error: e, Status: e.Status}
		}
		inputs[i] = in
	}
	valid := 0
	for _, r := range results {
		if r.Error == nil {
			valid++
		}
	}
	tenancy, ok := s.admit(c, valid)
	if !ok {
		return
	}
	id, err := uuid.NewRandom()
	if err != nil {
		abort(c, newError(http.StatusInternalServerError, codeInternal, "internal error"))
		return
	}
	resp := bulkResponse{BatchID: id.String(), JobIDs: []string{}, Results: results}
	for i := range items {
		if results[i].Error == nil {
			inputs[i].Tenancy = tenancy
			// Verified once per target (verifiedTargets), so a shared
			// storage costs one test upload.
			if e := s.resolveStorage(c, &inputs[i]); e != nil {
				if shared["storage"] != nil && inputs[i].Storage != nil {
					abort(c, e)
					return
				}
				results[i] = bulkResult{Index: i, Error: e, Status: e.Status}
			}
		}
		if results[i].Error == nil {
			results[i] = s.startBulkItem(c.Request.Context(), i, inputs[i], resp.BatchID)
		}
		if results[i].Error == nil {
			resp.JobIDs = append(resp.JobIDs, results[i].JobID)
		}
	}
	resp.Created, resp.TotalJobs = len(resp.JobIDs), len(resp.JobIDs)
	resp.Failed = len(results) - resp.Created
	c.JSON(http.StatusOK, resp)
}

// decodeBulkItem validates one item, with the shared options under its own
// fields, as a POST /jobs body. own are the item's own fields.
func (s *server) decodeBulkItem(item json.RawMessage, shared map[string]json.RawMessage) (workflows.JobInput, map[string]bool, *apiError) {
	var fields map[string]json.RawMessage
	if trimmed := bytes.TrimLeft(item, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(item, &fields) != nil {
		return workflows.JobInput{}, nil, newError(http.StatusBadRequest, codeInvalidJSON, "each item of jobs must be a JSON object")
	}
	own := make(map[string]bool, len(fields))
	for k := range fields {
		own[k] = true
	}
	body := item
	if len(shared) > 0 {
		merged := make(map[string]json.RawMessage, len(shared)+len(fields))
		for k, v := range shared {
			merged[k] = v
		}
		for k, v := range fields {
			merged[k] = v
		}
		var err error
		if body, err = json.Marshal(merged); err != nil {
			return workflows.JobInput{}, own, newError(http.StatusBadRequest, codeInvalidJSON, "each item of jobs must be a JSON object")
		}
	}
	in, e := decodeJobRequest(bytes.NewReader(body), s.Guard)
	if e == nil {
		e = s.checkSpotify(in.URL, "url")
	}
	return in, own, e
}

func (s *server) startBulkItem(ctx context.Context, i int, in workflows.JobInput, batchID string) bulkResult {
	fail := func(e *apiError) bulkResult { return bulkResult{Index: i, Error: e, Status: e.Status} }
	id, err := uuid.NewRandom()
	if err != nil {
		return fail(newError(http.StatusInternalServerError, codeInternal, "internal error"))
	}
	in.JobID = id.String()
	ctx, cancel := context.WithTimeout(ctx, temporalTimeout)
	defer cancel()
	if _, err := jobs.StartInGroup(ctx, s.Temporal, s.TaskQueue, in, batchID); err != nil {
		s.Logger.ErrorContext(ctx, "Starting job failed", "job_id", in.JobID, "error", err)
		return fail(temporalError(err))
	}
	return bulkResult{Index: i, JobID: in.JobID, Status: http.StatusCreated}
}
