package api

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/workflows"
)

// metadataRequest is the body of POST /metadata.
type metadataRequest struct {
	URL string `json:"url"`
}

// metadataAnswer is POST /metadata's body: the lookup's result and, as
// riptide's addition, the workflow that made it.
type metadataAnswer struct {
	*workflows.Metadata
	WorkflowID string `json:"workflow_id"`
}

// workflowIDHeader names the workflow that answered a request, on error
// answers too.
const workflowIDHeader = "X-Riptide-Workflow-Id"

// metadataWait bounds how long POST /metadata waits for its lookup.
var metadataWait = workflows.MetadataWait

// clientErrorTypes are the lookup failures that are the request's fault.
var clientErrorTypes = []string{workflows.ErrTypeInvalidInput, workflows.ErrTypeBlockedAddress}

// getMetadata handles POST /metadata: the source's title, duration, size
// and the rest of yt-dlp's info, without downloading. The API fetches
// nothing itself: a Metadata workflow runs the lookup on a worker (yt-dlp
// or ffprobe in the sandbox, behind the network guard) and the API waits
// for its result.
func (s *server) getMetadata(c *gin.Context) {
	var req metadataRequest
	if e := decodeObject(http.MaxBytesReader(c.Writer, c.Request.Body, s.MaxBodyBytes), &req); e != nil {
		abort(c, e)
		return
	}
	if req.URL == "" {
		abort(c, fieldError(codeMissingField, "url", "url is required"))
		return
	}
	if e := checkURL("url", req.URL, s.Guard); e != nil {
		abort(c, e)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), metadataWait+temporalTimeout)
	defer cancel()
	md, wfID, err := jobs.Metadata(ctx, s.Temporal, s.TaskQueue, tenantOf(c), req.URL, metadataWait)
	if wfID != "" {
		// Where the lookup can be seen (and its history replayed).
		c.Header(workflowIDHeader, wfID)
	}
	var srcErr *jobs.SourceError
	switch {
	case err == nil:
		c.JSON(http.StatusOK, metadataAnswer{Metadata: md, WorkflowID: wfID})
	case errors.As(err, &srcErr) && slices.Contains(clientErrorTypes, srcErr.Type):
		abort(c, fieldError(codeInvalidField, "url", "%s", srcErr.Message))
	case errors.As(err, &srcErr):
		e := newError(http.StatusUnprocessableEntity, codeUnreadableSource, "the source's metadata could not be read: %s", srcErr.Message)
		e.Field = "url"
		abort(c, e)
	case errors.Is(err, jobs.ErrMetadataTimeout):
		abort(c, newError(http.StatusGatewayTimeout, codeTimeout,
			"the source did not answer within %d s; try again later", int(metadataWait.Seconds())))
	default:
		s.Logger.ErrorContext(ctx, "Metadata lookup failed", "error", err)
		abort(c, temporalError(err))
	}
}
