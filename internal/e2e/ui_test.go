//go:build integration

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/workflows"
)

// playwrightEnv names the directory holding node_modules/playwright-core
// (make test-tools installs it from testdata/ui/package-lock.json; the
// Makefile exports the variable). uiArtifactsEnv, when set, is where the
// screenshots go instead of the test's temporary directory.
const (
	playwrightEnv  = "RIPTIDE_PLAYWRIGHT_DIR"
	uiArtifactsEnv = "RIPTIDE_UI_ARTIFACTS"
	chromiumPath   = "/usr/bin/chromium"
)

// uiReport is what testdata/ui/dashboard.cjs prints last.
type uiReport struct {
	Screenshots   []string            `json:"screenshots"`
	Steps         []map[string]string `json:"steps"`
	Stages        []string            `json:"stages"`
	JobID         string              `json:"job_id"`
	Redelivered   string              `json:"redelivered"`
	RetryID       string              `json:"retry_id"`
	WrongKeyError string              `json:"wrong_key_error"`
	FolderError   string              `json:"folder_error"`
	FailedError   string              `json:"failed_error"`
	EveryError    string              `json:"every_error"`
	SubID         string              `json:"subscription_id"`
	SubBatch      string              `json:"sub_batch"`
	FCP           *int                `json:"first_contentful_paint_ms"`
	WarmFCP       int                 `json:"warm_first_contentful_paint_ms"`
}

