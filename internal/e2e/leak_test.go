//go:build integration

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/riptide-dev/riptide/internal/codec"
	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/workflows"
)

// configuredSecrets is every secret the e2e stack is configured with (API
// key, webhook signing secrets and their HMAC keys, S3 and Spotify secrets,
// the encryption keys and their bytes), plus extra: a test's own markers,
// or credentials a feature adds (storage providers' keys).
func configuredSecrets(extra ...string) []string {
	out := []string{testAPIKey, stack.cfg.S3.SecretAccessKey, stack.cfg.Spotify.ClientSecret}
	for _, s := range testWebhookSecrets {
		b64 := strings.TrimPrefix(s, "whsec_")
		out = append(out, s, b64)
		if raw, err := base64.StdEncoding.DecodeString(b64); err == nil {
			out = append(out, string(raw))
		}
	}
	for _, k := range testEncryptionKeys {
		_, b64, _ := strings.Cut(k, ":")
		out = append(out, k, b64)
		if raw, err := base64.StdEncoding.DecodeString(b64); err == nil {
			out = append(out, string(raw))
		}
	}
	return append(out, extra...)
}

// secretForms are the ways secret can show in an export: as is, and
// base64-encoded at each of the three alignments it can have inside a
// longer base64 string (protojson writes payload bytes as base64), in the
// standard and the URL alphabet.
func secretForms(secret string) []string {
	forms := []string{secret}
	for pad := range 3 {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			e := enc.EncodeToString([]byte(strings.Repeat("\x00", pad) + secret))
			// Skip the characters the padding bytes touch and the last
			// group, which depends on what follows.
			from, to := (pad*8+5)/6, len(e)-4
			if to-from >= 8 {
				forms = append(forms, e[from:to])
			}
		}
	}
	return forms
}

// leakedIn returns the secrets (of secrets) that blob holds in any form.
func leakedIn(blob []byte, secrets []string) []string {
	var found []string
	for _, s := range secrets {
		for _, f := range secretForms(s) {
			if bytes.Contains(blob, []byte(f)) {
				found = append(found, s)
				break
			}
		}
	}
	return found
}

// requireNoSecret fails when any export in exports (name → bytes) holds
// any of secrets.
func requireNoSecret(t *testing.T, exports map[string][]byte, secrets []string) {
	t.Helper()
	for name, blob := range exports {
		require.Empty(t, leakedIn(blob, secrets), "secrets in plain text (or base64) in %s", name)
	}
}

// recorder is an API client that keeps every response body it got.
type recorder struct {
	mu     sync.Mutex
	bodies map[string][]byte
}

func (r *recorder) call(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, stack.apiURL+path, rd)
	require.NoError(t, err)
	req.Header.Set("x-api-key", testAPIKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bodies[method+" "+path+" #"+uuid.NewString()[:4]] = b
	return res.StatusCode, b
}

func (r *recorder) json(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	status, b := r.call(t, method, path, body)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m), "%s", b)
	return status, m
}

// decodedFailure is f with its encoded message and stack trace (the
// codec's failure converter moves them into encoded attributes, encrypted)
// decoded, as the SDK decodes them for its callers.
func decodedFailure(f *failurepb.Failure) *failurepb.Failure {
	if f == nil {
		return nil
	}
	f = proto.Clone(f).(*failurepb.Failure)
	dc := codec.Of(stack.temporal)
	for g := f; g != nil; g = g.GetCause() {
		if ea := g.GetEncodedAttributes(); ea != nil {
			var attrs struct {
				Message    string `json:"message"`
				StackTrace string `json:"stack_trace"`
			}
			if dc.FromPayload(ea, &attrs) == nil {
				g.Message, g.StackTrace = attrs.Message, attrs.StackTrace
			}
		}
	}
	return f
}

