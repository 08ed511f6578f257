package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/mocks"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

func TestRateLimitPerKey(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	tc := &mocks.Client{}
	router := NewRouter(Deps{
		Temporal: tc, Keys: []string{testKey, otherKey}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		RateLimit: 0.5, RateBurst: 2, Now: clock.now,
	})
	get := func(key string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/jobs/not-a-uuid", nil)
		req.Header.Set(apiKeyHeader, key)
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, req)
		return rec
	}
	// The burst passes (400: the id is bad, but the request got through).
	require.Equal(t, http.StatusBadRequest, get(testKey).Code)
	require.Equal(t, http.StatusBadRequest, get(testKey).Code)
	rec := get(testKey)
	requireError(t, rec, http.StatusTooManyRequests, codeRateLimited, "")
	require.Equal(t, "2", rec.Header().Get("Retry-After"), "one token every 2 s")
	// Another key has its own bucket.
	require.Equal(t, http.StatusBadRequest, get(otherKey).Code)
	// Refilled after the wait.
	clock.advance(1500 * time.Millisecond)
	require.Equal(t, "1", get(testKey).Header().Get("Retry-After"))
	clock.advance(500 * time.Millisecond)
	require.Equal(t, http.StatusBadRequest, get(testKey).Code)
	// Bad keys are refused before the limiter and spend nothing.
	for range 5 {
		require.Equal(t, http.StatusUnauthorized, get("wrong").Code)
	}
	tc.AssertNumberOfCalls(t, "ExecuteWorkflow", 0)
}
