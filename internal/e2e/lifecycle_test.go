//go:build integration

package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/workflows"
)

// listAll follows next_cursor through every page of GET /jobs?query and
// returns the job ids in order and the number of pages.
func listAll(t *testing.T, query url.Values) (ids []string, pages int) {
	t.Helper()
	for cursor := ""; ; {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		status, body := call(t, http.MethodGet, "/jobs?"+q.Encode(), nil)
		require.Equal(t, http.StatusOK, status, "%v", body)
		pages++
		jobs := body["jobs"].([]any)
		if limit := query.Get("limit"); limit != "" {
			require.LessOrEqual(t, fmt.Sprint(len(jobs)), limit)
		}
		for _, j := range jobs {
			ids = append(ids, j.(map[string]any)["id"].(string))
		}
		next, _ := body["next_cursor"].(string)
		if next == "" {
			require.Nil(t, body["next_cursor"])
			return ids, pages
		}
		cursor = next
	}
}

// eventuallyListed waits until GET /jobs?query lists exactly want, in any
// order: visibility follows the workflows by a moment.
func eventuallyListed(t *testing.T, query url.Values, want []string) {
	t.Helper()
	var got []string
	require.Eventually(t, func() bool {
		got, _ = listAll(t, query)
		return sameSet(got, want)
	}, time.Minute, 250*time.Millisecond, "GET /jobs?%s", query.Encode())
	require.ElementsMatch(t, want, got, "GET /jobs?%s", query.Encode())
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestListJobsFiltersAndPages(t *testing.T) {
	requireStack(t)
	t.Parallel()
	tag := uuid.NewString()[:8]
	folder := "e2e/list-" + tag
	clip := stack.media + "/" + devstack.SampleMP4
	var ok []string
	for range 4 {
		ok = append(ok, submit(t, map[string]any{"url": clip, "folder": folder, "webhook_url": stack.hookURL}))
	}
	failed := submit(t, map[string]any{"url": stack.media + "/missing.mp4", "folder": folder, "webhook_url": stack.hookURL})
	// A quote in a folder is a legal folder and stays a value in the query.
	quoted := "e2e/it's-" + tag
	other := submit(t, map[string]any{"url": clip, "folder": quoted, "webhook_url": stack.hookURL})
	for _, id := range append([]string{failed, other}, ok...) {
		stack.hooks.waitTerminal(t, id, jobTimeout)
	}
	all := append([]string{failed}, ok...)

	// Five jobs, two a page: three pages, every job once. A job's webhook
	// comes just before its workflow closes, and the list is ordered by
	// close time: wait until every record is closed, or one could move
	// between two pages.
	eventuallyListed(t, url.Values{"folder": {folder}}, all)
	require.Eventually(t, func() bool {
		_, body := call(t, http.MethodGet, "/jobs?"+url.Values{"folder": {folder}}.Encode(), nil)
		jobs, _ := body["jobs"].([]any)
		for _, j := range jobs {
			if j.(map[string]any)["completed_at"] == nil {
				return false
			}
		}
		return len(jobs) == len(all)
	}, time.Minute, 100*time.Millisecond, "jobs of %s never all listed closed", folder)
	ids, pages := listAll(t, url.Values{"folder": {folder}, "limit": {"2"}})
	require.ElementsMatch(t, all, ids)
	require.GreaterOrEqual(t, pages, 3)
	// The hosted service's paging: limit, offset and total, in the
	// cursor's order.
	for _, offset := range []int{0, 2, 4, 6} {
		status, body := call(t, http.MethodGet, "/jobs?"+url.Values{"folder": {folder}, "limit": {"2"},
			"offset": {fmt.Sprint(offset)}}.Encode(), nil)
		require.Equal(t, http.StatusOK, status, "%v", body)
		require.EqualValues(t, len(all), body["total"])
		require.EqualValues(t, 2, body["limit"])
		require.EqualValues(t, offset, body["offset"])
		got := []string{}
		for _, j := range body["jobs"].([]any) {
			got = append(got, j.(map[string]any)["id"].(string))
		}
		require.Equal(t, ids[min(offset, len(ids)):min(offset+2, len(ids))], got, "offset %d", offset)
	}

	eventuallyListed(t, url.Values{"folder": {folder}, "status": {"completed"}}, ok)
	eventuallyListed(t, url.Values{"folder": {folder}, "status": {"FAILED"}}, []string{failed})
	eventuallyListed(t, url.Values{"folder": {folder}, "status": {"Processing"}}, nil)
	eventuallyListed(t, url.Values{"folder": {quoted}}, []string{other})

	// The views are GET /jobs/{id}'s.
	single := waitDone(t, other)
	var listed map[string]any
	require.Eventually(t, func() bool {
		status, body := call(t, http.MethodGet, "/jobs?"+url.Values{"folder": {quoted}}.Encode(), nil)
		require.Equal(t, http.StatusOK, status)
		listed = body["jobs"].([]any)[0].(map[string]any)
		return listed["completed_at"] != nil
	}, time.Minute, 100*time.Millisecond)
	for _, k := range []string{"id", "url", "status", "step", "key", "folder", "workflow_id", "run_id", "file_size_bytes", "error", "retry_of"} {
		require.Equal(t, single[k], listed[k], k)
	}
	// Visibility keeps times to the microsecond.
	for _, k := range []string{"created_at_iso", "completed_at"} {
		a, err := time.Parse(time.RFC3339Nano, single[k].(string))
		require.NoError(t, err)
		b, err := time.Parse(time.RFC3339Nano, listed[k].(string))
		require.NoError(t, err)
		require.WithinDuration(t, a, b, time.Millisecond, k)
	}
	// The hosted service's created_at and finished_at: epoch milliseconds.
	for _, k := range []string{"created_at", "finished_at"} {
		a, ok := single[k].(float64)
		require.True(t, ok, "%s is %T, want a number", k, single[k])
		require.Equal(t, float64(int64(a)), a, k)
		require.InDelta(t, a, listed[k].(float64), 1, k)
	}
	require.InDelta(t, single["finished_at"].(float64), float64(mustTime(t, single["completed_at"]).UnixMilli()), 1)
	require.Equal(t, single["file_size_bytes"], single["file_size"])
	require.Equal(t, single["key"], listed["s3_key"])
	require.NotNil(t, listed["s3_url"])

	// Query injection through the folder finds nothing rather than everything.
	for _, f := range []string{folder + "' OR WorkflowType = 'Job", folder + "') OR (WorkflowType = 'Job"} {
		ids, _ := listAll(t, url.Values{"folder": {f}})
		require.Empty(t, ids, f)
	}

	// A damaged cursor is the client's error, not Temporal's.
	status, body := call(t, http.MethodGet, "/jobs?"+url.Values{"folder": {folder}, "limit": {"2"}}.Encode(), nil)
	require.Equal(t, http.StatusOK, status)
	cursor := []byte(body["next_cursor"].(string))
	cursor[len(cursor)/2] ^= 1
	for _, garbled := range []string{string(cursor), base64.RawURLEncoding.EncodeToString([]byte("not a page token"))} {
		status, body = call(t, http.MethodGet, "/jobs?"+url.Values{"cursor": {garbled}}.Encode(), nil)
		require.Equal(t, http.StatusBadRequest, status, "%v", body)
		require.Equal(t, "cursor", body["field"])
	}
}

func TestListJobsOfABatch(t *testing.T) {
	requireStack(t)
	t.Parallel()
	clip, err := os.ReadFile(filepath.Join(stack.mediaDir, devstack.SampleMP4))
	require.NoError(t, err)
	feed := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/show.rss" {
			w.Header().Set("Content-Type", "application/rss+xml")
			_, _ = fmt.Fprintf(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>List Show</title>`+
				`<item><title>One</title><enclosure url="/ep/1.mp4" type="video/mp4"/></item>`+
				`<item><title>Two</title><enclosure url="/ep/2.mp4" type="video/mp4"/></item></channel></rss>`)
			return
		}
		w.Header().Set("Content-Type", "video/mp4")
		_, _ = w.Write(clip)
	}))
	defer feed.Close()
	status, body := call(t, http.MethodPost, "/batches", map[string]any{"show_url": feed.URL + "/show.rss", "folder": "e2e/list-batch"})
	require.Equal(t, http.StatusCreated, status, "%v", body)
	batchID := body["batch_id"].(string)
	var jobIDs []string
	require.Eventually(t, func() bool {
		_, b := call(t, http.MethodGet, "/batch/"+batchID, nil)
		if b["completed_at"] == nil {
			return false
		}
		jobIDs = nil
		for _, ep := range b["episodes"].([]any) {
			jobIDs = append(jobIDs, ep.(map[string]any)["id"].(string))
		}
		return true
	}, jobTimeout, 250*time.Millisecond)
	require.Len(t, jobIDs, 2)
	eventuallyListed(t, url.Values{"batch_id": {batchID}}, jobIDs)
	eventuallyListed(t, url.Values{"batch_id": {batchID}, "status": {"completed"}}, jobIDs)
}

// trickle serves a "large" media file a few bytes at a time, forever, and
// reports when the client hung up.
func trickle(t *testing.T) (u string, requested, hungUp *atomic.Bool) {
	t.Helper()
	requested, hungUp = &atomic.Bool{}, &atomic.Bool{}
	srv := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requested.Store(true)
		defer hungUp.Store(true)
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("Content-Length", fmt.Sprint(1<<30))
		chunk := make([]byte, 4096)
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/big.mp4", requested, hungUp
}

// objectsUnder counts the objects and the unfinished multipart uploads
// under prefix.
func objectsUnder(t *testing.T, prefix string) (objects, uploads int) {
	t.Helper()
	ctx := context.Background()
	c, bucket := stack.store.Client(), aws.String(stack.cfg.S3.Bucket)
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: aws.String(prefix)})
	require.NoError(t, err)
	mp, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: bucket, Prefix: aws.String(prefix)})
	require.NoError(t, err)
	return len(out.Contents), len(mp.Uploads)
}

func TestCancelRunningDownload(t *testing.T) {
	requireStack(t)
	t.Parallel()
	src, requested, hungUp := trickle(t)
	folder := "e2e/cancel-" + uuid.NewString()[:8]
	id := submit(t, map[string]any{"url": src, "folder": folder, "webhook_url": stack.hookURL, "enable_progress_webhook": true})
	jobDir := filepath.Join(stack.cfg.Worker.WorkDir, id)
	require.Eventually(t, func() bool {
		_, err := os.Stat(jobDir)
		return requested.Load() && err == nil
	}, jobTimeout, 100*time.Millisecond, "download started")

	status, body := call(t, http.MethodDelete, "/jobs/"+id, nil)
	require.Equal(t, http.StatusAccepted, status, "%v", body)
	require.Equal(t, id, body["id"])

	job := waitDone(t, id)
	require.Equal(t, "Cancelled", job["status"], "%v", job)
	require.Equal(t, "Finished", job["step"])
	require.True(t, hungUp.Load(), "the download stopped")
	_, err := os.Stat(jobDir)
	require.True(t, os.IsNotExist(err), "temporary files removed: %v", err)
	objects, uploads := objectsUnder(t, folder+"/")
	require.Zero(t, objects)
	require.Zero(t, uploads)
	for _, d := range stack.hooks.forJob(id) {
		require.Equal(t, "progress", d.Body["type"], "no terminal webhook for a cancelled job")
	}

	// Finished: nothing left to cancel; listed under Cancelled.
	status, body = call(t, http.MethodDelete, "/jobs/"+id, nil)
	require.Equal(t, http.StatusConflict, status, "%v", body)
	require.Equal(t, "conflict", body["code"])
	eventuallyListed(t, url.Values{"folder": {folder}, "status": {"cancelled"}}, []string{id})
	recordHistory(t, stack.temporal, "job_cancelled_downloading", workflows.JobWorkflowID(id), "")
}

func TestRetryFailedJobRunsUnderANewID(t *testing.T) {
	requireStack(t)
	t.Parallel()
	clip, err := os.ReadFile(filepath.Join(stack.mediaDir, devstack.SampleMP4))
	require.NoError(t, err)
	var available atomic.Bool
	srv := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !available.Load() {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "video/mp4")
		_, _ = w.Write(clip)
	}))
	defer srv.Close()
	folder := "e2e/retry-" + uuid.NewString()[:8]
	id := submit(t, map[string]any{"url": srv.URL + "/later.mp4", "folder": folder, "webhook_url": stack.hookURL, "format": "mkv"})
	require.Equal(t, "job_failed", stack.hooks.waitTerminal(t, id, jobTimeout).Body["type"])
	require.Equal(t, "Failed", waitDone(t, id)["status"])

	available.Store(true)
	status, body := call(t, http.MethodPost, "/jobs/"+id+"/retry", nil)
	require.Equal(t, http.StatusAccepted, status, "%v", body)
	retry := body["job_id"].(string)
	require.NotEqual(t, id, retry)
	require.Equal(t, id, body["retry_of"])
	require.Equal(t, id, body["original_job_id"])
	require.NotEmpty(t, body["message"])

	// The same request again is the same retry.
	status, body = call(t, http.MethodPost, "/jobs/"+id+"/retry", nil)
	require.Equal(t, http.StatusOK, status, "%v", body)
	require.Equal(t, retry, body["job_id"])

	done := stack.hooks.waitTerminal(t, retry, jobTimeout)
	require.Equal(t, "job_completed", done.Body["type"], "%s", done.Raw)
	job := waitDone(t, retry)
	require.Equal(t, "Completed", job["status"])
	require.Equal(t, id, job["retry_of"])
	key := job["key"].(string)
	require.True(t, strings.HasPrefix(key, folder+"/") && strings.HasSuffix(key, ".mkv"), "same options: %s", key)
	require.NotEmpty(t, stored(t, key))

	_, orig := call(t, http.MethodGet, "/jobs/"+id, nil)
	require.Equal(t, "Failed", orig["status"], "the original keeps its outcome")
	status, body = call(t, http.MethodPost, "/jobs/"+retry+"/retry", nil)
	require.Equal(t, http.StatusConflict, status, "a completed job is not retried: %v", body)
	recordHistory(t, stack.temporal, "job_retry_completed", workflows.JobWorkflowID(retry), "")
}

func mustTime(t *testing.T, v any) time.Time {
	t.Helper()
	s, ok := v.(string)
	require.True(t, ok, "%v is not a string", v)
	at, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return at
}
