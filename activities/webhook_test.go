package activities

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/riptide-dev/riptide/internal/retryafter"
	"github.com/riptide-dev/riptide/internal/webhook"
	"github.com/riptide-dev/riptide/workflows"
)

func loopbackServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.Listener = l
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func TestDeliverWebhookPostsJSONWithEventID(t *testing.T) {
	var got struct {
		method, ctype, id string
		body              map[string]any
	}
	srv := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.method, got.ctype, got.id = r.Method, r.Header.Get("Content-Type"), r.Header.Get("webhook-id")
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &got.body)
		w.WriteHeader(http.StatusAccepted)
	}))
	rec := deliver(t, &Activities{Webhook: srv.Client()}, workflows.WebhookInput{URL: srv.URL, EventID: "evt_1", Body: json.RawMessage(`{"type":"job_completed"}`)})
	require.True(t, rec.Delivered)
	require.Equal(t, http.MethodPost, got.method)
	require.Equal(t, "application/json", got.ctype)
	require.Equal(t, "evt_1", got.id)
	require.Equal(t, map[string]any{"type": "job_completed"}, got.body)
}

func TestDeliverWebhookTimesOutOnSlowReceiver(t *testing.T) {
	release := make(chan struct{})
	srv := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer close(release)
	rec := deliver(t, &Activities{Webhook: &http.Client{Timeout: 200 * time.Millisecond}}, workflows.WebhookInput{URL: srv.URL, EventID: "e", Body: json.RawMessage(`{}`)})
	require.False(t, rec.Delivered)
	require.False(t, rec.Final, "a slow receiver is worth another attempt")
	require.NotEmpty(t, rec.Error)
}

func deliver(t *testing.T, a *Activities, in workflows.WebhookInput) *workflows.WebhookAttempt {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	val, err := env.ExecuteActivity(a.DeliverWebhook, in)
	require.NoError(t, err, "an attempt is recorded, never failed")
	var rec workflows.WebhookAttempt
	require.NoError(t, val.Get(&rec))
	return &rec
}

func TestDeliverWebhookSignsAndRecords(t *testing.T) {
	signer, err := webhook.NewSigner([]string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
	require.NoError(t, err)
	var hdr http.Header
	srv := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr = r.Header.Clone()
		w.WriteHeader(http.StatusNoContent)
	}))
	before := time.Now().Add(-time.Second)
	rec := deliver(t, &Activities{Webhook: srv.Client(), Signer: signer}, workflows.WebhookInput{URL: srv.URL, EventID: "evt_1", Body: json.RawMessage(`{}`)})
	require.True(t, rec.Delivered)
	require.Equal(t, http.StatusNoContent, rec.StatusCode)
	require.Empty(t, rec.Error)
	require.True(t, rec.At.After(before))
	require.Equal(t, "evt_1", hdr.Get("webhook-id"))
	ts, err := strconv.ParseInt(hdr.Get("webhook-timestamp"), 10, 64)
	require.NoError(t, err)
	require.Equal(t, signer.Signature("evt_1", time.Unix(ts, 0), []byte(`{}`)), hdr.Get("webhook-signature"))
}

func TestDeliverWebhookOutcomes(t *testing.T) {
	for _, c := range []struct {
		name       string
		status     int
		retryAfter string
		delivered  bool
		final      bool
		wantAfter  int
	}{
		{"ok", 200, "", true, false, 0},
		{"server error", 500, "", false, false, 0},
		{"not found", 404, "", false, false, 0},
		{"retry-after seconds", 503, "7", false, false, 7},
		{"retry-after date", 429, time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat), false, false, 90},
		{"retry-after capped", 503, "999999", false, false, int(retryafter.Max / time.Second)},
		{"retry-after garbage", 503, "soon", false, false, 0},
		{"gone", 410, "", false, true, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if c.retryAfter != "" {
					w.Header().Set("Retry-After", c.retryAfter)
				}
				w.WriteHeader(c.status)
			}))
			rec := deliver(t, &Activities{Webhook: srv.Client()}, workflows.WebhookInput{URL: srv.URL, EventID: "e", Body: json.RawMessage(`{}`)})
			require.Equal(t, c.status, rec.StatusCode)
			require.Equal(t, c.delivered, rec.Delivered)
			require.Equal(t, c.final, rec.Final)
			require.InDelta(t, c.wantAfter, rec.RetryAfterSeconds, 2)
			require.Equal(t, c.delivered, rec.Error == "")
		})
	}
}

func TestDeliverWebhookConnectionErrorIsRetryable(t *testing.T) {
	srv := loopbackServer(t, http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	rec := deliver(t, &Activities{Webhook: &http.Client{}}, workflows.WebhookInput{URL: url, EventID: "e", Body: json.RawMessage(`{}`)})
	require.False(t, rec.Delivered)
	require.False(t, rec.Final)
	require.Zero(t, rec.StatusCode)
	require.NotEmpty(t, rec.Error)
}
