package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Timeouts and retry policies of every activity. Transfers heartbeat, so a
// dead worker is noticed within HeartbeatTimeout instead of StartToClose,
// and a cancelled job waits until its transfer has stopped: only then may
// Cleanup remove its files, and an upload has aborted its multipart upload.
var (
	transferHeartbeat = 20 * time.Second

	downloadOptions = workflow.ActivityOptions{
		WaitForCancellation: true,
		StartToCloseTimeout: 6 * time.Hour,
		HeartbeatTimeout:    transferHeartbeat,
		RetryPolicy:         backoff(5*time.Second, 2*time.Minute, 5),
	}
	// muxOptions: a copy takes minutes, but a transcode of a long video
	// runs at encoder speed (a 3 h 1080p video is hours of libvpx-vp9 on
	// 2 cores); heartbeats notice a dead worker long before.
	muxOptions = workflow.ActivityOptions{
		WaitForCancellation: true,
		StartToCloseTimeout: 6 * time.Hour,
		HeartbeatTimeout:    transferHeartbeat,
		RetryPolicy:         backoff(time.Second, time.Minute, 3),
	}
	// uploadOptions ride out an S3 outage of about five minutes (waits of
	// 2 s, 4 s, … 32 s, then a minute, 10 attempts): the files are on
	// disk, and failing the job for an outage the store recovers from
	// throws the download away. Five attempts (30 s of waits) failed every
	// episode of a batch during a two-minute outage (TestFaultS3Unavailable).
	uploadOptions = workflow.ActivityOptions{
		WaitForCancellation: true,
		StartToCloseTimeout: 6 * time.Hour,
		HeartbeatTimeout:    transferHeartbeat,
		RetryPolicy:         backoff(2*time.Second, time.Minute, 10),
	}
	cleanupOptions = workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second,
			MaximumAttempts: 3,
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

	// hostScheduleToStart is how long an activity may wait in the queue
	// of the worker holding the job's files (activities/holds.go) before
	// the workflow takes that worker for dead. A live worker takes its
	// tasks at once: they never wait for a slot in the queue.
	hostScheduleToStart = 30 * time.Second
	// maxChainAttempts bounds how often the download→mux→upload chain is
	// started again on another worker after its worker died.
	maxChainAttempts = 5
)

// backoff retries from initial, doubling up to max, attempts times in all
// (0: until the activity's timeouts end it), except for permanent failures.
func backoff(initial, max time.Duration, attempts int32) *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval: initial, BackoffCoefficient: 2, MaximumInterval: max,
		MaximumAttempts: attempts, NonRetryableErrorTypes: PermanentErrorTypes,
	}
}

// onControl sends an activity that moves no media to the control queue
// (ControlQueue).
func onControl(ctx workflow.Context, o workflow.ActivityOptions) workflow.Context {
	o.TaskQueue = ControlQueue(workflow.GetInfo(ctx).TaskQueueName)
	return workflow.WithActivityOptions(ctx, o)
}

// Batch activity options.
var (
	// resolveOptions: listing a feed is quick; a yt-dlp channel listing
	// can take minutes.
	resolveOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Minute,
		RetryPolicy:         backoff(5*time.Second, 2*time.Minute, 5),
	}
	pageOptions = workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         backoff(time.Second, time.Minute, 0),
	}
	// reconcileOptions: one try per tick; the next tick tries again.
	reconcileOptions = workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	}
)
