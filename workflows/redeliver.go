package workflows

import (
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// RedeliverWebhook sends one event again with the delivery rules of the job
// (retries, backoff, Retry-After, 410) and keeps its attempts, like the
// job's, in its memo under MemoKey as a WebhookEvent.
func RedeliverWebhook(ctx workflow.Context, in RedeliverInput) (*WebhookEvent, error) {
	if in.Event.URL == "" || in.Event.EventID == "" {
		return nil, temporal.NewNonRetryableApplicationError("event id and url are required", ErrTypeInvalidInput, nil)
	}
	var events []WebhookEvent
	n := &notifier{
		url:    in.Event.URL,
		logger: log.With(workflow.GetLogger(ctx), "job_id", in.JobID, "event_id", in.Event.EventID),
		events: &events,
		save: func(ctx workflow.Context) {
			if err := workflow.UpsertMemo(ctx, map[string]any{MemoKey: events[0]}); err != nil {
				workflow.GetLogger(ctx).Error("Saving redelivery to memo failed", "error", err)
			}
		},
	}
	n.deliver(ctx, webhookEvent{in: in.Event, typ: in.Type})
	return &events[0], nil
}
