package api

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// The Temporal Codec Server protocol, for the Temporal Web UI and CLI
// (--codec-endpoint <api>/codec): POST {"payloads":[...]} (protojson
// Payloads) to /codec/decode or /codec/encode. Behind the API key like
// every route.
const (
	codecPrefix = "/codec/"
	// codecMaxBodyBytes bounds a codec request: the UI sends an event's
	// payloads at once, each up to Temporal's 2 MiB blob limit.
	codecMaxBodyBytes  = 8 << 20
	codeInvalidPayload = "invalid_payload"
)

func (s *server) codecDecode(c *gin.Context) { s.codecServe(c, s.Codec.Decode) }

func (s *server) codecEncode(c *gin.Context) { s.codecServe(c, s.Codec.Encode) }

func (s *server) codecServe(c *gin.Context, op func([]*commonpb.Payload) ([]*commonpb.Payload, error)) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, codecMaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		abort(c, newError(http.StatusRequestEntityTooLarge, codeBodyTooLarge, "request body larger than %d bytes", codecMaxBodyBytes))
		return
	case err != nil:
		abort(c, newError(http.StatusBadRequest, codeInvalidJSON, "reading the request body failed"))
		return
	}
	var in commonpb.Payloads
	if err := protojson.Unmarshal(body, &in); err != nil {
		abort(c, fieldError(codeInvalidJSON, "payloads", `body is not {"payloads": [...]} of Temporal payloads`))
		return
	}
	out := in.GetPayloads()
	if s.Codec != nil { // without a key, payloads are plain and pass through
		if out, err = op(out); err != nil {
			abort(c, fieldError(codeInvalidPayload, "payloads", "%s", strings.TrimPrefix(codecMessage(err), "codec: ")))
			return
		}
	}
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: out})
	if err != nil {
		abort(c, newError(http.StatusInternalServerError, codeInternal, "encoding the payloads failed"))
		return
	}
	c.Data(http.StatusOK, "application/json", b)
}

// codecMessage is err's message without the SDK's error wrapping.
func codecMessage(err error) string {
	var m interface{ Message() string }
	if errors.As(err, &m) {
		return m.Message()
	}
	return err.Error()
}

// codecCORS lets the Temporal Web UI (RIPTIDE_TEMPORAL_UI_URL's origin, and
// no other) call the codec routes from the browser: it answers preflights,
// which carry no API key, and marks the answers readable by that origin.
// Other routes and origins get no CORS headers.
func codecCORS(uiURL string) gin.HandlerFunc {
	origin := ""
	if u, err := url.Parse(uiURL); err == nil && u.Scheme != "" && u.Host != "" {
		origin = u.Scheme + "://" + u.Host
	}
	return func(c *gin.Context) {
		if !strings.HasPrefix(c.Request.URL.Path, codecPrefix) {
			c.Next()
			return
		}
		c.Writer.Header().Add("Vary", "Origin")
		if origin == "" || c.GetHeader("Origin") != origin {
			c.Next()
			return
		}
		h := c.Writer.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		if c.Request.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "POST")
			h.Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, X-API-Key, Authorization")
			h.Set("Access-Control-Max-Age", "600")
			c.AbortWithStatus(http.StatusNoContent)
			return
		}
		c.Next()
	}
}
