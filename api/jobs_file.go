package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/workflows"
)

// fileDeleteWait bounds how long DELETE /jobs/{id}/file waits for the
// deletion.
var fileDeleteWait = workflows.FileDeleteWait

// deleteJobFile handles DELETE /jobs/:id/file: a Completed job's media,
// subtitles and thumbnail are deleted from the bucket. The deletion is a
// workflow of its own (the job's has closed), whose existence the job's
// view reads from then on: file_deleted, and no URLs.
func (s *server) deleteJobFile(c *gin.Context) {
	id, ok := idParam(c, "job")
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), temporalTimeout+fileDeleteWait)
	defer cancel()
	res, err := jobs.DeleteFile(ctx, s.Temporal, s.TaskQueue, tenantOf(c), id, fileDeleteWait)
	switch {
	case errors.Is(err, jobs.ErrNotFound):
		abort(c, newError(http.StatusNotFound, codeNotFound, "job not found"))
	case errors.Is(err, jobs.ErrNotCompleted):
		abort(c, newError(http.StatusConflict, codeConflict, "only a Completed job has a file to delete"))
	case errors.Is(err, jobs.ErrFileDeleted):
		abort(c, newError(http.StatusConflict, codeConflict, "the job's file has already been deleted"))
	case errors.Is(err, jobs.ErrDeleteRunning):
		abort(c, newError(http.StatusGatewayTimeout, codeTimeout,
			"the deletion is recorded but did not finish within %d s; GET /jobs/%s shows file_deleted_at once it has",
			int(fileDeleteWait.Seconds()), id))
	case errors.Is(err, jobs.ErrDeleteFailed):
		s.Logger.ErrorContext(ctx, "Deleting job file failed", "job_id", id, "error", err)
		abort(c, newError(http.StatusBadGateway, codeStorageError, "the storage refused to delete the file; try again later"))
	case err != nil:
		s.Logger.ErrorContext(ctx, "Deleting job file failed", "job_id", id, "error", err)
		abort(c, temporalError(err))
	default:
		s.Logger.InfoContext(ctx, "Job file deleted", "job_id", id, "keys", len(res.Keys))
		c.JSON(http.StatusOK, gin.H{
			"message": "File deleted", "job_id": id, "deleted_key": res.Keys[0],
			"deleted_keys": res.Keys, "file_deleted_at": res.DeletedAt.UnixMilli(),
		})
	}
}
