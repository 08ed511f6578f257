//go:build integration

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/workflows"
)

const jobTimeout = 3 * time.Minute

// submit POSTs a job through the HTTP API as a client of the hosted service
// would, and returns its id.
func submit(t *testing.T, body map[string]any) string {
	t.Helper()
	status, resp := call(t, http.MethodPost, "/jobs", body)
	require.Equal(t, http.StatusCreated, status, "%v", resp)
	id, _ := resp["job_id"].(string)
	require.NotEmpty(t, id)
	return id
}

// call sends a request to the shared stack's API.
func call(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	return callAt(t, stack.apiURL, method, path, body)
}

// callAt sends a request with the test key to the API at base and decodes
// its JSON answer.
func callAt(t *testing.T, base, method, path string, body any) (int, map[string]any) {
	t.Helper()
	status, out, _ := callAs(t, base, testAPIKey, method, path, body)
	return status, out
}

// stored fetches an object straight from S3.
func stored(t *testing.T, key string) []byte {
	t.Helper()
	out, err := stack.store.Client().GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(stack.cfg.S3.Bucket), Key: aws.String(key)})
	require.NoError(t, err, "object %s", key)
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	require.NoError(t, err)
	return b
}

func fetch(t *testing.T, url string) []byte {
	t.Helper()
	res, err := http.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode, "GET %s", url)
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return b
}

// streams lists the codec types ffprobe finds in media bytes.
func streams(t *testing.T, media []byte) []string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "probe")
	require.NoError(t, os.WriteFile(f, media, 0o644))
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", f).Output()
	require.NoError(t, err)
	return strings.Fields(string(out))
}

func TestDASHJobMergesStreamsAndSendsEveryWebhook(t *testing.T) {
	requireStack(t)
	t.Parallel()
	url := stack.media + "/" + devstack.SampleDASH
	id := submit(t, map[string]any{
		"url": url, "webhook_url": stack.hookURL, "enable_progress_webhook": true, "folder": "e2e/dash",
	})
	done := stack.hooks.waitTerminal(t, id, jobTimeout)
	require.Equal(t, "job_completed", done.Body["type"], "%s", done.Raw)

	var seq []string
	for _, d := range stack.hooks.forJob(id) {
		require.Equal(t, "application/json", d.ContentType)
		require.NotEmpty(t, d.EventID)
		if d.Body["type"] == "progress" {
			seq = append(seq, fmt.Sprintf("%s:%v", d.Body["stage"], d.Body["progress_percent"]))
			require.Equal(t, url, d.Body["url"])
		} else {
			seq = append(seq, d.Body["type"].(string))
		}
	}
	require.Equal(t, []string{"downloading:0", "download_complete:33", "muxing:33", "mux_complete:66", "uploading:66", "job_completed"}, seq)

	b := done.Body
	key := b["key"].(string)
	require.True(t, strings.HasPrefix(key, "e2e/dash/"), key)
	require.True(t, strings.HasSuffix(key, ".mp4"), key)
	require.Equal(t, key, b["s3_key"])
	require.Equal(t, "completed", b["status"])
	require.Equal(t, url, b["url"])
	require.Equal(t, "e2e/dash", b["folder"])
	for _, k := range []string{"title", "description", "release_date", "subtitle_key"} {
		_, present := b[k]
		require.True(t, present, "key %s missing from job_completed", k)
	}
	require.Nil(t, b["subtitle_key"])

	obj := stored(t, key)
	require.EqualValues(t, len(obj), b["file_size_bytes"])
	require.Equal(t, obj, fetch(t, b["s3_url"].(string)), "s3_url serves the stored bytes")
	require.ElementsMatch(t, []string{"video", "audio"}, streams(t, obj), "muxed file has both streams")

	status, job := call(t, http.MethodGet, "/jobs/"+id, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "Completed", job["status"])
	require.Equal(t, "Finished", job["step"])
	require.EqualValues(t, 100, job["progress_percent"])
	require.Equal(t, key, job["key"])
	require.EqualValues(t, len(obj), job["file_size_bytes"])
	require.Equal(t, obj, fetch(t, job["s3_url"].(string)))
	require.Equal(t, "native_dash", job["download_strategy"], "riptide fetched the fragments yt-dlp listed")
	recordHistory(t, stack.temporal, "job_completed", workflows.JobWorkflowID(id), "")
}

