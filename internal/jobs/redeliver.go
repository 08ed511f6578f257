package jobs

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/riptide-dev/riptide/internal/codec"
	"github.com/riptide-dev/riptide/workflows"
)

// Errors of Redeliver.
var (
	ErrEventNotFound = errors.New("the job has no webhook event with this id")
	ErrEventPending  = errors.New("the event is still being delivered")
	// ErrRedelivering: a redelivery of the event is already running.
	ErrRedelivering = errors.New("a redelivery of this event is already running")
)

// Redeliver sends one of a job's webhook events again, with the same body
// and webhook-id, by starting a RedeliverWebhook workflow. The body comes
// from the job's own history (the input of its delivery activity): Temporal
// stays the only store.
// tenant owns the job; the redelivery is recorded as its.
func Redeliver(ctx context.Context, c client.Client, taskQueue, tenant, jobID, eventID string) (string, error) {
	v, err := Get(ctx, c, jobID)
	if err != nil {
		return "", err
	}
	var typ string
	for _, ev := range v.Webhooks {
		if ev.EventID == eventID {
			if ev.Status == workflows.WebhookPending {
				return "", ErrEventPending
			}
			typ = ev.Type
		}
	}
	if typ == "" {
		return "", ErrEventNotFound
	}
	in, err := deliveryInput(ctx, c, jobID, eventID)
	if err != nil {
		return "", err
	}
	id := workflows.RedeliverWorkflowID(eventID)
	opts := workflows.RedeliverStartOptions(taskQueue, eventID)
	opts.TypedSearchAttributes = workflows.TenantSearchAttributes(tenant)
	_, err = c.ExecuteWorkflow(ctx, opts, workflows.RedeliverWebhook, workflows.RedeliverInput{JobID: jobID, Event: *in, Type: typ})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return "", ErrRedelivering
	}
	if err != nil {
		return "", fmt.Errorf("start redelivery of %s: %w", eventID, err)
	}
	return id, nil
}

// deliveryInput finds the event's delivery activity input in the job's
// history.
func deliveryInput(ctx context.Context, c client.Client, jobID, eventID string) (*workflows.WebhookInput, error) {
	it := c.GetWorkflowHistory(ctx, workflows.JobWorkflowID(jobID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	dc := codec.Of(c)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("read history of job %s: %w", jobID, err)
		}
		attrs := e.GetActivityTaskScheduledEventAttributes()
		if attrs.GetActivityType().GetName() != workflows.DeliverWebhook.Name() {
			continue
		}
		payloads := attrs.GetInput().GetPayloads()
		if len(payloads) != 1 {
			continue
		}
		var in workflows.WebhookInput
		if err := dc.FromPayload(payloads[0], &in); err != nil {
			return nil, fmt.Errorf("decode webhook input of job %s: %w", jobID, err)
		}
		if in.EventID == eventID {
			return &in, nil
		}
	}
	return nil, ErrEventNotFound
}

// Redelivery returns the record of the event's latest redelivery, or nil
// when it was never redelivered.
func Redelivery(ctx context.Context, c client.Client, eventID string) (*workflows.WebhookEvent, error) {
	//lint:ignore SA1019 see Get.
	resp, err := c.DescribeWorkflowExecution(ctx, workflows.RedeliverWorkflowID(eventID), "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe redelivery of %s: %w", eventID, err)
	}
	p, ok := resp.GetWorkflowExecutionInfo().GetMemo().GetFields()[workflows.MemoKey]
	if !ok {
		// Started, no attempt finished yet.
		return &workflows.WebhookEvent{EventID: eventID, Status: workflows.WebhookPending}, nil
	}
	var ev workflows.WebhookEvent
	if err := codec.Of(c).FromPayload(p, &ev); err != nil {
		return nil, fmt.Errorf("decode redelivery of %s: %w", eventID, err)
	}
	return &ev, nil
}
