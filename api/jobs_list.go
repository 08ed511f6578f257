package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/internal/storage"
)

// GET /jobs paging.
const (
	// The hosted service's default page and cap.
	defaultJobPage = 20
	maxJobPage     = 100
	// maxCursor bounds the cursor a client sends back: Temporal's tokens
	// are a few hundred bytes.
	maxCursor = 4096
)

// listParams are the query parameters GET /jobs accepts.
var listParams = []string{"status", "folder", "batch_id", "limit", "offset", "cursor"}

// listJobs handles GET /jobs: jobs newest first, filtered by status, folder
// or batch, a page at a time (offset, or riptide's cursor).
func (s *server) listJobs(c *gin.Context) {
	f, limit, token, e := parseListQuery(c)
	if e != nil {
		abort(c, e)
		return
	}
	f.Tenant = tenantOf(c)
	offset, e := intParam(c, "offset", 0, 0, jobs.MaxOffset)
	if e != nil {
		abort(c, e)
		return
	}
	if offset > 0 && token != nil {
		abort(c, fieldError(codeInvalidField, "offset", "offset and cursor cannot be combined: a cursor says where the page starts"))
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), temporalTimeout)
	defer cancel()
	page, err := jobs.List(ctx, s.Temporal, f, limit, offset, token)
	if errors.Is(err, jobs.ErrBadCursor) {
		abort(c, fieldError(codeInvalidField, "cursor", "cursor must be a next_cursor this API returned"))
		return
	}
	if err != nil {
		s.Logger.ErrorContext(ctx, "Listing jobs failed", "error", err)
		abort(c, temporalError(err))
		return
	}
	if err := jobs.AddFileDeletions(ctx, s.Temporal, page.Jobs); err != nil {
		// The URLs of a deleted file are then dead, not wrong otherwise.
		s.Logger.WarnContext(ctx, "Reading file deletions failed", "error", err)
	}
	for _, v := range page.Jobs {
		s.decorate(ctx, v)
	}
	c.JSON(http.StatusOK, page)
}

// parseListQuery validates GET /jobs's query string. An unknown or repeated
// parameter is an error rather than a filter silently not applied.
func parseListQuery(c *gin.Context) (f jobs.Filter, limit int, token []byte, e *apiError) {
	q := c.Request.URL.Query()
	for name, vals := range q {
		if !slices.Contains(listParams, name) {
			return f, 0, nil, fieldError(codeUnknownField, name, "unknown query parameter %q; accepted: %s",
				name, strings.Join(listParams, ", "))
		}
		if len(vals) > 1 {
			return f, 0, nil, fieldError(codeInvalidField, name, "%s must be given once", name)
		}
	}
	if raw := q.Get("status"); raw != "" {
		i := slices.IndexFunc(jobs.Statuses, func(st string) bool { return strings.EqualFold(st, raw) })
		if i < 0 {
			return f, 0, nil, fieldError(codeInvalidField, "status", "status must be one of %s",
				strings.Join(jobs.Statuses, ", "))
		}
		f.Status = jobs.Statuses[i]
	}
	if f.Folder, e = cleanFolder(q.Get("folder")); e != nil {
		return f, 0, nil, e
	}
	if raw := q.Get("batch_id"); raw != "" {
		id, ok := parseJobID(raw)
		if !ok {
			return f, 0, nil, fieldError(codeInvalidField, "batch_id", "batch_id must be a batch id (a UUID)")
		}
		f.BatchID = id
	}
	if limit, e = intParam(c, "limit", defaultJobPage, 1, maxJobPage); e != nil {
		return f, 0, nil, e
	}
	if raw, ok := c.GetQuery("cursor"); ok {
		var err error
		if len(raw) > maxCursor {
			err = jobs.ErrBadCursor
		} else {
			token, err = jobs.DecodeCursor(raw)
		}
		if err != nil {
			return f, 0, nil, fieldError(codeInvalidField, "cursor", "cursor must be a next_cursor this API returned")
		}
	}
	return f, limit, token, nil
}

// decorate adds what a view read from Temporal lacks: the link to the
// Temporal UI and freshly signed URLs of the media, subtitles and
// thumbnail.
func (s *server) decorate(ctx context.Context, v *jobs.View) {
	v.S3URL, v.SubtitleURL, v.ThumbnailURL = nil, nil, nil
	if s.TemporalUI != "" {
		u := jobs.UIURL(s.TemporalUI, s.Namespace, v.WorkflowID, v.RunID)
		v.TemporalUIURL = &u
	}
	if v.FileDeleted {
		return
	}
	var store Store = s.Store
	if v.Storage != nil {
		// The job's own bucket: its credentials are in its input.
		t, err := jobs.StorageTarget(ctx, s.Temporal, v)
		var p storage.Provider
		if err == nil && t != nil {
			p, err = s.Targets.Open(ctx, *t)
		}
		if err != nil || p == nil {
			s.Logger.WarnContext(ctx, "Opening the job's storage failed", "job_id", v.ID, "provider", v.Storage.Provider, "error", err)
			return
		}
		store = p
	}
	if store == nil {
		return
	}
	for _, f := range []struct{ key, url **string }{
		{&v.Key, &v.S3URL}, {&v.SubtitleKey, &v.SubtitleURL}, {&v.ThumbnailKey, &v.ThumbnailURL},
	} {
		if *f.key == nil {
			continue
		}
		if u, err := store.PresignGet(ctx, **f.key); errors.Is(err, storage.ErrNoSignedURL) {
			// A SAS-token container: no URL riptide may hand out.
			continue
		} else if err != nil {
			// The rest of the job is still worth returning.
			s.Logger.WarnContext(ctx, "Presigning failed", "job_id", v.ID, "key", **f.key, "error", err)
		} else {
			*f.url = &u
		}
	}
}
