package activities

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
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

func runWebhook(t *testing.T, client *http.Client, in WebhookInput) error {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(&Activities{Webhook: client})
	_, err := env.ExecuteActivity((&Activities{}).NotifyWebhook, in)
	return err
}

func TestNotifyWebhookPostsJSONWithEventID(t *testing.T) {
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
	err := runWebhook(t, srv.Client(), WebhookInput{URL: srv.URL, EventID: "evt_1", Body: json.RawMessage(`{"type":"job_completed"}`)})
	require.NoError(t, err)
	require.Equal(t, http.MethodPost, got.method)
	require.Equal(t, "application/json", got.ctype)
	require.Equal(t, "evt_1", got.id)
	require.Equal(t, map[string]any{"type": "job_completed"}, got.body)
}

func TestNotifyWebhookClassifiesAnswers(t *testing.T) {
	for _, c := range []struct {
		status       int
		wantType     string
		nonRetryable bool
	}{
		{http.StatusInternalServerError, ErrTypeTechnical, false},
		{http.StatusTooManyRequests, ErrTypeTechnical, false},
		{http.StatusNotFound, ErrTypeTechnical, false},
		{http.StatusGone, ErrTypeWebhookGone, true},
	} {
		srv := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(c.status) }))
		err := runWebhook(t, srv.Client(), WebhookInput{URL: srv.URL, EventID: "e", Body: json.RawMessage(`{}`)})
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(err, &appErr), "status %d: %v", c.status, err)
		require.Equal(t, c.wantType, appErr.Type(), "status %d", c.status)
		require.Equal(t, c.nonRetryable, appErr.NonRetryable(), "status %d", c.status)
	}
}

func TestNotifyWebhookTimesOutOnSlowReceiver(t *testing.T) {
	release := make(chan struct{})
	srv := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer close(release)
	err := runWebhook(t, &http.Client{Timeout: 200 * time.Millisecond}, WebhookInput{URL: srv.URL, EventID: "e", Body: json.RawMessage(`{}`)})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%v", err)
	require.Equal(t, ErrTypeTechnical, appErr.Type())
	require.False(t, appErr.NonRetryable())
}
