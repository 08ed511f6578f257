//go:build integration

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/devstack"
)

// seedClientReport is what testdata/seed-client.js prints.
type seedClientReport struct {
	Why  string `json:"why"`
	Jobs struct {
		Plain, Progress, Failing, Encoded struct {
			JobID string `json:"job_id"`
		}
		Batch struct {
			BatchID string `json:"batch_id"`
		}
		Paused struct {
			BatchID     string   `json:"batch_id"`
			EpisodeJobs []string `json:"episode_jobs"`
		}
	} `json:"jobs"`
	Seen struct {
		Completed map[string]struct {
			Status string `json:"status"`
			Key    string `json:"key"`
			S3URL  string `json:"s3_url"`
		} `json:"completed"`
		Failed   map[string]struct{ Status, Error string } `json:"failed"`
		Progress map[string][][2]any                       `json:"progress"`
		Batches  map[string]struct {
			Status                   string
			Total, Completed, Failed int
			Folder                   string
		} `json:"batches"`
		Other []string `json:"other"`
	} `json:"seen"`
	// Problems are the answers that lack a field of the API reference or
	// have it with another type.
	Problems []string `json:"problems"`
}

// A client written only from the hosted service's documentation (the seed's
// curl requests and Node.js handler, in testdata/seed-client.js) works
// against riptide with nothing changed but the base URL: jobs, progress
// webhooks, a failure and a podcast batch.
func TestClientOfTheHostedServiceWorksUnchanged(t *testing.T) {
	requireStack(t)
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("RIPTIDE_REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("node is needed: %v", err)
		}
		t.Skip("node not installed")
	}
	clip, err := os.ReadFile(filepath.Join(stack.mediaDir, devstack.SampleMP4))
	require.NoError(t, err)
	const episodes = 3
	feed := serveClipFeed(clip, "Seed", episodes, 0)
	defer feed.Close()

	cmd := exec.Command(node, "testdata/seed-client.js")
	cmd.Env = append(os.Environ(),
		"BASE_URL="+stack.apiURL, "API_KEY="+testAPIKey,
		"MEDIA_URL="+stack.media+"/"+devstack.SampleMP4,
		"MISSING_URL="+stack.media+"/missing.mp4",
		"FEED_URL="+feed.URL+"/feed.xml",
		fmt.Sprintf("TIMEOUT_MS=%d", jobTimeout.Milliseconds()))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	t.Logf("seed client: %s", out)
	require.NoError(t, err, "seed client: %s %s", out, stderr.String())
	var rep seedClientReport
	require.NoError(t, json.Unmarshal(out, &rep), "%s", out)
	require.Equal(t, "done", rep.Why, "%s", out)
	require.Empty(t, rep.Problems, "answers as the API reference documents them")

	for _, id := range []string{rep.Jobs.Plain.JobID, rep.Jobs.Progress.JobID} {
		c := rep.Seen.Completed[id]
		require.Equal(t, "completed", c.Status)
		require.True(t, bytes.Equal(clip, stored(t, c.Key)), "object %s is the clip", c.Key)
		require.Equal(t, clip, fetch(t, c.S3URL), "s3_url serves the object")
	}
	// The Custom Encoding request's object is what it asked for.
	enc := rep.Seen.Completed[rep.Jobs.Encoded.JobID]
	require.True(t, strings.HasSuffix(enc.Key, "/encoded.mkv") || enc.Key == "encoded.mkv", enc.Key)
	p := probeFull(t, enc.Key)
	require.Equal(t, "hevc", p["stream.0.codec_name"], "%v", p)
	require.Equal(t, "opus", p["stream.1.codec_name"], "%v", p)

	f := rep.Seen.Failed[rep.Jobs.Failing.JobID]
	require.Equal(t, "failed", f.Status)
	require.Contains(t, f.Error, "404")

	var stages []string
	for _, p := range rep.Seen.Progress[rep.Jobs.Progress.JobID] {
		stages = append(stages, fmt.Sprint(p[0], " ", p[1]))
	}
	require.Equal(t, []string{"downloading 0", "download_complete 33", "muxing 33", "mux_complete 66", "uploading 66"}, stages)
	require.Empty(t, rep.Seen.Progress[rep.Jobs.Plain.JobID], "progress only when asked for")

	b := rep.Seen.Batches[rep.Jobs.Batch.BatchID]
	require.Equal(t, "completed", b.Status)
	require.Equal(t, episodes, b.Total)
	require.Equal(t, episodes, b.Completed)
	require.Zero(t, b.Failed)
	require.Equal(t, "my-podcast-2024", b.Folder)
	// The paused batch ran after its start, its first episode renamed.
	pb := rep.Seen.Batches[rep.Jobs.Paused.BatchID]
	require.Equal(t, "completed", pb.Status)
	require.Equal(t, episodes, pb.Completed)
	require.Len(t, rep.Jobs.Paused.EpisodeJobs, episodes)
	first := rep.Seen.Completed[rep.Jobs.Paused.EpisodeJobs[0]]
	require.Equal(t, "paused-podcast-2024/01 - Introduction.mp4", first.Key)
	require.Equal(t, clip, stored(t, first.Key))
	require.Empty(t, rep.Seen.Other, "only documented webhook types")

	// The episode whose file the client deleted is gone from the bucket.
	var views struct {
		Deleted struct {
			Episode    string `json:"episode"`
			DeletedKey string `json:"deleted_key"`
		} `json:"deleted"`
	}
	require.NoError(t, json.Unmarshal(viewsOf(t, out), &views))
	require.NotEmpty(t, views.Deleted.DeletedKey, "%s", out)
	_, err = stack.store.GetObject(t.Context(), views.Deleted.DeletedKey)
	require.Error(t, err, "object %s deleted", views.Deleted.DeletedKey)
}

// viewsOf is the "views" part of the seed client's report.
func viewsOf(t *testing.T, out []byte) []byte {
	t.Helper()
	var rep struct {
		Views json.RawMessage `json:"views"`
	}
	require.NoError(t, json.Unmarshal(out, &rep))
	return rep.Views
}
