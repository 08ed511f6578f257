package workflows

import (
	"encoding/json"
	"hash/fnv"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"
)

// notifier delivers a job's webhooks one at a time, in the order they were
// queued, from its own workflow coroutine: the transfer never waits for a
// receiver. Every attempt is recorded in events and saved with save.
type notifier struct {
	url    string
	logger log.Logger
	queue  []webhookEvent
	closed bool
	done   bool
	// progressDead is set once a progress event could not be delivered:
	// the rest of the progress events are dropped rather than spend minutes
	// each on a receiver that is down. Terminal events are always tried.
	progressDead bool
	events       *[]WebhookEvent
	save         func(workflow.Context)
}

type webhookEvent struct {
	in       WebhookInput
	typ      string
	progress bool
}

func newNotifier(ctx workflow.Context, url string, logger log.Logger, events *[]WebhookEvent, save func(workflow.Context)) *notifier {
	n := &notifier{url: url, logger: logger, done: url == "", events: events, save: save}
	if url != "" {
		workflow.Go(ctx, n.pump)
	}
	return n
}

func (n *notifier) send(typ, eventID string, payload any) {
	n.enqueue(typ, eventID, payload, false)
}

func (n *notifier) sendProgress(typ, eventID string, payload any) {
	n.enqueue(typ, eventID, payload, true)
}

func (n *notifier) enqueue(typ, eventID string, payload any, progress bool) {
	if n.url == "" {
		return
	}
	// Marshalling a struct of strings and numbers is deterministic; the
	// checker only sees reflection and the runtime beneath it.
	body, err := json.Marshal(payload) //workflowcheck:ignore
	if err != nil {
		// Payloads hold only strings and numbers; this cannot happen.
		n.logger.Error("Encoding webhook payload failed", "event_id", eventID, "error", err)
		return
	}
	n.queue = append(n.queue, webhookEvent{
		in:       WebhookInput{URL: n.url, EventID: eventID, Body: body},
		typ:      typ,
		progress: progress,
	})
}

func (n *notifier) pump(ctx workflow.Context) {
	for {
		_ = workflow.Await(ctx, func() bool { return len(n.queue) > 0 || n.closed })
		if len(n.queue) == 0 {
			n.done = true
			return
		}
		ev := n.queue[0]
		n.queue = n.queue[1:]
		if ev.progress && n.progressDead {
			*n.events = append(*n.events, WebhookEvent{EventID: ev.in.EventID, Type: ev.typ, Status: WebhookDropped})
			n.save(ctx)
			continue
		}
		if !n.deliver(ctx, ev) && ev.progress {
			n.progressDead = true
		}
	}
}

// deliver tries one event up to webhookMaxAttempts times, recording each
// attempt, and reports whether it was delivered.
func (n *notifier) deliver(ctx workflow.Context, ev webhookEvent) bool {
	*n.events = append(*n.events, WebhookEvent{EventID: ev.in.EventID, Type: ev.typ, Status: WebhookPending})
	idx := len(*n.events) - 1
	// On the webhook queue, not the control queue: its own slots, so slow
	// receivers never delay listings. A task queue is no part of what
	// replay compares, so running histories replay unchanged.
	o := webhookAttemptOptions
	o.TaskQueue = WebhookQueue(workflow.GetInfo(ctx).TaskQueueName)
	actx := workflow.WithActivityOptions(ctx, o)
	for attempt := 1; ; attempt++ {
		at, err := DeliverWebhook.Execute(actx, ev.in)
		if err != nil {
			// The attempt itself did not finish (worker lost, timeout).
			at = &WebhookAttempt{At: workflow.Now(ctx), Error: errorMessage(err)}
		}
		rec := &(*n.events)[idx]
		rec.Attempts = append(rec.Attempts, *at)
		switch {
		case at.Delivered:
			rec.Status = WebhookDelivered
		case at.Final || attempt >= webhookMaxAttempts:
			rec.Status = WebhookFailed
		}
		n.save(ctx)
		if rec.Status != WebhookPending {
			if rec.Status == WebhookFailed {
				n.logger.Warn("Webhook not delivered", "event_id", ev.in.EventID, "attempts", attempt, "error", at.Error)
			}
			return rec.Status == WebhookDelivered
		}
		_ = workflow.Sleep(ctx, webhookBackoff(ev.in.EventID, attempt, at.RetryAfterSeconds))
	}
}

// webhookBackoff is the wait after a failed attempt: exponential from
// webhookInitialBackoff, with a jitter of ±25% derived from the event id
// (deterministic, so replay-safe, yet different per event, so receivers
// that recover do not get every job's retry at once), and never shorter
// than the receiver's Retry-After.
func webhookBackoff(eventID string, attempt, retryAfterSeconds int) time.Duration {
	d := webhookInitialBackoff << (attempt - 1)
	h := fnv.New32a()
	_, _ = h.Write([]byte(eventID))
	_, _ = h.Write([]byte{byte(attempt)})
	jitter := 0.75 + float64(h.Sum32()%1000)/2000 // [0.75, 1.25)
	d = time.Duration(float64(d) * jitter)
	return max(d, time.Duration(retryAfterSeconds)*time.Second)
}

// drain waits until every queued event has been delivered or given up on.
func (n *notifier) drain(ctx workflow.Context) {
	n.closed = true
	_ = workflow.Await(ctx, func() bool { return n.done })
}
