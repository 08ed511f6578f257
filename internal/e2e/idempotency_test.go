//go:build integration

package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/devstack"
)

func postWithKey(t *testing.T, body, key string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, stack.apiURL+"/jobs", bytes.NewReader([]byte(body)))
	require.NoError(t, err)
	req.Header.Set("x-api-key", testAPIKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-idempotency-key", key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	return res.StatusCode, out
}

// TestIdempotencyKeyOnRealTemporal: Temporal's duplicate-ID check is the
// idempotency store; the same key and body return the original job.
func TestIdempotencyKeyOnRealTemporal(t *testing.T) {
	requireStack(t)
	t.Parallel()
	key := "e2e-" + t.Name()
	body := `{"url":"` + stack.media + "/" + devstack.SampleMP4 + `","folder":"e2e/idem"}`
	status, first := postWithKey(t, body, key)
	require.Equal(t, http.StatusCreated, status, "%v", first)
	id := first["job_id"].(string)

	status, again := postWithKey(t, body, key)
	require.Equal(t, http.StatusOK, status, "%v", again)
	require.Equal(t, id, again["job_id"])
	require.Equal(t, true, again["cached"])

	status, other := postWithKey(t, `{"url":"`+stack.media+"/"+devstack.SampleMP4+`","folder":"e2e/other"}`, key)
	require.Equal(t, http.StatusConflict, status, "%v", other)
	require.Equal(t, "x-idempotency-key", other["field"])

	job := waitDone(t, id)
	require.Equal(t, "Completed", job["status"])
}