func TestPageJobExtractsMetadataAndSubtitles(t *testing.T) {
	requireStack(t)
	t.Parallel()
	url := stack.media + "/" + devstack.SamplePage
	id := submit(t, map[string]any{
		"url": url, "webhook_url": stack.hookURL, "folder": "e2e/page", "download_subtitles": true, "format": "mkv",
	})
	done := stack.hooks.waitTerminal(t, id, jobTimeout)
	require.Equal(t, "job_completed", done.Body["type"], "%s", done.Raw)
	require.Len(t, stack.hooks.forJob(id), 1, "no progress webhooks unless asked")
	b := done.Body
	require.Equal(t, devstack.SampleTitle, b["title"])
	key := b["key"].(string)
	require.True(t, strings.HasSuffix(key, ".mkv"), key)
	sub, ok := b["subtitle_key"].(string)
	require.True(t, ok, "subtitle_key: %v", b["subtitle_key"])
	require.True(t, strings.HasPrefix(sub, "e2e/page/"), sub)
	require.Contains(t, string(stored(t, sub)), "Hello from riptide")
	require.ElementsMatch(t, []string{"video", "audio"}, streams(t, stored(t, key)))
	require.Equal(t, "native_http", downloadStrategy(t, id), "the page's video file, found by yt-dlp, fetched by riptide")
}

func TestDirectMediaURLUsesNativeDownload(t *testing.T) {
	requireStack(t)
	t.Parallel()
	url := stack.media + "/" + devstack.SampleMP4
	id := submit(t, map[string]any{"url": url, "webhook_url": stack.hookURL, "enable_progress_webhook": true})
	done := stack.hooks.waitTerminal(t, id, jobTimeout)
	require.Equal(t, "job_completed", done.Body["type"], "%s", done.Raw)
	var stages []any
	for _, d := range stack.hooks.forJob(id) {
		if d.Body["type"] == "progress" {
			stages = append(stages, d.Body["stage"])
		}
	}
	require.Equal(t, []any{"downloading", "download_complete", "muxing", "mux_complete", "uploading"}, stages)
	obj := stored(t, done.Body["key"].(string))
	require.EqualValues(t, len(obj), done.Body["file_size_bytes"])
	require.Nil(t, done.Body["folder"])
	require.ElementsMatch(t, []string{"video", "audio"}, streams(t, obj))
	// The sample already is an MP4 with one video and one audio stream:
	// the job skips the mux, so the object is the source byte for byte.
	src, err := os.ReadFile(filepath.Join(stack.mediaDir, devstack.SampleMP4))
	require.NoError(t, err)
	require.True(t, bytes.Equal(src, obj), "object differs from the source (%d vs %d bytes)", len(obj), len(src))
	ran := transferWorkers(t, id)
	require.Len(t, ran["Download"], 1, "%v", ran)
	require.Empty(t, ran["Mux"], "no mux activity for a download that already is the file")
	require.Equal(t, ran["Download"], ran["Upload"], "upload on the download's worker")
	require.Equal(t, "native_http", downloadStrategy(t, id))
	recordHistory(t, stack.temporal, "job_completed_mux_skipped", workflows.JobWorkflowID(id), "")
}

func TestMissingSourceFailsWithJobFailed(t *testing.T) {
	requireStack(t)
	t.Parallel()
	url := stack.media + "/missing.mp4"
	id := submit(t, map[string]any{"url": url, "webhook_url": stack.hookURL})
	done := stack.hooks.waitTerminal(t, id, jobTimeout)
	require.Equal(t, map[string]any{
		"type": "job_failed", "job_id": id, "status": "failed", "url": url, "error": done.Body["error"],
	}, done.Body)
	require.Contains(t, done.Body["error"], "404")

	status, job := call(t, http.MethodGet, "/jobs/"+id, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "Failed", job["status"])
	require.Contains(t, job["error"], "404")
	recordHistory(t, stack.temporal, "job_failed_not_found", workflows.JobWorkflowID(id), "")
}

func TestUnknownJobIs404(t *testing.T) {
	requireStack(t)
	status, body := call(t, http.MethodGet, "/jobs/0b3c1a9e-0000-4000-8000-000000000000", nil)
	require.Equal(t, http.StatusNotFound, status, "%v", body)
}