// TestWebDashboardInChromium drives the web dashboard in a real browser
// against the real stack: a wrong key refused, sign-in, a job submitted
// from the form (its validation error shown first) and followed live
// until Completed, found by the filters and the text search, its webhook
// attempts and a redelivery, a running job cancelled, retried and its
// retry cancelled, a failed job's error in words, a paused batch
// started, a subscription created from its form (its validation error
// first), its first check seen with its batch, Check now adding a sweep,
// Pause and Resume (each checked here through the API while the page
// waits), Delete behind a confirmation; sign-out; a screenshot of each
// page. The Go side then checks through the API that each click did what
// the page said.
func TestWebDashboardInChromium(t *testing.T) {
	requireStack(t)
	t.Parallel()
	node, err := exec.LookPath("node")
	dir := os.Getenv(playwrightEnv)
	if err == nil && dir != "" {
		_, err = os.Stat(filepath.Join(dir, "node_modules", "playwright-core", "package.json"))
	} else if err == nil {
		err = os.ErrNotExist
	}
	if err == nil {
		_, err = os.Stat(chromiumPath)
	}
	if err != nil {
		if os.Getenv("RIPTIDE_REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("node, chromium (%s) and playwright-core (%s) are needed: %v; run make test-tools", chromiumPath, playwrightEnv, err)
		}
		t.Skipf("node, chromium or playwright-core missing: %v", err)
	}
	artifacts := os.Getenv(uiArtifactsEnv)
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(artifacts, 0o755))

	// A download lasting a few seconds, so the page shows it running.
	slow := slowMedia(t, 6*time.Second) + "/clip.mp4"
	// A job that downloads forever until cancelled.
	endless, _, _ := trickle(t)
	cancelFolder := "e2e/ui-cancel-" + uuid.NewString()[:8]
	cancelID := submit(t, map[string]any{"url": endless, "folder": cancelFolder})
	// Whatever the page did not cancel (the job, its retry) is cancelled
	// before the endless source's server closes (cleanups run last
	// first): its Close waits for the downloads to end.
	t.Cleanup(func() {
		require.Eventually(t, func() bool {
			_, page := call(t, http.MethodGet, "/jobs?folder="+cancelFolder, nil)
			done := true
			for _, j := range page["jobs"].([]any) {
				if st := j.(map[string]any)["status"]; st == "Pending" || st == "Processing" {
					call(t, http.MethodDelete, "/jobs/"+j.(map[string]any)["id"].(string), nil)
					done = false
				}
			}
			return done
		}, time.Minute, 500*time.Millisecond)
	})
	// A job that fails: its source is not there.
	failedID := submit(t, map[string]any{"url": stack.media + "/missing-" + uuid.NewString()[:8] + ".mp4", "folder": "e2e/ui-failed"})
	// A paused batch with two episodes more than the window, their media
	// held until the page has paused the batch once started (answerUI
	// releases them), so it is running with episodes left to start.
	feed, _, release := slowFeed(t, workflows.DefaultBatchWindow+2, func(int) bool { return true })
	status, out := call(t, http.MethodPost, "/batches", map[string]any{"show_url": feed, "paused": true,
		"folder": "e2e/ui-batch-" + uuid.NewString()[:8]})
	require.Equal(t, http.StatusCreated, status, "%v", out)
	batchID := out["batch_id"].(string)
	folder := "e2e/ui-" + uuid.NewString()[:8]
	// The feed the page subscribes to: 3 episodes, backfill latest:1.
	subFeed := newSubFeed(t, 3)
	subFolder := "e2e/ui-sub-" + uuid.NewString()[:8]
	// Whatever subscription of that folder the page left (it failed
	// before Delete) is deleted before the feed closes.
	t.Cleanup(func() {
		_, list := call(t, http.MethodGet, "/subscriptions?limit=100", nil)
		subs, _ := list["subscriptions"].([]any)
		for _, s := range subs {
			if v := s.(map[string]any); v["folder"] == subFolder {
				call(t, http.MethodDelete, "/subscriptions/"+v["subscription_id"].(string), nil)
			}
		}
	})

	cmd := exec.Command(node, "testdata/ui/dashboard.cjs")
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"),
		"UI_BASE="+stack.apiURL, "UI_KEY="+testAPIKey, "UI_ARTIFACTS="+artifacts, "UI_CHROMIUM="+chromiumPath,
		"UI_MEDIA_URL="+slow, "UI_HOOK_URL="+stack.hookURL, "UI_FOLDER="+folder,
		"UI_CANCEL_JOB="+cancelID, "UI_FAILED_JOB="+failedID, "UI_PAUSED_BATCH="+batchID,
		"UI_SUB_FEED="+subFeed.URL+"/feed.xml", "UI_SUB_FOLDER="+subFolder)
	var stdout, stderr bytes.Buffer
	cmd.Stderr = io.MultiWriter(&stderr, testLog{t})
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	pipe, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	// The script asks ("?question") what only the API can tell, waiting
	// for the answer: "ok", or what is wrong (it then fails).
	var asked []string
	var subSeen map[string]any
	sc := bufio.NewScanner(pipe)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		q, isQ := strings.CutPrefix(line, "?")
		if !isQ {
			stdout.WriteString(line + "\n")
			continue
		}
		asked = append(asked, q)
		_, _ = io.WriteString(stdin, answerUI(t, q, &subSeen, release)+"\n")
	}
	_ = stdin.Close()
	err = cmd.Wait()
	require.NoError(t, err, "browser script failed:\n%s\n%s", stderr.String(), stdout.String())
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var rep uiReport
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &rep), stdout.String())
	t.Logf("dashboard: first contentful paint %v ms (then %d ms, median of 5 loads), steps seen %v, screenshots in %s",
		derefInt(rep.FCP), rep.WarmFCP, rep.Steps, artifacts)

	require.Equal(t, "Invalid API Key", rep.WrongKeyError)
	require.Contains(t, rep.FolderError, "..")
	_, failed := call(t, http.MethodGet, "/jobs/"+failedID, nil)
	require.Equal(t, "Failed", failed["status"])
	require.Contains(t, rep.FailedError, failed["error"], "the page shows the job's error")
	for _, name := range []string{"signin", "overview", "new-job", "job", "jobs", "batch", "batches", "phone-job", "overview-dark", "job-failed",
		"new-subscription", "subscription", "subscriptions"} {
		b, err := os.ReadFile(filepath.Join(artifacts, name+".png"))
		require.NoError(t, err, name)
		require.True(t, bytes.HasPrefix(b, []byte("\x89PNG")), name)
	}

	// What the page did, seen through the API.
	status, job := call(t, http.MethodGet, "/jobs/"+rep.JobID, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "Completed", job["status"])
	require.Equal(t, folder, job["folder"], "the form sent the folder")
	require.Contains(t, rep.Stages, "Downloading")
	require.Equal(t, "Completed", rep.Steps[len(rep.Steps)-1]["status"])
	require.True(t, strings.HasSuffix(rep.Redelivered, "job_completed"), rep.Redelivered)
	require.Eventually(t, func() bool {
		_, hooks := call(t, http.MethodGet, "/jobs/"+rep.JobID+"/webhooks", nil)
		for _, w := range hooks["webhooks"].([]any) {
			ev := w.(map[string]any)
			if ev["event_id"] == rep.Redelivered && ev["redelivery"] != nil {
				return true
			}
		}
		return false
	}, 30*time.Second, 200*time.Millisecond, "the redelivery the page started")
	require.Eventually(t, func() bool {
		_, j := call(t, http.MethodGet, "/jobs/"+cancelID, nil)
		return j["status"] == "Cancelled"
	}, 30*time.Second, 200*time.Millisecond)
	require.NotEqual(t, cancelID, rep.RetryID)
	_, retried := call(t, http.MethodGet, "/jobs/"+rep.RetryID, nil)
	require.Equal(t, cancelID, retried["retry_of"], "%v", retried)
	require.Equal(t, "Cancelled", retried["status"], "cancelled from its page too")
	// The subscription: the form's error by its field, what the form
	// sent, the sweeps the page showed, deleted at the end.
	require.NotEmpty(t, rep.SubID)
	require.Equal(t, []string{"batch paused " + batchID, "batch started " + batchID, "paused true " + rep.SubID, "paused false " + rep.SubID, "deleted " + rep.SubID}, asked)
	require.Contains(t, rep.EveryError, "every must be between")
	require.NotNil(t, subSeen)
	require.Equal(t, subFeed.URL+"/feed.xml", subSeen["url"])
	require.Equal(t, subFolder, subSeen["folder"])
	require.Equal(t, "latest:1", subSeen["backfill"])
	require.Equal(t, "1h0m0s", subSeen["every"])
	require.Equal(t, float64(1), subSeen["episodes_downloaded"], "%v", subSeen)
	require.Equal(t, float64(2), subSeen["sweeps"], "the first check and Check now: %v", subSeen)
	recent := subSeen["recent_sweeps"].([]any)
	require.Len(t, recent, 2)
	require.Equal(t, rep.SubBatch, recent[1].(map[string]any)["batch_id"], "the first sweep's batch, as the page linked it")
	require.GreaterOrEqual(t, subFeed.lists.Load(), int32(2))
	_, sb := call(t, http.MethodGet, "/batches/"+rep.SubBatch, nil)
	require.Equal(t, subFolder, sb["folder"], "%v", sb)
	// Paused by the page, then started again: every episode runs.
	var b map[string]any
	require.Eventually(t, func() bool {
		_, b = call(t, http.MethodGet, "/batches/"+batchID, nil)
		return b["status"] == "completed"
	}, 3*time.Minute, 500*time.Millisecond, "the batch paused and started from the page never completed: %v", b)
	require.Equal(t, false, b["paused"], "%v", b)
	require.Equal(t, float64(workflows.DefaultBatchWindow+2), b["completed_episodes"], "%v", b)
}

