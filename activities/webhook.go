package activities

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/riptide-dev/riptide/internal/netguard"
)

// maxRetryAfter caps how long a receiver's Retry-After can hold an event.
const maxRetryAfter = 10 * time.Minute

// WebhookAttempt records one delivery attempt. The workflow keeps them in
// the job's memo, where GET /jobs/{id} and its webhooks endpoint read them.
type WebhookAttempt struct {
	At         time.Time `json:"at"`
	StatusCode int       `json:"status_code,omitempty"`
	LatencyMS  int64     `json:"latency_ms"`
	Error      string    `json:"error,omitempty"`
	// RetryAfterSeconds is the receiver's Retry-After, capped.
	RetryAfterSeconds int `json:"retry_after_seconds,omitempty"`
	// Delivered: a 2xx answer. Final: retrying is pointless (410 Gone, an
	// address riptide refuses, a URL that cannot be requested).
	Delivered bool `json:"delivered"`
	Final     bool `json:"final,omitempty"`
}

// DeliverWebhook makes one delivery attempt and reports how it went; the
// workflow decides about retries from the record, so the attempt itself
// never fails except when cancelled.
func (a *Activities) DeliverWebhook(ctx context.Context, in WebhookInput) (*WebhookAttempt, error) {
	start := time.Now()
	rec := &WebhookAttempt{At: start.UTC()}
	resp, err := a.postWebhook(ctx, in, start)
	rec.LatencyMS = time.Since(start).Milliseconds()
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(err, errBadWebhookRequest) || netguard.IsBlocked(err):
		rec.Error, rec.Final = err.Error(), true
		return rec, nil
	case err != nil:
		rec.Error = err.Error()
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
		rec.RetryAfterSeconds = int(retryAfter(resp.Header.Get("Retry-After"), time.Now()).Seconds())
	}
	activity.GetLogger(ctx).Info("Webhook attempt", "event_id", in.EventID, "status", rec.StatusCode,
		"latency_ms", rec.LatencyMS, "error", rec.Error)
	return rec, nil
}

// NotifyWebhook POSTs one webhook event. A 2xx answer is success; 410 Gone
// means the receiver wants no more and is not retried; anything else is
// retried by the activity's retry policy. Jobs started before attempts were
// recorded (DeliverWebhook) still schedule it.
func (a *Activities) NotifyWebhook(ctx context.Context, in WebhookInput) error {
	resp, err := a.postWebhook(ctx, in, time.Now())
	switch {
	case errors.Is(err, errBadWebhookRequest):
		return permanent(ErrTypeInvalidInput, "%v", err)
	case netguard.IsBlocked(err):
		return permanent(ErrTypeBlockedAddress, "webhook delivery refused: %v", err)
	case err != nil:
		return technical(err, "webhook delivery failed: %v", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	activity.GetLogger(ctx).Info("Webhook delivered", "event_id", in.EventID, "status", resp.StatusCode,
		"attempt", activity.GetInfo(ctx).Attempt)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusGone:
		return permanent(ErrTypeWebhookGone, "webhook receiver answered %s", resp.Status)
	default:
		return technical(fmt.Errorf("status %d", resp.StatusCode), "webhook receiver answered %s", resp.Status)
	}
}

var errBadWebhookRequest = errors.New("invalid webhook request")

// postWebhook sends one signed POST of the event.
func (a *Activities) postWebhook(ctx context.Context, in WebhookInput, now time.Time) (*http.Response, error) {
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

// retryAfter reads a Retry-After header: delay seconds or an HTTP date.
// Missing, malformed or past values give 0; large ones are capped.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		d = time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now).Round(time.Second)
	}
	return max(0, min(d, maxRetryAfter))
}
