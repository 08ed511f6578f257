package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"

	"github.com/riptide-dev/riptide/internal/cookies"
)

// TestHealthzReportsCookieJars: an expired jar turns the status to
// warning (still 200) and names the jar and its expiry, never a cookie.
func TestHealthzReportsCookieJars(t *testing.T) {
	dir := t.TempDir()
	past, future := time.Now().Add(-time.Hour).Unix(), time.Now().Add(1000*time.Hour).Unix()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "youtube.com.txt"),
		fmt.Appendf(nil, ".youtube.com\tTRUE\t/\tTRUE\t%d\tSID\tsecret-value-1\n", future), 0o600))
	store, err := cookies.Open(cookies.Options{Dir: dir})
	require.NoError(t, err)
	defer store.Close()
	tc := &mocks.Client{}
	tc.On("CheckHealth", mock.Anything, &client.CheckHealthRequest{}).Return(&client.CheckHealthResponse{}, nil)
	router := NewRouter(Deps{Temporal: tc, Store: &fakeStore{}, Keys: []string{testKey}, Cookies: store})
	get := func() map[string]any {
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.NotContains(t, rec.Body.String(), "secret-value")
		return decodeBody(t, rec)
	}
	m := get()
	require.Equal(t, "ok", m["status"])
	jar := m["cookies"].([]any)[0].(map[string]any)
	require.Equal(t, "youtube.com", jar["name"])
	require.Equal(t, "ok", jar["state"])

	require.NoError(t, os.WriteFile(filepath.Join(dir, "youtube.com.txt"),
		fmt.Appendf(nil, ".youtube.com\tTRUE\t/\tTRUE\t%d\tSID\tsecret-value-2\n", past), 0o600))
	store.Reload()
	m = get()
	require.Equal(t, "warning", m["status"])
	jar = m["cookies"].([]any)[0].(map[string]any)
	require.Equal(t, "expired", jar["state"])
	exp, err := time.Parse(time.RFC3339, jar["auth_expires"].(string))
	require.NoError(t, err)
	require.Equal(t, past, exp.Unix())
}
