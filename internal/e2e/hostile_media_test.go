//go:build integration

package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/devstack"
)

// A job whose URL serves an HLS playlist as video/mp4, naming a file on
// the worker (by file:// URL, or another job's directory relative to its
// own), ends Failed saying what it got, and the bucket holds nothing of it.
// Before the input whitelists, ffprobe and ffmpeg detected the playlist by
// its content, read the worker's file and the job completed with a copy of
// it.
func TestPlaylistServedAsMediaFailsTheJob(t *testing.T) {
	requireStack(t)
	t.Parallel()
	// Worker-local media: another job's in-flight file, and one outside
	// the work directory.
	otherJob := filepath.Join(stack.cfg.Worker.WorkDir, "other-job-"+uuid.NewString()[:8])
	require.NoError(t, os.MkdirAll(otherJob, 0o755))
	t.Cleanup(func() { os.RemoveAll(otherJob) })
	inFlight := filepath.Join(otherJob, "source.ts")
	outside := filepath.Join(t.TempDir(), "internal-only.ts")
	for _, f := range []string{inFlight, outside} {
		out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-i", filepath.Join(stack.mediaDir, devstack.SampleMP4),
			"-c", "copy", "-bsf:v", "h264_mp4toannexb", "-f", "mpegts", f).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	segments := map[string]string{
		"file-url": "file://" + outside,
		"relative": "../" + filepath.Base(otherJob) + "/source.ts",
	}
	srv := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		segment, ok := segments[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "video/mp4")
		_, _ = w.Write([]byte("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:5\n#EXTINF:3.0,\n" + segment + "\n#EXT-X-ENDLIST\n"))
	}))
	t.Cleanup(srv.Close) // the parallel subtests run after this function returns

	for name := range segments {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			folder := "e2e/hostile-" + uuid.NewString()[:8]
			id := submit(t, map[string]any{"url": srv.URL + "/" + name, "webhook_url": stack.hookURL, "folder": folder})
			done := stack.hooks.waitTerminal(t, id, jobTimeout)
			require.Equal(t, "job_failed", done.Body["type"], "%s", done.Raw)
			require.Contains(t, done.Body["error"], "is an HLS playlist, not a media file", "%s", done.Raw)
			status, job := call(t, http.MethodGet, "/jobs/"+id, nil)
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, "Failed", job["status"])
			objects, uploads := objectsUnder(t, folder+"/")
			require.Zero(t, objects, "objects in the bucket")
			require.Zero(t, uploads, "multipart uploads in the bucket")
		})
	}
}

// Every object's Content-Type is riptide's, never guessed from a name: a
// client's filename "page.html" stores the media as video/mp4 and its
// subtitles as text/vtt, so a presigned URL never serves a page.
func TestObjectContentTypeIsNotTheFilenames(t *testing.T) {
	requireStack(t)
	t.Parallel()
	folder := "e2e/ctype-" + uuid.NewString()[:8]
	id := submit(t, map[string]any{"url": stack.media + "/" + devstack.SamplePage, "webhook_url": stack.hookURL,
		"folder": folder, "filename": "page.html", "download_subtitles": true})
	done := stack.hooks.waitTerminal(t, id, jobTimeout)
	require.Equal(t, "job_completed", done.Body["type"], "%s", done.Raw)
	key, _ := done.Body["key"].(string)
	sub, _ := done.Body["subtitle_key"].(string)
	require.True(t, strings.HasPrefix(key, folder+"/page.html"), key)
	require.True(t, strings.HasSuffix(sub, ".en.vtt"), sub)
	for k, want := range map[string]string{key: "video/mp4", sub: "text/vtt"} {
		head, err := stack.store.Client().HeadObject(context.Background(),
			&s3.HeadObjectInput{Bucket: aws.String(stack.cfg.S3.Bucket), Key: aws.String(k)})
		require.NoError(t, err)
		require.Equal(t, want, aws.ToString(head.ContentType), k)
	}
}
