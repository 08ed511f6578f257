//go:build integration

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/api"
	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/internal/tenants"
	"github.com/riptide-dev/riptide/workflows"
)

// callAs sends a request with key to the API at base and decodes its JSON
// answer; raw is the body as sent.
func callAs(t *testing.T, base, key, method, path string, body any) (status int, out map[string]any, raw string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, rd)
	require.NoError(t, err)
	req.Header.Set("x-api-key", key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &out), "%s", b)
	return res.StatusCode, out, string(b)
}

// writeTenants writes the tenants file with its own modification time, so
// a reload within the same second still sees the change.
func writeTenants(t *testing.T, path string, f tenants.File, mtime time.Time) {
	t.Helper()
	b, err := json.Marshal(f)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o600))
	require.NoError(t, os.Chtimes(path, mtime, mtime))
}

// TestTenantsAreIsolatedAndQuotaStopsABatch runs two tenants on the real
// stack: B can neither see nor cancel nor delete A's job; a storage quota
// set (by reloading the tenants file) just above B's usage lets one
// episode of B's batch complete and fails the others with the quota's
// error, batch_completed arriving once with those counts; GET /usage
// matches the objects in the bucket; a create over quota is the
// reference's 403.
func TestTenantsAreIsolatedAndQuotaStopsABatch(t *testing.T) {
	requireStack(t)
	t.Parallel()
	suffix := uuid.NewString()[:8]
	ta, tb, tc := "ta-"+suffix, "tb-"+suffix, "tc-"+suffix
	keyA, keyB, keyC := "sk_e2e_a_"+suffix, "sk_e2e_b_"+suffix, "sk_e2e_c_"+suffix
	td, keyD := "td-"+suffix, "sk_e2e_d_"+suffix
	path := filepath.Join(t.TempDir(), "tenants.json")
	t0 := time.Now().Add(-time.Hour)
	file := tenants.File{Tenants: []tenants.Tenant{
		{ID: ta, Keys: []string{tenants.HashKey(keyA)}},
		{ID: tb, Keys: []string{tenants.HashKey(keyB)}},
		// C may store no file over 1000 bytes: the clip is larger.
		{ID: tc, Keys: []string{tenants.HashKey(keyC)}, Limits: workflows.TenantLimits{MaxFileSizeBytes: 1000}},
		// D may store nothing above 16p: the clip is larger.
		{ID: td, Keys: []string{tenants.HashKey(keyD)}, Limits: workflows.TenantLimits{MaxResolution: 16}},
	}}
	writeTenants(t, path, file, t0)
	store, err := tenants.NewStore(nil, path, nil)
	require.NoError(t, err)
	guard, err := stack.cfg.Guard()
	require.NoError(t, err)
	hooks := &receiver{}
	hookSrv := serve(hooks)
	t.Cleanup(hookSrv.Close)
	srv := serve(api.NewRouter(api.Deps{
		Temporal: stack.temporal, TaskQueue: stack.cfg.Temporal.TaskQueue, Store: stack.store,
		Tenants: store, Guard: guard, BatchListWait: 20 * time.Second, BatchWindow: 1,
	}))
	t.Cleanup(srv.Close)
	base := srv.URL

	folderA, folderB := "e2e/tenant-a-"+suffix, "e2e/tenant-b-"+suffix
	clipURL := stack.media + "/" + devstack.SampleMP4
	create := func(key, folder string) string {
		status, out, _ := callAs(t, base, key, http.MethodPost, "/jobs",
			map[string]any{"url": clipURL, "folder": folder, "webhook_url": hookSrv.URL + "/hook"})
		require.Equal(t, http.StatusCreated, status, "%v", out)
		return out["job_id"].(string)
	}
	folderC := "e2e/tenant-c-" + suffix
	folderD := "e2e/tenant-d-" + suffix
	jobA, jobB, jobC, jobD := create(keyA, folderA), create(keyB, folderB), create(keyC, folderC), create(keyD, folderD)
	require.Equal(t, "job_completed", hooks.waitTerminal(t, jobA, 2*time.Minute).Body["type"])
	require.Equal(t, "job_completed", hooks.waitTerminal(t, jobB, 2*time.Minute).Body["type"])
	// C's source is over its file size limit: failed for good, saying so,
	// nothing in the bucket.
	failedC := hooks.waitTerminal(t, jobC, 2*time.Minute)
	require.Equal(t, "job_failed", failedC.Body["type"])
	_, viewC, _ := callAs(t, base, keyC, http.MethodGet, "/jobs/"+jobC, nil)
	require.Equal(t, "Failed", viewC["status"])
	require.Contains(t, viewC["error"], "larger than the tenant's file size limit (1000 bytes)")
	require.Empty(t, listSizes(t, folderC+"/"))
	require.Equal(t, "job_failed", hooks.waitTerminal(t, jobD, 2*time.Minute).Body["type"])
	_, viewD, _ := callAs(t, base, keyD, http.MethodGet, "/jobs/"+jobD, nil)
	require.Contains(t, viewD["error"], "no rendition within the tenant's resolution limit of 16p")
	require.Empty(t, listSizes(t, folderD+"/"))
	_, usageC, _ := callAs(t, base, keyC, http.MethodGet, "/usage", nil)
	require.EqualValues(t, 1000, usageC["max_filesize_limit_bytes"])

	// B against A's job: the answers of a missing id, and nothing done.
	missing := uuid.NewString()
	for _, r := range []struct{ method, path string }{
		{http.MethodGet, "/jobs/%s"}, {http.MethodDelete, "/jobs/%s"}, {http.MethodDelete, "/jobs/%s/file"},
		{http.MethodPost, "/jobs/%s/retry"}, {http.MethodGet, "/jobs/%s/webhooks"},
	} {
		status, _, got := callAs(t, base, keyB, r.method, fmt.Sprintf(r.path, jobA), nil)
		wantStatus, _, want := callAs(t, base, keyB, r.method, fmt.Sprintf(r.path, missing), nil)
		require.Equal(t, http.StatusNotFound, status, "%s %s: %s", r.method, r.path, got)
		require.Equal(t, wantStatus, status)
		require.JSONEq(t, want, got, "%s %s", r.method, r.path)
	}
	status, view, _ := callAs(t, base, keyA, http.MethodGet, "/jobs/"+jobA, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "Completed", view["status"])
	require.NotNil(t, view["s3_url"], "A's file is still there")
	// Each lists only its own.
	for _, c := range []struct{ key, own, other string }{{keyA, jobA, jobB}, {keyB, jobB, jobA}} {
		_, list, raw := callAs(t, base, c.key, http.MethodGet, "/jobs", nil)
		require.EqualValues(t, 1, list["total"], raw)
		require.Contains(t, raw, c.own)
		require.NotContains(t, raw, c.other)
		_, _, raw = callAs(t, base, c.key, http.MethodGet, "/dashboard/jobs", nil)
		require.Contains(t, raw, c.own)
		require.NotContains(t, raw, c.other)
	}
	// The default tenant's queries (RiptideTenant IS NULL counts as
	// default) are accepted by this server and show neither.
	for _, p := range []string{"/jobs", "/dashboard/stats", "/dashboard/daily", "/usage"} {
		status, _, raw := callAt2(t, p)
		require.Equal(t, http.StatusOK, status, "%s: %s", p, raw)
		require.NotContains(t, raw, jobA)
	}

	// B's usage so far; then a quota just above it, by reloading the file.
	_, usage, _ := callAs(t, base, keyB, http.MethodGet, "/usage", nil)
	usedB := int64(usage["storage_usage_bytes"].(float64))
	require.Equal(t, sumSizes(listSizes(t, folderB+"/")), usedB, "usage is the bucket's bytes")
	file.Tenants[1].Limits.StorageBytes = usedB + 1
	writeTenants(t, path, file, t0.Add(time.Minute))
	require.NoError(t, store.Reload())

	clip, err := os.ReadFile(filepath.Join(stack.mediaDir, devstack.SampleMP4))
	require.NoError(t, err)
	feed := serveClipFeed(clip, "Quota", 3, 0)
	t.Cleanup(feed.Close)
	status, batch, raw := callAs(t, base, keyB, http.MethodPost, "/batches", map[string]any{
		"show_url": feed.URL + "/feed.xml", "folder": folderB, "webhook_url": hookSrv.URL + "/hook"})
	require.Equal(t, http.StatusCreated, status, raw)
	batchID := batch["batch_id"].(string)
	// A cannot see B's batch.
	status, _, _ = callAs(t, base, keyA, http.MethodGet, "/batches/"+batchID, nil)
	require.Equal(t, http.StatusNotFound, status)
	done := waitBatchCompleted(t, hooks, 3*time.Minute)
	require.Equal(t, batchID, done["batch_id"])
	require.EqualValues(t, 3, done["total_episodes"])
	require.EqualValues(t, 1, done["completed_episodes"], "the episode that crossed the quota completes")
	require.EqualValues(t, 2, done["failed_episodes"])
	_, page, _ := callAs(t, base, keyB, http.MethodGet, "/batches/"+batchID, nil)
	failed := 0
	for _, e := range page["episodes"].([]any) {
		ep := e.(map[string]any)
		if ep["status"] == "Failed" {
			failed++
			require.Contains(t, ep["error"], "Storage quota exceeded")
		}
	}
	require.Equal(t, 2, failed)

	// Usage matches the bucket: B's two completed files, A's one.
	objectsB := listSizes(t, folderB+"/")
	require.Len(t, objectsB, 2, "nothing of the refused episodes is in the bucket")
	require.Eventually(t, func() bool {
		_, u, _ := callAs(t, base, keyB, http.MethodGet, "/usage", nil)
		return int64(u["storage_usage_bytes"].(float64)) == sumSizes(objectsB)
	}, 30*time.Second, 500*time.Millisecond, "B's usage reaches its bucket's bytes")
	_, u, _ := callAs(t, base, keyB, http.MethodGet, "/usage", nil)
	require.Equal(t, tb, u["client_name"])
	require.EqualValues(t, 4, u["usage_count"], "B's job and the batch's three episodes")
	require.EqualValues(t, usedB+1, u["storage_limit_bytes"])
	require.EqualValues(t, 0, u["storage_remaining_gb"])
	_, u, _ = callAs(t, base, keyA, http.MethodGet, "/usage", nil)
	require.Equal(t, ta, u["client_name"])
	require.EqualValues(t, 1, u["usage_count"])
	require.EqualValues(t, sumSizes(listSizes(t, folderA+"/")), u["storage_usage_bytes"])
	require.Nil(t, u["storage_limit_bytes"])

	// Over quota, a create is the reference's 403; A is not limited.
	status, out, raw := callAs(t, base, keyB, http.MethodPost, "/jobs", map[string]any{"url": clipURL, "folder": folderB})
	require.Equal(t, http.StatusForbidden, status, raw)
	require.Equal(t, "Storage quota exceeded", out["error"])
	for _, k := range []string{"limit_gb", "used_gb", "message"} {
		require.Contains(t, out, k)
	}
	status, _, raw = callAs(t, base, keyB, http.MethodPost, "/batches", map[string]any{"show_url": feed.URL + "/feed.xml"})
	require.Equal(t, http.StatusForbidden, status, raw)
	status, _, raw = callAs(t, base, keyA, http.MethodPost, "/jobs", map[string]any{"url": clipURL, "folder": folderA + "/more"})
	require.Equal(t, http.StatusCreated, status, raw)
	// A revoked key stops working at the next reload.
	file.Tenants[0].Keys = nil
	writeTenants(t, path, file, t0.Add(2*time.Minute))
	require.NoError(t, store.Reload())
	status, _, _ = callAs(t, base, keyA, http.MethodGet, "/usage", nil)
	require.Equal(t, http.StatusUnauthorized, status)
}

// callAt2 reads path from the shared stack's API (the default tenant's
// key) with its raw body.
func callAt2(t *testing.T, path string) (int, map[string]any, string) {
	t.Helper()
	return callAs(t, stack.apiURL, testAPIKey, http.MethodGet, path, nil)
}

func sumSizes(m map[string]int64) int64 {
	var n int64
	for k, v := range m {
		if !strings.HasSuffix(k, ".json") { // a batch's manifest is not media
			n += v
		}
	}
	return n
}
