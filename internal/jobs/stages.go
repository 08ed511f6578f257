package jobs

import (
	"context"
	"fmt"
	"math"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/riptide-dev/riptide/internal/codec"
	"github.com/riptide-dev/riptide/workflows"
)

// Stages are a job's per-stage figures, the hosted service's names, read
// from the workflow's own history by AddStages: null until the stage has
// ended (or, for retries, while nothing says how many attempts ran).
type Stages struct {
	// Download, mux and upload durations: from the stage's scheduling to
	// its end, retries and their backoff included.
	DownloadDurationMS *int64 `json:"download_duration_ms"`
	MuxDurationMS      *int64 `json:"mux_duration_ms"`
	UploadDurationMS   *int64 `json:"upload_duration_ms"`
	// TotalDurationMS is from the job's creation to its end.
	TotalDurationMS *int64 `json:"total_duration_ms"`
	// QueueWaitMS is from the job's creation until a worker started its
	// download (its last attempt's scheduling when the download was
	// retried: Temporal keeps the start of the last attempt only).
	QueueWaitMS *int64 `json:"queue_wait_ms"`
	// Retries are attempts beyond the first, the running attempt included.
	DownloadRetries *int `json:"download_retries"`
	UploadRetries   *int `json:"upload_retries"`
	// Speeds are megabits per second over the stage's last attempt.
	DownloadSpeedMbps *float64 `json:"download_speed_mbps"`
	UploadSpeedMbps   *float64 `json:"upload_speed_mbps"`
}

// stageRun is one scheduled activity of a stage as its history tells it.
type stageRun struct {
	scheduled, started, ended time.Time
	attempt                   int32
	bytes                     int64
}

// AddStages fills v.Stages from the job workflow's history: one read of
// the run's events (a job's history is a few dozen events). Pending
// activities, when the view came from Describe, give the attempt of a
// stage still running.
func AddStages(ctx context.Context, c client.Client, v *View) error {
	it := c.GetWorkflowHistory(ctx, v.WorkflowID, v.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return fmt.Errorf("read history of %s: %w", v.WorkflowID, err)
		}
		events = append(events, e)
	}
	v.Stages = stagesOf(codec.Of(c), events, v.pending, v.CreatedAt, v.CompletedAt)
	v.Media = mediaOf(codec.Of(c), events)
	return nil
}

func stagesOf(dc converter.DataConverter, events []*historypb.HistoryEvent, pending []*workflowpb.PendingActivityInfo, created time.Time, completed *time.Time) Stages {
	names := map[int64]string{}
	runs := map[int64]*stageRun{}
	byName := map[string][]*stageRun{}
	for _, e := range events {
		at := timeOf(e.GetEventTime())
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			if created.IsZero() {
				created = at
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			name := e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
			r := &stageRun{scheduled: at}
			names[e.GetEventId()], runs[e.GetEventId()] = name, r
			byName[name] = append(byName[name], r)
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			a := e.GetActivityTaskStartedEventAttributes()
			if r := runs[a.GetScheduledEventId()]; r != nil {
				r.started, r.attempt = at, a.GetAttempt()
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			a := e.GetActivityTaskCompletedEventAttributes()
			r := runs[a.GetScheduledEventId()]
			if r == nil {
				continue
			}
			r.ended = at
			if p := a.GetResult().GetPayloads(); len(p) > 0 {
				var res struct{ Bytes int64 }
				if dc.FromPayload(p[0], &res) == nil {
					r.bytes = res.Bytes
				}
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
			if r := runs[e.GetActivityTaskFailedEventAttributes().GetScheduledEventId()]; r != nil {
				r.ended = at
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
			if r := runs[e.GetActivityTaskTimedOutEventAttributes().GetScheduledEventId()]; r != nil {
				r.ended = at
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
			if r := runs[e.GetActivityTaskCanceledEventAttributes().GetScheduledEventId()]; r != nil {
				r.ended = at
			}
		}
	}
	// A stage still running: its attempt is in the pending activity.
	for _, p := range pending {
		rs := byName[p.GetActivityType().GetName()]
		if n := len(rs); n > 0 && rs[n-1].ended.IsZero() && p.GetAttempt() > 0 {
			rs[n-1].attempt = p.GetAttempt()
			if t := timeOf(p.GetLastStartedTime()); !t.IsZero() && rs[n-1].started.IsZero() {
				rs[n-1].started = t
			}
		}
	}

	var s Stages
	dl, mux, ul := byName[workflows.Download.Name()], byName[workflows.Mux.Name()], byName[workflows.Upload.Name()]
	s.DownloadDurationMS, s.MuxDurationMS, s.UploadDurationMS = duration(dl), duration(mux), duration(ul)
	s.DownloadRetries, s.UploadRetries = retries(dl), retries(ul)
	s.DownloadSpeedMbps, s.UploadSpeedMbps = speed(dl), speed(ul)
	if completed != nil && !created.IsZero() {
		s.TotalDurationMS = ms(completed.Sub(created))
	}
	if len(dl) > 0 && !created.IsZero() {
		first := dl[0]
		switch {
		case !first.started.IsZero() && first.attempt == 1:
			s.QueueWaitMS = ms(first.started.Sub(created))
		case !first.started.IsZero() || !first.ended.IsZero() || first.attempt > 1:
			s.QueueWaitMS = ms(first.scheduled.Sub(created))
		}
	}
	return s
}

// duration sums the stage's ended runs; null while none has ended.
func duration(rs []*stageRun) *int64 {
	var total time.Duration
	ended := false
	for _, r := range rs {
		if !r.ended.IsZero() {
			total += r.ended.Sub(r.scheduled)
			ended = true
		}
	}
	if !ended {
		return nil
	}
	return ms(total)
}

// retries sums the attempts beyond the first; null when no attempt is known.
func retries(rs []*stageRun) *int {
	n, known := 0, false
	for _, r := range rs {
		if r.attempt > 0 {
			n += int(r.attempt) - 1
			known = true
		}
	}
	if !known {
		return nil
	}
	return &n
}

// speed is the last completed run's bytes over its last attempt, in
// megabits per second, to two decimals.
func speed(rs []*stageRun) *float64 {
	for i := len(rs) - 1; i >= 0; i-- {
		r := rs[i]
		if r.bytes <= 0 || r.started.IsZero() || !r.ended.After(r.started) {
			continue
		}
		mbps := math.Round(float64(r.bytes)*8/1e6/r.ended.Sub(r.started).Seconds()*100) / 100
		return &mbps
	}
	return nil
}

func ms(d time.Duration) *int64 {
	n := max(d.Milliseconds(), 0)
	return &n
}