// TestNoSecretInPlainText runs a job and a small batch whose inputs carry
// credentials (a signed source URL, a webhook URL with a token), then
// exports what an operator, a backup or a Temporal admin can read without
// the key: every history (SDK, raw, and `temporal workflow show --output
// json`), every describe (memos, search attributes, heartbeats), the
// services' logs; and every API answer the test got. None holds a
// configured secret, nor (except the API's answers, which echo the
// client's own URL) the credentials of the inputs.
func TestNoSecretInPlainText(t *testing.T) {
	requireStack(t)
	t.Parallel()
	ctx := context.Background()
	since := time.Now().Add(-time.Second).UTC()
	sourceToken, hookToken := "srcsig-"+uuid.NewString(), "hooktok-"+uuid.NewString()
	markers := []string{sourceToken, hookToken}
	rec := &recorder{bodies: map[string][]byte{}}

	hooks := &receiver{}
	hookSrv := serve(hooks)
	defer hookSrv.Close()
	hookURL := hookSrv.URL + "/hook?token=" + hookToken

	// A job.
	status, created := rec.json(t, http.MethodPost, "/jobs", map[string]any{
		"url":         stack.media + "/" + devstack.SampleMP4 + "?X-Amz-Signature=" + sourceToken,
		"webhook_url": hookURL, "enable_progress_webhook": true, "folder": "e2e/leak",
	})
	require.Equal(t, http.StatusCreated, status, "%v", created)
	jobID := created["job_id"].(string)

	// A stream through yt-dlp (which prints the URLs it fetches) and a
	// source that fails (errors quote the URL).
	var others []string
	for _, u := range []string{stack.media + "/" + devstack.SampleDASH + "?token=" + sourceToken,
		stack.media + "/missing.mp4?X-Amz-Signature=" + sourceToken} {
		status, created := rec.json(t, http.MethodPost, "/jobs", map[string]any{"url": u, "webhook_url": hookURL})
		require.Equal(t, http.StatusCreated, status, "%v", created)
		others = append(others, created["job_id"].(string))
	}

	// A small batch.
	clip, err := os.ReadFile(filepath.Join(stack.mediaDir, devstack.SampleMP4))
	require.NoError(t, err)
	feed := serveClipFeed(clip, "Leak", 2, 0)
	defer feed.Close()
	status, batch := rec.json(t, http.MethodPost, "/batches", map[string]any{
		"show_url": feed.URL + "/feed.xml?auth=" + sourceToken, "webhook_url": hookURL, "folder": "e2e/leak-batch",
	})
	require.Contains(t, []int{http.StatusOK, http.StatusCreated, http.StatusAccepted}, status, "%v", batch)
	batchID := batch["batch_id"].(string)

	require.Eventually(t, func() bool {
		_, job := rec.json(t, http.MethodGet, "/jobs/"+jobID, nil)
		return job["completed_at"] != nil
	}, jobTimeout, 250*time.Millisecond)
	_, job := rec.json(t, http.MethodGet, "/jobs/"+jobID, nil)
	require.Equal(t, "Completed", job["status"], "%v", job)
	waitBatchCompleted(t, hooks, jobTimeout)
	// A redelivery: its workflow's input is the event and the URL again.
	status, redelivered := rec.json(t, http.MethodPost, "/jobs/"+jobID+"/webhooks/evt_"+jobID+"_job_completed/redeliver", nil)
	require.Equal(t, http.StatusAccepted, status, "%v", redelivered)
	require.Eventually(t, func() bool {
		n := 0
		for _, d := range hooks.forJob(jobID) {
			if d.Body["type"] == "job_completed" {
				n++
			}
		}
		return n == 2
	}, time.Minute, 100*time.Millisecond, "the redelivery arrived")
	for i, id := range others {
		var other map[string]any
		require.Eventually(t, func() bool {
			_, other = rec.json(t, http.MethodGet, "/jobs/"+id, nil)
			return other["completed_at"] != nil
		}, jobTimeout, 250*time.Millisecond)
		require.Equal(t, []string{"Completed", "Failed"}[i], other["status"], "%v", other)
	}
	for _, p := range []string{"/batch/" + batchID, "/jobs", "/jobs/" + jobID + "/webhooks", "/dashboard/stats",
		"/dashboard/jobs", "/dashboard/batches", "/usage", "/healthz"} {
		rec.call(t, http.MethodGet, p, nil)
	}
	rec.call(t, http.MethodGet, "/jobs/"+jobID+"?nope=1", nil)
	rec.call(t, http.MethodPost, "/jobs", map[string]any{"url": "ftp://x"}) // an error answer

	// A client with no codec: what Temporal really stores.
	plain, err := client.Dial(client.Options{HostPort: stack.cfg.Temporal.Address, Namespace: stack.cfg.Temporal.Namespace, Logger: quiet{}})
	require.NoError(t, err)
	defer plain.Close()
	exports := map[string][]byte{}
	var jobHistory historypb.History
	var next []byte
	for {
		resp, err := plain.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: stack.cfg.Temporal.Namespace, Query: "StartTime >= '" + since.Format(time.RFC3339) + "'", NextPageToken: next})
		require.NoError(t, err)
		for _, info := range resp.GetExecutions() {
			wid, rid := info.GetExecution().GetWorkflowId(), info.GetExecution().GetRunId()
			var h historypb.History
			it := plain.GetWorkflowHistory(ctx, wid, rid, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for it.HasNext() {
				ev, err := it.Next()
				require.NoError(t, err)
				h.Events = append(h.Events, ev)
			}
			b, err := protojson.Marshal(&h)
			require.NoError(t, err)
			exports["history "+wid+" "+rid] = b
			if wid == workflows.JobWorkflowID(jobID) {
				jobHistory.Events = append(jobHistory.Events, h.Events...)
			}
			desc, err := plain.DescribeWorkflow(ctx, wid, rid)
			require.NoError(t, err)
			b, err = protojson.Marshal(desc.RawResponse)
			require.NoError(t, err)
			exports["describe "+wid+" "+rid] = b
			b, err = protojson.Marshal(info)
			require.NoError(t, err)
			exports["list entry "+wid] = b
		}
		if next = resp.GetNextPageToken(); len(next) == 0 {
			break
		}
	}
	require.NotEmpty(t, jobHistory.Events, "the job's history was exported")
	require.GreaterOrEqual(t, len(exports), 6*3, "history, describe and list entry of the jobs, the batch and its two episodes")
	bin, err := devstack.Tool(devstack.TemporalBinEnv, "temporal")
	require.NoError(t, err)
	for _, wid := range []string{workflows.JobWorkflowID(jobID), workflows.BatchWorkflowID(batchID)} {
		out, err := exec.Command(bin, "workflow", "show", "-w", wid, "--address", stack.cfg.Temporal.Address,
			"--namespace", stack.cfg.Temporal.Namespace, "--output", "json").Output()
		require.NoError(t, err)
		exports["temporal workflow show "+wid] = out
	}
	logs, err := os.ReadFile(stack.logsPath)
	require.NoError(t, err)
	require.Contains(t, string(logs), jobID, "the logs cover the job")
	exports["services log"] = logs

	// The checks can fail: decrypted, the job's history shows the input's
	// credentials (through the API's codec server, as the Temporal UI
	// reads it); the webhook URL stays in the job's input.
	input := jobHistory.Events[0].GetWorkflowExecutionStartedEventAttributes().GetInput()
	require.True(t, codec.Encrypted(input.GetPayloads()[0]), "the job's input is encrypted")
	body, err := protojson.Marshal(input)
	require.NoError(t, err)
	status, decoded := rec.call(t, http.MethodPost, "/codec/decode", json.RawMessage(body))
	require.Equal(t, http.StatusOK, status, "%s", decoded)
	require.ElementsMatch(t, markers, leakedIn(decoded, markers), "the codec server decrypts the input")
	// Temporal's own codec client (the CLI's) reads the history through
	// the API's codec server, given the API key.
	shown, err := exec.Command(bin, "workflow", "show", "-w", workflows.JobWorkflowID(jobID), "--address", stack.cfg.Temporal.Address,
		"--namespace", stack.cfg.Temporal.Namespace, "--output", "json",
		"--codec-endpoint", stack.apiURL+"/codec", "--codec-header", "x-api-key="+testAPIKey).Output()
	require.NoError(t, err)
	require.ElementsMatch(t, markers, leakedIn(shown, markers), "the CLI decrypts through the codec server")
	require.Empty(t, leakedIn(shown, []string{codec.EncodingEncrypted}), "no payload left encrypted")
	require.NotEmpty(t, leakedIn(exports["temporal workflow show "+workflows.JobWorkflowID(jobID)], []string{codec.EncodingEncrypted}),
		"without the codec the CLI shows encrypted payloads")
	clear := proto.Clone(&jobHistory).(*historypb.History)
	require.NoError(t, stack.codec.DecodeMessage(ctx, clear))
	b, err := protojson.Marshal(clear)
	require.NoError(t, err)
	require.ElementsMatch(t, markers, leakedIn(b, markers), "decrypted, the history holds the input's credentials")

	// Without the key: nothing.
	requireNoSecret(t, exports, configuredSecrets(markers...))
	answers := map[string][]byte{}
	for k, v := range rec.bodies {
		answers["API answer "+k] = v
	}
	require.Greater(t, len(answers), 10)
	requireNoSecret(t, answers, configuredSecrets())
}

// requireSecretsOnlyEncrypted checks workflow wid's history as Temporal
// stores it (read with no codec) holds none of secrets, while decrypted it
// holds every one: they are in its inputs, and only as ciphertext.
func requireSecretsOnlyEncrypted(t *testing.T, wid string, secrets ...string) {
	t.Helper()
	if stack.codec == nil {
		t.Fatal("the e2e stack runs without encryption")
	}
	ctx := context.Background()
	plain, err := client.Dial(client.Options{HostPort: stack.cfg.Temporal.Address, Namespace: stack.cfg.Temporal.Namespace, Logger: quiet{}})
	require.NoError(t, err)
	defer plain.Close()
	var h historypb.History
	it := plain.GetWorkflowHistory(ctx, wid, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, ev)
	}
	stored, err := protojson.Marshal(&h)
	require.NoError(t, err)
	require.Empty(t, leakedIn(stored, secrets), "credentials in plain text in %s's history", wid)
	require.NoError(t, stack.codec.DecodeMessage(ctx, &h))
	clear, err := protojson.Marshal(&h)
	require.NoError(t, err)
	require.ElementsMatch(t, secrets, leakedIn(clear, secrets), "decrypted, %s's history holds the credentials", wid)
}
