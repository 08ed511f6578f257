package activities

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/internal/retryafter"
	"github.com/riptide-dev/riptide/workflows"
)

// DeliverWebhook makes one delivery attempt and reports how it went; the
// workflow decides about retries from the record, so the attempt itself
// never fails except when cancelled.
func (a *Activities) DeliverWebhook(ctx context.Context, in workflows.WebhookInput) (*workflows.WebhookAttempt, error) {
	start := time.Now()
	rec := &workflows.WebhookAttempt{At: start.UTC()}
	resp, err := a.postWebhook(ctx, in, start)
	rec.LatencyMS = time.Since(start).Milliseconds()
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(err, errBadWebhookRequest):
		rec.Error, rec.Final = err.Error(), true
		return rec, nil
	case err != nil:
		// The attempt's record reaches the client (GET
		// /jobs/{id}/webhooks): it says what kind of failure, never the
		// address, port or redirect target; those stay in the log.
		rec.Error, rec.Final = netguard.ReceiverMessage(err), netguard.IsBlocked(err)
		activity.GetLogger(ctx).Warn("Webhook attempt failed", "event_id", in.EventID,
			"latency_ms", rec.LatencyMS, "error", err)
		return rec, nil
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	rec.StatusCode = resp.StatusCode
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		rec.Delivered = true
	case resp.StatusCode == http.StatusGone:
		rec.Error, rec.Final = "receiver answered 410 Gone: no more retries", true
	default:
		rec.Error = "receiver answered " + resp.Status
		rec.RetryAfterSeconds = int(retryafter.Parse(resp.Header.Get("Retry-After"), time.Now()).Seconds())
	}
	activity.GetLogger(ctx).Info("Webhook attempt", "event_id", in.EventID, "status", rec.StatusCode,
		"latency_ms", rec.LatencyMS, "error", rec.Error)
	return rec, nil
}

var errBadWebhookRequest = errors.New("invalid webhook request")

// postWebhook sends one signed POST of the event.
func (a *Activities) postWebhook(ctx context.Context, in workflows.WebhookInput, now time.Time) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.URL, bytes.NewReader(in.Body))
	if err != nil {
		return nil, fmt.Errorf("%w: webhook_url %q: %v", errBadWebhookRequest, in.URL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "riptide-webhooks/1")
	// Receivers deduplicate by webhook-id: it is the same on every attempt.
	a.Signer.SetHeaders(req.Header, in.EventID, now, in.Body)
	return a.Webhook.Do(req)
}
