//go:build integration

package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/devstack"
)

// webhookEvent finds the job's delivery record of one event type in GET
// /jobs/{id}/webhooks.
func webhookEvent(t *testing.T, jobID, typ string) map[string]any {
	t.Helper()
	status, body := call(t, http.MethodGet, "/jobs/"+jobID+"/webhooks", nil)
	require.Equal(t, http.StatusOK, status, "%v", body)
	events, _ := body["webhooks"].([]any)
	for _, e := range events {
		if ev := e.(map[string]any); ev["type"] == typ {
			return ev
		}
	}
	return nil
}

// TestFaultWebhookReceiverDown: the receiver refuses connections (its port
// closed, as a crashed or redeploying service) for longer than every
// delivery attempt riptide makes (4 attempts, 2 s doubling backoff: about
// 15 s). The job still ends Completed, the delivery log says failed with
// each attempt's error, nothing reached the receiver, and once it is back a
// redelivery arrives under the same webhook-id with the same body.
func TestFaultWebhookReceiverDown(t *testing.T) {
	requireStack(t)
	t.Parallel()
	started := time.Now()
	hooks := &receiver{}
	srv := serve(hooks)
	defer srv.Close()
	proxy := newFaultProxy(t, srv.Listener.Addr().String())
	proxy.Set(refuse)
	down := time.Now()

	id := submit(t, map[string]any{"url": stack.media + "/" + devstack.SampleMP4, "webhook_url": proxy.URL() + "/hook"})

	// While it retries, the log shows the event pending with its attempts.
	var pendingSeen int
	require.Eventually(t, func() bool {
		ev := webhookEvent(t, id, "job_completed")
		if ev == nil {
			return false
		}
		if ev["status"] == "pending" && len(ev["attempts"].([]any)) > 0 {
			pendingSeen = len(ev["attempts"].([]any))
		}
		return ev["status"] != "pending"
	}, jobTimeout, 100*time.Millisecond, "the delivery never ended")
	require.Positive(t, pendingSeen, "the log showed the delivery pending between attempts")

	job := waitDone(t, id)
	require.Equal(t, "Completed", job["status"], "a receiver that is down fails no job")
	ev := webhookEvent(t, id, "job_completed")
	require.Equal(t, "failed", ev["status"])
	attempts := ev["attempts"].([]any)
	require.Len(t, attempts, 4, "every attempt was made and recorded")
	for i, a := range attempts {
		at := a.(map[string]any)
		require.NotEmpty(t, at["error"], "attempt %d says why", i)
		require.Nil(t, at["status_code"], "attempt %d got no answer", i)
		require.Equal(t, false, at["delivered"])
	}
	first, _ := time.Parse(time.RFC3339Nano, attempts[0].(map[string]any)["at"].(string))
	last, _ := time.Parse(time.RFC3339Nano, attempts[3].(map[string]any)["at"].(string))
	ws := job["webhook_status"].(map[string]any)
	require.EqualValues(t, 1, ws["failed"])
	require.EqualValues(t, 0, ws["delivered"])
	require.EqualValues(t, 4, ws["attempts"])
	require.Empty(t, hooks.forJob(id), "nothing reached the receiver")

	// The receiver is back: a redelivery arrives under the same id.
	proxy.Set(pass)
	outage := time.Since(down)
	eventID := ev["event_id"].(string)
	status, re := call(t, http.MethodPost, "/jobs/"+id+"/webhooks/"+eventID+"/redeliver", nil)
	require.Equal(t, http.StatusAccepted, status, "%v", re)
	require.Eventually(t, func() bool { return len(hooks.forJob(id)) == 1 }, time.Minute, 100*time.Millisecond, "no redelivery")
	got := hooks.forJob(id)[0]
	require.Equal(t, eventID, got.EventID, "the same webhook-id")
	require.Equal(t, "job_completed", got.Body["type"])
	require.Equal(t, id, got.Body["job_id"])
	require.Eventually(t, func() bool {
		r, _ := webhookEvent(t, id, "job_completed")["redelivery"].(map[string]any)
		return r != nil && r["status"] == "delivered"
	}, time.Minute, 100*time.Millisecond, "the log shows the redelivery delivered")
	require.Len(t, hooks.forJob(id), 1, "one redelivery, one request")
	t.Logf("receiver refused connections for %s; 4 attempts over %s (pending seen after %d; last error %q); redelivered under %s; wall %s",
		outage.Round(time.Second), last.Sub(first).Round(100*time.Millisecond), pendingSeen, attempts[3].(map[string]any)["error"], eventID, time.Since(started).Round(time.Second))
}
