package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOpenAPICoversEveryRoute compares the served document with gin's
// routes both ways, and checks the webhook payloads are there.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	h := newHarness(t, nil)
	rec := httptest.NewRecorder()
	// Public, like /healthz: no API key.
	h.router.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, openAPIPath, nil))
	require.Equal(t, http.StatusOK, rec.Code)
	var doc struct {
		OpenAPI  string                                `json:"openapi"`
		Paths    map[string]map[string]json.RawMessage `json:"paths"`
		Webhooks map[string]json.RawMessage            `json:"webhooks"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	require.True(t, strings.HasPrefix(doc.OpenAPI, "3."), doc.OpenAPI)

	param := regexp.MustCompile(`:([a-z_]+)`)
	var routes, documented []string
	for _, r := range NewRouter(Deps{}).Routes() {
		if r.Path == "/" || r.Path == uiPath {
			continue // the web dashboard's pages, not API
		}
		routes = append(routes, r.Method+" "+param.ReplaceAllString(r.Path, "{$1}"))
	}
	for p, ops := range doc.Paths {
		for m := range ops {
			if m != "parameters" {
				documented = append(documented, strings.ToUpper(m)+" "+p)
			}
		}
	}
	slices.Sort(routes)
	slices.Sort(documented)
	require.Equal(t, routes, documented, "routes and /openapi.json paths must match")
	for _, w := range []string{"job_completed", "job_failed", "job_skipped", "progress"} {
		require.Contains(t, doc.Webhooks, w)
	}
}

// TestOpenAPIRequestFieldsMatchTheDecoders: every field the job and batch
// decoders accept is documented, and nothing else is.
func TestOpenAPIRequestFieldsMatchTheDecoders(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(openAPIDoc, &doc))
	for schema, req := range map[string]any{"CreateJob": createJobRequest{}, "CreateBatch": createBatchRequest{}, "CreateSubscription": createSubscriptionRequest{}} {
		var fields []string
		for _, f := range reflect.VisibleFields(reflect.TypeOf(req)) {
			if !f.Anonymous {
				fields = append(fields, strings.Split(f.Tag.Get("json"), ",")[0])
			}
		}
		var documented []string
		for p := range doc.Components.Schemas[schema].Properties {
			documented = append(documented, p)
		}
		slices.Sort(fields)
		slices.Sort(documented)
		require.Equal(t, fields, documented, schema)
	}
}
