package workflows

import (
	"encoding/json"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/riptide-dev/riptide/activities"
)

// notifier delivers a job's webhooks one at a time, in the order they were
// queued, from its own workflow coroutine: the transfer never waits for a
// receiver. Each delivery is one activity with the hosted service's retry
// rules.
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
}

type webhookEvent struct {
	in       activities.WebhookInput
	progress bool
}

func newNotifier(ctx workflow.Context, url string, logger log.Logger) *notifier {
	n := &notifier{url: url, logger: logger, done: url == ""}
	if url != "" {
		workflow.Go(ctx, n.pump)
	}
	return n
}

func (n *notifier) send(eventID string, payload any) {
	n.enqueue(eventID, payload, false)
}

func (n *notifier) sendProgress(eventID string, payload any) {
	n.enqueue(eventID, payload, true)
}

func (n *notifier) enqueue(eventID string, payload any, progress bool) {
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
		progress: progress,
	})
}

func (n *notifier) pump(ctx workflow.Context) {
	ctx = workflow.WithActivityOptions(ctx, webhookOptions)
	for {
		_ = workflow.Await(ctx, func() bool { return len(n.queue) > 0 || n.closed })
		if len(n.queue) == 0 {
			n.done = true
			return
		}
		ev := n.queue[0]
		n.queue = n.queue[1:]
		if ev.progress && n.progressDead {
			continue
		}
		if err := workflow.ExecuteActivity(ctx, a.NotifyWebhook, ev.in).Get(ctx, nil); err != nil {
			n.logger.Warn("Webhook not delivered", "event_id", ev.in.EventID, "error", err)
			if ev.progress {
				n.progressDead = true
			}
		}
	}
}

// drain waits until every queued event has been delivered or given up on.
func (n *notifier) drain(ctx workflow.Context) {
	n.closed = true
	_ = workflow.Await(ctx, func() bool { return n.done })
}
