package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/riptide-dev/riptide/internal/batches"
	"github.com/riptide-dev/riptide/workflows"
)

// pauseBatch handles POST /batch/{id}/pause: a running batch starts no new
// episode (the running ones finish) until POST /batch/{id}/start. A batch
// that is not running (listing, cancelled, ended, every episode started)
// or is paused already answers 409.
func (s *server) pauseBatch(c *gin.Context) {
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
	switch {
	case v.Paused && !v.Done():
		abort(c, newError(http.StatusConflict, codeConflict, "Batch is already paused (current status: %s)", v.RiptideStatus))
		return
	case v.Done() || v.RiptideStatus != workflows.BatchRunning:
		abort(c, newError(http.StatusConflict, codeConflict, "Batch is not running (current status: %s)", v.RiptideStatus))
		return
	}
	n, err := batches.Pause(ctx, s.Temporal, id)
	if err != nil {
		if st, ok := errors.AsType[*batches.StateError](err); ok {
			abort(c, newError(http.StatusConflict, codeConflict, "%s", upperFirst(st.Message)))
			return
		}
		s.Logger.ErrorContext(ctx, "Pausing batch failed", "batch_id", id, "error", err)
		abort(c, temporalError(err))
		return
	}
	s.Logger.InfoContext(ctx, "Batch paused", "batch_id", id, "running", n)
	c.JSON(http.StatusOK, gin.H{"batch_id": id, "running_jobs": n, "paused": true,
		"status": batches.ReferenceStatus(workflows.BatchPaused), "riptide_status": workflows.BatchPaused})
}
