package api

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
)

// TestCreateSubscriptionRefusesBadInput: every bad field is a 400 naming
// the field, before anything is started.
func TestCreateSubscriptionRefusesBadInput(t *testing.T) {
	h := newHarness(t, nil)
	for _, c := range []struct{ body, code, field string }{
		{`{}`, codeMissingField, "url"},
		{`{"url": "ftp://feed.example/x"}`, codeInvalidField, "url"},
		{`{"url": "https://feed.example/f.xml", "every": "soon"}`, codeInvalidField, "every"},
		{`{"url": "https://feed.example/f.xml", "every": "1m"}`, codeInvalidField, "every"},
		{`{"url": "https://feed.example/f.xml", "every": "9000h"}`, codeInvalidField, "every"},
		{`{"url": "https://feed.example/f.xml", "backfill": "some"}`, codeInvalidField, "backfill"},
		{`{"url": "https://feed.example/f.xml", "backfill": "latest:0"}`, codeInvalidField, "backfill"},
		{`{"url": "https://feed.example/f.xml", "backfill": "since:01/02/2026"}`, codeInvalidField, "backfill"},
		{`{"url": "https://feed.example/f.xml", "notify_empty_sweeps": true}`, codeInvalidField, "notify_empty_sweeps"},
		{`{"url": "https://feed.example/f.xml", "paused": "yes"}`, codeInvalidType, "paused"},
		{`{"url": "https://feed.example/f.xml", "format": "avi"}`, codeInvalidField, "format"},
		{`{"url": "https://feed.example/f.xml", "every": 60}`, codeInvalidType, "every"},
		{`{"url": "https://feed.example/f.xml", "surprise": 1}`, codeUnknownField, "surprise"},
	} {
		rec := h.do(http.MethodPost, "/subscriptions", c.body, testKey)
		require.Equal(t, http.StatusBadRequest, rec.Code, "%s: %s", c.body, rec.Body.String())
		out := decodeBody(t, rec)
		require.Equal(t, c.code, out["code"], "%s: %v", c.body, out)
		require.Equal(t, c.field, out["field"], "%s: %v", c.body, out)
		require.NotEmpty(t, out["error"])
	}
}

// TestSubscriptionRoutesAnswer404ForUnknownIDs: a malformed id is a 400,
// an unknown one a 404 on every route.
func TestSubscriptionRoutesAnswer404ForUnknownIDs(t *testing.T) {
	h := newHarness(t, nil)
	h.tc.On("DescribeWorkflow", mock.Anything, "subscription-0b7f6a4e-2a5c-4c59-9d59-0d3d8c8f1a11-state", "").
		Return(nil, serviceerror.NewNotFound("no such workflow"))
	for _, r := range []struct{ method, path, body string }{
		{http.MethodGet, "/subscriptions/0b7f6a4e-2a5c-4c59-9d59-0d3d8c8f1a11", ""},
		{http.MethodPatch, "/subscriptions/0b7f6a4e-2a5c-4c59-9d59-0d3d8c8f1a11", `{"paused": true}`},
		{http.MethodDelete, "/subscriptions/0b7f6a4e-2a5c-4c59-9d59-0d3d8c8f1a11", ""},
		{http.MethodPost, "/subscriptions/0b7f6a4e-2a5c-4c59-9d59-0d3d8c8f1a11/check", ""},
	} {
		rec := h.do(r.method, r.path, r.body, testKey)
		require.Equal(t, http.StatusNotFound, rec.Code, "%s %s: %s", r.method, r.path, rec.Body.String())
		require.Equal(t, codeNotFound, decodeBody(t, rec)["code"])
	}
	rec := h.do(http.MethodGet, "/subscriptions/nope", "", testKey)
	require.Equal(t, http.StatusBadRequest, rec.Code)
	require.Equal(t, "id", decodeBody(t, rec)["field"])
	rec = h.do(http.MethodPatch, "/subscriptions/0b7f6a4e-2a5c-4c59-9d59-0d3d8c8f1a11", `{}`, testKey)
	require.Equal(t, http.StatusBadRequest, rec.Code)
	rec = h.do(http.MethodGet, "/subscriptions?limit=0", "", testKey)
	require.Equal(t, http.StatusBadRequest, rec.Code)
	require.Equal(t, "limit", decodeBody(t, rec)["field"])
	rec = h.do(http.MethodGet, "/subscriptions?page=2", "", testKey)
	require.Equal(t, http.StatusBadRequest, rec.Code)
	require.Equal(t, "page", decodeBody(t, rec)["field"])
}
