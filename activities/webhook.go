package activities

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"go.temporal.io/sdk/activity"

	"github.com/riptide-dev/riptide/internal/netguard"
)

// NotifyWebhook POSTs one webhook event. A 2xx answer is success; 410 Gone
// means the receiver wants no more and is not retried; anything else is
// retried by the activity's retry policy.
func (a *Activities) NotifyWebhook(ctx context.Context, in WebhookInput) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.URL, bytes.NewReader(in.Body))
	if err != nil {
		return permanent(ErrTypeInvalidInput, "webhook_url %q: %v", in.URL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "riptide-webhooks/1")
	// Receivers deduplicate by this id: it is the same on every attempt.
	req.Header.Set("webhook-id", in.EventID)
	resp, err := a.Webhook.Do(req)
	if netguard.IsBlocked(err) {
		return permanent(ErrTypeBlockedAddress, "webhook delivery refused: %v", err)
	}
	if err != nil {
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
