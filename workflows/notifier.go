package workflows

import (
	"encoding/json"
	"hash/fnv"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/riptide-dev/riptide/activities"
)

// Webhook delivery states, as WebhookEvent.Status shows them.
const (
	WebhookPending   = "pending"
	WebhookDelivered = "delivered"
	WebhookFailed    = "failed"
	// WebhookDropped: a progress event not sent because an earlier one
	// could not be delivered.
	WebhookDropped = "dropped"
)

// webhookAttemptsChange versions the switch from one activity retried by
// Temporal (NotifyWebhook) to one recorded activity per attempt
// (DeliverWebhook) with the backoff in the workflow.
const webhookAttemptsChange = "webhook-attempt-records"

// WebhookEvent is one event's delivery record, kept in the job's memo.
type WebhookEvent struct {
	EventID  string                      `json:"event_id"`
	Type     string                      `json:"type"`
	Status   string                      `json:"status"`
	Attempts []activities.WebhookAttempt `json:"attempts"`
}

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
	in       activities.WebhookInput
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
		in:       activities.WebhookInput{URL: n.url, EventID: eventID, Body: body},
		typ:      typ,
		progress: progress,
	})
}

func (n *notifier) pump(ctx workflow.Context) {
	version := workflow.Version(-2) // unknown until the first event
	for {
		_ = workflow.Await(ctx, func() bool { return len(n.queue) > 0 || n.closed })
		if len(n.queue) == 0 {
			n.done = true
			return
		}
		ev := n.queue[0]
		n.queue = n.queue[1:]
		if version == -2 {
			version = workflow.GetVersion(ctx, webhookAttemptsChange, workflow.DefaultVersion, 1)
		}
		if version == workflow.DefaultVersion {
			n.deliverLegacy(ctx, ev)
			continue
		}
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
	actx := workflow.WithActivityOptions(ctx, onControl(ctx, webhookAttemptOptions))
	for attempt := 1; ; attempt++ {
		var at activities.WebhookAttempt
		if err := workflow.ExecuteActivity(actx, a.DeliverWebhook, ev.in).Get(actx, &at); err != nil {
			// The attempt itself did not finish (worker lost, timeout).
			at = activities.WebhookAttempt{At: workflow.Now(ctx), Error: errorMessage(err)}
		}
		rec := &(*n.events)[idx]
		rec.Attempts = append(rec.Attempts, at)
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

// deliverLegacy is the delivery of jobs started before attempts were
// recorded: one activity that Temporal retries.
func (n *notifier) deliverLegacy(ctx workflow.Context, ev webhookEvent) {
	if ev.progress && n.progressDead {
		return
	}
	ctx = workflow.WithActivityOptions(ctx, onControl(ctx, webhookOptions))
	if err := workflow.ExecuteActivity(ctx, a.NotifyWebhook, ev.in).Get(ctx, nil); err != nil {
		n.logger.Warn("Webhook not delivered", "event_id", ev.in.EventID, "error", err)
		if ev.progress {
			n.progressDead = true
		}
	}
}

// drain waits until every queued event has been delivered or given up on.
func (n *notifier) drain(ctx workflow.Context) {
	n.closed = true
	_ = workflow.Await(ctx, func() bool { return n.done })
}
