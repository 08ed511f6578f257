package api

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/webui"
)

// TestWebDashboardIsServedWithoutAKey checks the dashboard's static files
// need no key (they hold no data), come with the strict CSP, and that
// opening them opens nothing else: the data routes still refuse a
// missing or wrong key.
func TestWebDashboardIsServedWithoutAKey(t *testing.T) {
	h := newHarness(t, nil)
	rec := h.do(http.MethodGet, "/", "", "")
	require.Equal(t, http.StatusFound, rec.Code)
	require.Equal(t, "/ui/", rec.Header().Get("Location"))

	for _, name := range append(webui.Files(), "") {
		rec := h.do(http.MethodGet, "/ui/"+name, "", "")
		require.Equal(t, http.StatusOK, rec.Code, name)
		require.Equal(t, webui.CSP, rec.Header().Get("Content-Security-Policy"), name)
		require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"), name)
		require.NotEmpty(t, rec.Header().Get("ETag"), name)
	}
	rec = h.do(http.MethodGet, "/ui/", "", "")
	require.True(t, strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html"), rec.Header().Get("Content-Type"))
	require.Contains(t, rec.Body.String(), `<script type="module" src="app.js">`)
	rec = h.do(http.MethodGet, "/ui/app.js", "", "")
	require.Contains(t, rec.Header().Get("Content-Type"), "javascript")

	// Unchanged files revalidate to a 304.
	req := httptest.NewRequest(http.MethodGet, "/ui/app.js", nil)
	req.Header.Set("If-None-Match", rec.Header().Get("ETag"))
	rr := httptest.NewRecorder()
	h.router.ServeHTTP(rr, req)
	require.Equal(t, http.StatusNotModified, rr.Code)

	// Gzipped for browsers that take it.
	req = httptest.NewRequest(http.MethodGet, "/ui/app.js", nil)
	req.Header.Set("Accept-Encoding", "gzip, deflate")
	rr = httptest.NewRecorder()
	h.router.ServeHTTP(rr, req)
	require.Equal(t, http.StatusOK, rr.Code)
	require.Equal(t, "gzip", rr.Header().Get("Content-Encoding"))
	zr, err := gzip.NewReader(rr.Body)
	require.NoError(t, err)
	plain, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.Equal(t, rec.Body.String(), string(plain))

	require.Equal(t, http.StatusNotFound, h.do(http.MethodGet, "/ui/nope.js", "", "").Code)
	require.Equal(t, http.StatusNotFound, h.do(http.MethodGet, "/ui/../openapi.json", "", "").Code)
	for _, path := range []string{"/jobs", "/dashboard/stats", "/uix"} {
		require.Equal(t, http.StatusUnauthorized, h.do(http.MethodGet, path, "", "").Code, path)
		require.Equal(t, http.StatusUnauthorized, h.do(http.MethodGet, path, "", "wrong").Code, path)
	}
	// Only GET: the files are not a way around the key for anything else.
	require.Equal(t, http.StatusUnauthorized, h.do(http.MethodPost, "/ui/", "", "").Code)
}
