package workflows

import (
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riptide-dev/riptide/activities"
)

// redeliverWorkflowIDPrefix namespaces redelivery workflow IDs.
const redeliverWorkflowIDPrefix = "redeliver-"

// RedeliverWorkflowID is the workflow ID of an event's redelivery. One ID
// per event: a redelivery runs at most once at a time, and the latest run
// holds the latest redelivery's record.
func RedeliverWorkflowID(eventID string) string { return redeliverWorkflowIDPrefix + eventID }

// RedeliverInput is a webhook event to send again, byte for byte, under its
// original webhook-id.
type RedeliverInput struct {
	JobID string
	Event activities.WebhookInput
	Type  string
}

// RedeliverWebhook sends one event again with the delivery rules of the job
// (retries, backoff, Retry-After, 410) and keeps its attempts, like the
// job's, in its memo under MemoKey as a WebhookEvent.
func RedeliverWebhook(ctx workflow.Context, in RedeliverInput) (*WebhookEvent, error) {
	if in.Event.URL == "" || in.Event.EventID == "" {
		return nil, temporal.NewNonRetryableApplicationError("event id and url are required", activities.ErrTypeInvalidInput, nil)
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
