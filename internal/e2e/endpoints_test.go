//go:build integration

package e2e

import (
	"context"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/workflows"
)

// metadataFields are the reference's POST /metadata fields with the JSON
// type each has when known ("integer": a whole number).
var metadataFields = map[string]string{
	"title": "string", "duration": "number", "width": "integer", "height": "integer", "extractor": "string",
	"uploader": "string", "thumbnail": "string", "description": "string", "view_count": "integer",
	"like_count": "integer", "upload_date": "string", "filesize_approx": "integer",
}

// requireMetadataTypes checks every reference field is present, null or of
// its type.
func requireMetadataTypes(t *testing.T, m map[string]any) {
	t.Helper()
	for k, typ := range metadataFields {
		v, ok := m[k]
		require.True(t, ok, "field %s missing: %v", k, m)
		if v == nil {
			continue
		}
		switch typ {
		case "string":
			require.IsType(t, "", v, k)
		case "number":
			require.IsType(t, 0.0, v, k)
		case "integer":
			f, isNum := v.(float64)
			require.True(t, isNum && f == math.Trunc(f), "%s: %v is no integer", k, v)
		}
	}
}

func TestMetadataDescribesSourcesWithoutDownloading(t *testing.T) {
	requireStack(t)
	t.Parallel()
	t.Run("media file, probed natively", func(t *testing.T) {
		t.Parallel()
		st, err := os.Stat(filepath.Join(stack.mediaDir, devstack.SampleMP4))
		require.NoError(t, err)
		status, m := call(t, http.MethodPost, "/metadata", map[string]any{"url": stack.media + "/" + devstack.SampleMP4})
		require.Equal(t, http.StatusOK, status, "%v", m)
		t.Logf("%v", m)
		requireMetadataTypes(t, m)
		require.Equal(t, "http", m["source"])
		require.Equal(t, "clip", m["title"], "no title tag: the file's name, as yt-dlp names a direct link")
		require.Greater(t, m["duration"], 1.0)
		require.Greater(t, m["width"], 0.0)
		require.Greater(t, m["height"], 0.0)
		require.EqualValues(t, st.Size(), m["filesize_approx"])
		require.Equal(t, "generic", m["extractor"])
	})
	t.Run("page, through yt-dlp", func(t *testing.T) {
		t.Parallel()
		status, m := call(t, http.MethodPost, "/metadata", map[string]any{"url": stack.media + "/" + devstack.SamplePage})
		require.Equal(t, http.StatusOK, status, "%v", m)
		t.Logf("%v", m)
		requireMetadataTypes(t, m)
		require.Equal(t, "ytdlp", m["source"])
		require.Equal(t, "html5", m["extractor"])
		require.Equal(t, devstack.SampleTitle, m["title"], "the page's one video, unnumbered")
		require.Equal(t, devstack.SampleDescription, m["description"])
	})
	t.Run("HLS ladder, through yt-dlp", func(t *testing.T) {
		t.Parallel()
		status, m := call(t, http.MethodPost, "/metadata", map[string]any{"url": optionsMedia(t) + "/" + optHLS})
		require.Equal(t, http.StatusOK, status, "%v", m)
		t.Logf("%v", m)
		requireMetadataTypes(t, m)
		require.Equal(t, "ytdlp", m["source"])
		require.EqualValues(t, 240, m["height"], "the best rendition: %v", m)
	})
	t.Run("missing source is a 422 in words", func(t *testing.T) {
		t.Parallel()
		status, m := call(t, http.MethodPost, "/metadata", map[string]any{"url": stack.media + "/missing.mp4"})
		require.Equal(t, http.StatusUnprocessableEntity, status, "%v", m)
		require.Equal(t, "unreadable_source", m["code"])
		require.Contains(t, m["error"], "404")
	})
	t.Run("validated as POST /jobs", func(t *testing.T) {
		t.Parallel()
		status, m := call(t, http.MethodPost, "/metadata", map[string]any{"url": "http://10.1.2.3/v.mp4"})
		require.Equal(t, http.StatusBadRequest, status, "%v", m)
		require.Equal(t, "url", m["field"])
	})
}

// TestMetadataLookupIsRecorded: one lookup is one Metadata workflow with
// one activity, as its history (recorded for the replay tests) shows.
func TestMetadataLookupIsRecorded(t *testing.T) {
	requireStack(t)
	t.Parallel()
	url := stack.media + "/" + devstack.SampleMP4
	status, m := call(t, http.MethodPost, "/metadata", map[string]any{"url": url})
	require.Equal(t, http.StatusOK, status, "%v", m)
	id, _ := m["workflow_id"].(string)
	require.Regexp(t, `^metadata-`, id)
	require.Equal(t, []string{workflows.FetchMetadata.Name()}, activityTypes(t, id))
	recordHistory(t, stack.temporal, "metadata_lookup", id, "")
}

