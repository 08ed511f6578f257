package metrics

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func scrape(t *testing.T, addr, auth string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// TestMetricsTokenGuardsTheScrape: with RIPTIDE_METRICS_TOKEN set, a
// scrape without the bearer token, or with another, gets 401 and no
// metric; with it, the metrics. Without a token the scrape is open.
func TestMetricsTokenGuardsTheScrape(t *testing.T) {
	m, err := New()
	require.NoError(t, err)
	s, err := m.Listen("127.0.0.1:0", "s3cret-token")
	require.NoError(t, err)
	defer s.Shutdown(t.Context())

	for _, auth := range []string{"", "Bearer wrong", "s3cret-token", "Basic czNjcmV0LXRva2Vu", "Bearer s3cret-token2"} {
		code, body := scrape(t, s.Addr(), auth)
		require.Equal(t, http.StatusUnauthorized, code, "Authorization %q", auth)
		require.NotContains(t, body, "go_goroutines", "Authorization %q", auth)
	}
	code, body := scrape(t, s.Addr(), "Bearer s3cret-token")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "go_goroutines")

	open, err := m.Listen("127.0.0.1:0", "")
	require.NoError(t, err)
	defer open.Shutdown(t.Context())
	code, body = scrape(t, open.Addr(), "")
	require.Equal(t, http.StatusOK, code)
	require.True(t, strings.Contains(body, "go_goroutines"))
}

// TestMetricsServerSetsEveryTimeout: a scrape is small, so the metrics
// server bounds every phase of a connection.
func TestMetricsServerSetsEveryTimeout(t *testing.T) {
	m, err := New()
	require.NoError(t, err)
	s, err := m.Listen("127.0.0.1:0", "")
	require.NoError(t, err)
	defer s.Shutdown(t.Context())
	require.Positive(t, s.srv.ReadHeaderTimeout)
	require.Positive(t, s.srv.ReadTimeout)
	require.Positive(t, s.srv.WriteTimeout)
	require.Positive(t, s.srv.IdleTimeout)
}

// TestMethodLabelIsAClosedSet: invented, lower-case and long methods all
// become "other".
func TestMethodLabelIsAClosedSet(t *testing.T) {
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"} {
		require.Equal(t, m, MethodLabel(m))
	}
	for _, m := range []string{"get", "PROPFIND", "XYZZY", strings.Repeat("A", 1000), ""} {
		require.Equal(t, "other", MethodLabel(m))
	}
}
