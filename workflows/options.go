package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riptide-dev/riptide/activities"
)

// Timeouts and retry policies of every activity. Transfers heartbeat, so a
// dead worker is noticed within HeartbeatTimeout instead of StartToClose.
var (
	transferHeartbeat = 20 * time.Second

	downloadOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 6 * time.Hour,
		HeartbeatTimeout:    transferHeartbeat,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        5 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        2 * time.Minute,
			MaximumAttempts:        5,
			NonRetryableErrorTypes: activities.PermanentErrorTypes,
		},
	}
	muxOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Hour,
		HeartbeatTimeout:    transferHeartbeat,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			MaximumAttempts:        3,
			NonRetryableErrorTypes: activities.PermanentErrorTypes,
		},
	}
	uploadOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 6 * time.Hour,
		HeartbeatTimeout:    transferHeartbeat,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        2 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			MaximumAttempts:        5,
			NonRetryableErrorTypes: activities.PermanentErrorTypes,
		},
	}
	cleanupOptions = workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second,
			MaximumAttempts: 3,
		},
	}
	// webhookOptions (jobs started before attempts were recorded) follow the hosted service's delivery rules: a 30 s
	// timeout per attempt (enforced by the HTTP client), then 3 retries with
	// exponential backoff: 4 attempts in all.
	webhookOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 40 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        2 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        30 * time.Second,
			MaximumAttempts:        4,
			NonRetryableErrorTypes: []string{activities.ErrTypeWebhookGone, activities.ErrTypeBlockedAddress},
		},
	}

	// webhookAttemptOptions run one delivery attempt: the notifier retries
	// and records each attempt itself (3 retries, 4 attempts in all).
	webhookAttemptOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 40 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	}
	webhookMaxAttempts    = 4
	webhookInitialBackoff = 2 * time.Second

	// sessionOptions keep download, mux and upload on one worker, because
	// they share files on its disk. Creation waits for a free slot on any
	// worker, so it may wait long when the cluster is busy.
	sessionOptions = workflow.SessionOptions{
		CreationTimeout:  24 * time.Hour,
		ExecutionTimeout: 12 * time.Hour,
		HeartbeatTimeout: transferHeartbeat,
	}
	// hostScheduleToStart is how long an activity may wait in the queue
	// of the worker holding the job's files (activities/host.go) before
	// the workflow takes that worker for dead. A live worker takes its
	// tasks at once: they never wait for a slot in the queue.
	hostScheduleToStart = 30 * time.Second
	// maxChainAttempts bounds how often the download→mux→upload chain is
	// started again on another worker after its worker died.
	maxChainAttempts = 5
)

// onControl sends an activity that moves no media to the control queue
// (ControlQueue). An activity's task queue is not part of the command
// sequence replay checks, so running jobs take this in their stride.
func onControl(ctx workflow.Context, o workflow.ActivityOptions) workflow.ActivityOptions {
	o.TaskQueue = ControlQueue(workflow.GetInfo(ctx).TaskQueueName)
	return o
}

// Batch activity options.
var (
	// resolveOptions: listing a feed is quick; a yt-dlp channel listing
	// can take minutes.
	resolveOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        5 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        2 * time.Minute,
			MaximumAttempts:        5,
			NonRetryableErrorTypes: activities.PermanentErrorTypes,
		},
	}
	pageOptions = workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: activities.PermanentErrorTypes,
		},
	}
	// reconcileOptions: one try per tick; the next tick tries again.
	reconcileOptions = workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	}
)