// activityTypes lists the activities a workflow scheduled, in order.
func activityTypes(t *testing.T, workflowID string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var names []string
	it := stack.temporal.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			names = append(names, a.GetActivityType().GetName())
		}
	}
	return names
}

// plainGet fetches url with a plain client (no key, no redirects taken
// for granted) and returns its status.
func plainGet(t *testing.T, url string) int {
	t.Helper()
	res, err := (&http.Client{Timeout: 30 * time.Second}).Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

func TestDeleteJobFileLeavesThePresignedURLDead(t *testing.T) {
	requireStack(t)
	t.Parallel()
	id := submit(t, map[string]any{"url": stack.media + "/" + devstack.SamplePage, "webhook_url": stack.hookURL,
		"folder": "e2e/delete", "download_subtitles": true, "download_thumbnail": true})
	done := stack.hooks.waitTerminal(t, id, jobTimeout)
	require.Equal(t, "job_completed", done.Body["type"], "%s", done.Raw)

	status, job := call(t, http.MethodGet, "/jobs/"+id, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, false, job["file_deleted"])
	require.Nil(t, job["file_deleted_at"])
	urls := map[string]string{}
	for _, k := range []string{"s3_url", "subtitle_url", "thumbnail_url"} {
		u, ok := job[k].(string)
		require.True(t, ok, "%s: %v", k, job[k])
		urls[k] = u
		require.Equal(t, http.StatusOK, plainGet(t, u), k)
	}

	// Three DELETEs at once delete the file once: one answers, the
	// others are told it is gone.
	type answer struct {
		status int
		body   map[string]any
	}
	answers := make([]answer, 3)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			s, b := call(t, http.MethodDelete, "/jobs/"+id+"/file", nil)
			answers[i] = answer{s, b}
		})
	}
	wg.Wait()
	var won map[string]any
	for _, a := range answers {
		switch a.status {
		case http.StatusOK:
			require.Nil(t, won, "two DELETEs answered 200: %v", answers)
			won = a.body
		case http.StatusConflict:
			require.Contains(t, a.body["error"], "already been deleted")
		default:
			t.Fatalf("DELETE answered %d: %v", a.status, a.body)
		}
	}
	require.NotNil(t, won, "%v", answers)
	require.IsType(t, "", won["message"])
	require.Equal(t, id, won["job_id"])
	require.Equal(t, job["s3_key"], won["deleted_key"])
	require.ElementsMatch(t, []any{job["s3_key"], job["subtitle_key"], job["thumbnail_key"]}, won["deleted_keys"])

	for k, u := range urls {
		require.Equal(t, http.StatusNotFound, plainGet(t, u), "%s after the deletion", k)
	}
	status, job = call(t, http.MethodGet, "/jobs/"+id, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, true, job["file_deleted"])
	require.IsType(t, 0.0, job["file_deleted_at"])
	require.Equal(t, "Completed", job["status"])
	for k := range urls {
		require.Nil(t, job[k], k)
	}
	status, again := call(t, http.MethodDelete, "/jobs/"+id+"/file", nil)
	require.Equal(t, http.StatusConflict, status, "%v", again)

	// The list says so too (visibility may lag the deletion a moment).
	require.Eventually(t, func() bool {
		_, page := call(t, http.MethodGet, "/jobs?folder=e2e/delete", nil)
		for _, j := range page["jobs"].([]any) {
			if j := j.(map[string]any); j["id"] == id {
				return j["file_deleted"] == true && j["s3_url"] == nil
			}
		}
		return false
	}, 30*time.Second, 200*time.Millisecond)
	recordHistory(t, stack.temporal, "delete_job_file", workflows.FileDeletedWorkflowID(id), "")
}

func TestDeleteFileOfAJobWithoutOne(t *testing.T) {
	requireStack(t)
	t.Parallel()
	status, m := call(t, http.MethodDelete, "/jobs/0b3c1a9e-0000-4000-8000-000000000000/file", nil)
	require.Equal(t, http.StatusNotFound, status, "%v", m)
	id := submit(t, map[string]any{"url": stack.media + "/missing.mp4", "webhook_url": stack.hookURL})
	done := stack.hooks.waitTerminal(t, id, jobTimeout)
	require.Equal(t, "job_failed", done.Body["type"], "%s", done.Raw)
	status, m = call(t, http.MethodDelete, "/jobs/"+id+"/file", nil)
	require.Equal(t, http.StatusConflict, status, "%v", m)
	require.Contains(t, m["error"], "Completed")
}