// answerUI answers the browser script's question q ("paused true ID",
// "paused false ID", "deleted ID" of a subscription, "batch paused ID",
// "batch started ID") through the API; seen keeps the subscription's view
// while paused; release lets the batch's held episodes finish once it is
// seen paused.
func answerUI(t *testing.T, q string, seen *map[string]any, release chan struct{}) string {
	i := strings.LastIndexByte(q, ' ')
	what, id := q[:max(i, 0)], q[i+1:]
	if b, ok := strings.CutPrefix(what, "batch "); ok {
		status, v := call(t, http.MethodGet, "/batches/"+id, nil)
		if status != http.StatusOK {
			return fmt.Sprintf("GET /batches/%s answered %d: %v", id, status, v)
		}
		paused := b == "paused"
		if v["paused"] != paused || (v["status"] == "paused") != paused {
			return fmt.Sprintf("GET /batches/%s says paused %v, status %v", id, v["paused"], v["status"])
		}
		if paused {
			if v["pending_episodes"] != float64(2) {
				return fmt.Sprintf("GET /batches/%s: %v episodes left to start while paused, not 2", id, v["pending_episodes"])
			}
			close(release)
		}
		return "ok"
	}
	status, v := call(t, http.MethodGet, "/subscriptions/"+id, nil)
	switch what {
	case "paused true", "paused false":
		if status != http.StatusOK {
			return fmt.Sprintf("GET /subscriptions/%s answered %d: %v", id, status, v)
		}
		if want := what == "paused true"; v["paused"] != want {
			return fmt.Sprintf("GET /subscriptions/%s says paused %v", id, v["paused"])
		}
		if want := what == "paused true"; want {
			*seen = v
		}
		return "ok"
	case "deleted":
		if status != http.StatusNotFound {
			return fmt.Sprintf("GET /subscriptions/%s of a deleted subscription answered %d", id, status)
		}
		_, list := call(t, http.MethodGet, "/subscriptions?limit=100", nil)
		for _, s := range list["subscriptions"].([]any) {
			if s.(map[string]any)["subscription_id"] == id {
				return "GET /subscriptions still lists " + id
			}
		}
		return "ok"
	}
	return "unknown question " + q
}

func derefInt(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

// testLog passes the browser script's progress lines to t.Log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
