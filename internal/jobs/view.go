// Package jobs is the client side of the Job workflow: starting a job and
// reading its state. The API and the example starter share it, so both start
// jobs with the same options and report them the same way.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riptide-dev/riptide/internal/codec"
	"github.com/riptide-dev/riptide/workflows"
)

// StatusCancelled is reported for a job whose workflow was cancelled. Jobs
// started before the workflow recorded it are Cancelled by Temporal's
// verdict alone.
const StatusCancelled = workflows.StatusCancelled

// Errors reported for workflows that ended without recording why.
const (
	errTerminated = "terminated"
	errTimedOut   = "timed out"
	errCancelled  = "cancelled"
	errFailed     = "failed"
)

// ErrNotFound means no job has the given ID.
var ErrNotFound = errors.New("job not found")

// View is a job as GET /jobs/{id} returns it. Every key is always present;
// pointers are null when the value is unknown.
//
// The keys are a superset of the hosted service's: created_at and
// finished_at are integers (milliseconds since the epoch) as there, and
// riptide's RFC 3339 times are kept as created_at_iso, updated_at and
// completed_at.
type View struct {
	ID              string  `json:"id"`
	URL             string  `json:"url"`
	Status          string  `json:"status"`
	Step            string  `json:"step"`
	ProgressPercent int     `json:"progress_percent"`
	Key             *string `json:"key"`
	// S3Key is Key under the hosted service's name.
	S3Key         *string `json:"s3_key"`
	S3URL         *string `json:"s3_url"`
	FileSizeBytes *int64  `json:"file_size_bytes"`
	// FileSize is FileSizeBytes under the hosted service's name.
	FileSize     *int64  `json:"file_size"`
	Title        *string `json:"title"`
	Description  *string `json:"description"`
	ReleaseDate  *string `json:"release_date"`
	SubtitleKey  *string `json:"subtitle_key"`
	SubtitleURL  *string `json:"subtitle_url"`
	ThumbnailKey *string `json:"thumbnail_key"`
	ThumbnailURL *string `json:"thumbnail_url"`
	Folder       *string `json:"folder"`
	// BatchID is the batch of an episode job (or the group of a bulk
	// create), null for a job of its own.
	BatchID *string `json:"batch_id"`
	Error   *string `json:"error"`
	// ErrorType is "error" for a Failed job, "warning" for a Warning or
	// Skipped one, null otherwise.
	ErrorType *string `json:"error_type"`
	// RetryOf is the job this one re-runs (POST /jobs/{id}/retry), or null.
	RetryOf *string `json:"retry_of"`
	// CreatedAtMS and FinishedAtMS are CreatedAt and CompletedAt in
	// milliseconds since the epoch.
	CreatedAtMS  int64      `json:"created_at"`
	FinishedAtMS *int64     `json:"finished_at"`
	CreatedAt    time.Time  `json:"created_at_iso"`
	UpdatedAt    time.Time  `json:"updated_at"`
	CompletedAt  *time.Time `json:"completed_at"`
	WorkflowID   string     `json:"workflow_id"`
	RunID        string     `json:"run_id"`
	// TemporalUIURL opens the job's workflow in the Temporal Web UI; null
	// when no UI is configured.
	TemporalUIURL *string `json:"temporal_ui_url"`
	// WebhookStatus sums up the deliveries; null when the job has no
	// webhook or sent nothing yet.
	WebhookStatus *WebhookStatus `json:"webhook_status"`
	// FileDeleted: DELETE /jobs/{id}/file removed the job's objects (or
	// is removing them); the URLs are then null. FileDeletedAtMS is when
	// the deletion ended, in milliseconds since the epoch.
	FileDeleted     bool   `json:"file_deleted"`
	FileDeletedAtMS *int64 `json:"file_deleted_at"`
	// Storage names the bucket the job's objects went to, without
	// credentials: a per-request or tenant target; null for the
	// deployment's bucket.
	Storage *workflows.StorageRef `json:"storage"`
	// Stages are the per-stage figures; only AddStages (GET /jobs/{id})
	// fills them, lists and batch pages leave them null.
	Stages
	// Media are the codecs and qualities; only AddStages fills them.
	Media
	// Webhooks are the delivery records, served by GET /jobs/{id}/webhooks.
	Webhooks []workflows.WebhookEvent `json:"-"`
	// pending are the running activities, when the view came from Describe.
	pending []*workflowpb.PendingActivityInfo
}

// Error types of View.ErrorType.
const (
	ErrorTypeError   = "error"
	ErrorTypeWarning = "warning"
)

// settle fills the fields derived from the others: the hosted service's
// names and types of what riptide already reports.
func (v *View) settle() {
	v.S3Key, v.FileSize = v.Key, v.FileSizeBytes
	v.CreatedAtMS = 0
	if !v.CreatedAt.IsZero() {
		v.CreatedAtMS = v.CreatedAt.UnixMilli()
	}
	v.FinishedAtMS = nil
	if v.CompletedAt != nil {
		ms := v.CompletedAt.UnixMilli()
		v.FinishedAtMS = &ms
	}
	v.ErrorType = nil
	switch v.Status {
	case workflows.StatusFailed:
		v.ErrorType = nullable(ErrorTypeError)
	case workflows.StatusWarning, workflows.StatusSkipped:
		v.ErrorType = nullable(ErrorTypeWarning)
	}
}

// WebhookStatus counts a job's webhook events by delivery state and shows
// the latest attempt.
type WebhookStatus struct {
	Delivered     int        `json:"delivered"`
	Failed        int        `json:"failed"`
	Pending       int        `json:"pending"`
	Dropped       int        `json:"dropped"`
	Attempts      int        `json:"attempts"`
	LastAttemptAt *time.Time `json:"last_attempt_at"`
	LastEventID   *string    `json:"last_event_id"`
	LastStatus    *int       `json:"last_status_code"`
	LastError     *string    `json:"last_error"`
}

func webhookStatus(events []workflows.WebhookEvent) *WebhookStatus {
	if len(events) == 0 {
		return nil
	}
	s := &WebhookStatus{}
	for _, ev := range events {
		switch ev.Status {
		case workflows.WebhookDelivered:
			s.Delivered++
		case workflows.WebhookFailed:
			s.Failed++
		case workflows.WebhookDropped:
			s.Dropped++
		default:
			s.Pending++
		}
		s.Attempts += len(ev.Attempts)
		if n := len(ev.Attempts); n > 0 {
			last := ev.Attempts[n-1]
			at, id := last.At.UTC(), ev.EventID
			s.LastAttemptAt, s.LastEventID, s.LastError = &at, &id, nullable(last.Error)
			s.LastStatus = nil
			if last.StatusCode != 0 {
				code := last.StatusCode
				s.LastStatus = &code
			}
		}
	}
	return s
}

// Done reports whether the job has ended and its view will not change.
func (v *View) Done() bool { return v.CompletedAt != nil }

// Get reads the job's state from its workflow: the JobState memo the
// workflow keeps, the execution status Temporal keeps, and the heartbeat of
// the running transfer. It needs no database and no running worker.
func Get(ctx context.Context, c client.Client, jobID string) (*View, error) {
	//lint:ignore SA1019 DescribeWorkflow(...).RawResponse is this same call; tests and fakes mock this method.
	resp, err := c.DescribeWorkflowExecution(ctx, workflows.JobWorkflowID(jobID), "")
	if err != nil {
		var notFound *serviceerror.NotFound
		if errors.As(err, &notFound) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("describe job %s: %w", jobID, err)
	}
	return viewOf(codec.Of(c), jobID, resp)
}

// viewOf maps a DescribeWorkflowExecution response to a View.
func viewOf(dc converter.DataConverter, jobID string, resp *workflowservice.DescribeWorkflowExecutionResponse) (*View, error) {
	return viewOfInfo(dc, jobID, resp.GetWorkflowExecutionInfo(), resp.GetPendingActivities())
}

// viewOfInfo maps a workflow's execution info (from Describe or a list) to a
// View; pending activities, when known, add the live transfer progress.
func viewOfInfo(dc converter.DataConverter, jobID string, info *workflowpb.WorkflowExecutionInfo, pending []*workflowpb.PendingActivityInfo) (*View, error) {
	if info == nil {
		return nil, fmt.Errorf("describe job %s: response has no execution info", jobID)
	}
	state := workflows.JobState{JobID: jobID, Status: workflows.StatusPending, Step: workflows.StepQueued}
	if p, ok := info.GetMemo().GetFields()[workflows.MemoKey]; ok {
		if err := dc.FromPayload(p, &state); err != nil {
			return nil, fmt.Errorf("decode state of job %s: %w", jobID, err)
		}
	}
	if state.Status == "" {
		state.Status, state.Step = workflows.StatusPending, workflows.StepQueued
	}

	v := &View{
		ID:              jobID,
		URL:             state.URL,
		Status:          state.Status,
		Step:            state.Step,
		ProgressPercent: state.ProgressPercent,
		Key:             nullable(state.Key),
		Title:           nullable(state.Title),
		Description:     nullable(state.Description),
		ReleaseDate:     nullable(state.ReleaseDate),
		SubtitleKey:     nullable(state.SubtitleKey),
		ThumbnailKey:    nullable(state.ThumbnailKey),
		Folder:          nullable(state.Folder),
		Error:           nullable(state.Error),
		RetryOf:         nullable(state.RetryOf),
		CreatedAt:       timeOf(info.GetStartTime()),
		UpdatedAt:       state.UpdatedAt.UTC(),
		WorkflowID:      info.GetExecution().GetWorkflowId(),
		RunID:           info.GetExecution().GetRunId(),
		WebhookStatus:   webhookStatus(state.Webhooks),
		Webhooks:        state.Webhooks,
		Storage:         state.Storage,
	}
	if state.FileSizeBytes > 0 {
		v.FileSizeBytes = &state.FileSizeBytes
	}
	// The starter stamps the first state just before Temporal stamps the
	// start, and an absent memo has no time at all.
	if v.UpdatedAt.Before(v.CreatedAt) {
		v.UpdatedAt = v.CreatedAt
	}

	switch info.GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		// The workflow returns only after recording its outcome, so the
		// memo says Completed, Warning or Skipped; anything else is a
		// memo update that was lost.
		switch v.Status {
		case workflows.StatusCompleted, workflows.StatusWarning, workflows.StatusSkipped:
		default:
			v.Status = workflows.StatusCompleted
		}
		if v.Status == workflows.StatusCompleted {
			v.ProgressPercent = 100
		}
		finish(v, info, "")
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		v.Status = workflows.StatusFailed
		finish(v, info, errFailed)
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		v.Status = StatusCancelled
		finish(v, info, errCancelled)
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		// The memo is whatever the workflow last wrote; Temporal's
		// verdict wins.
		v.Status, v.Error = workflows.StatusFailed, nil
		finish(v, info, errTerminated)
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		v.Status, v.Error = workflows.StatusFailed, nil
		finish(v, info, errTimedOut)
	default: // running (or paused): add the live progress of the transfer
		liveProgress(dc, v, pending)
	}
	v.BatchID = batchOf(info)
	v.pending = pending
	v.settle()
	return v, nil
}

// batchOf is the batch of an episode job: its RiptideBatchID search
// attribute, else the batch workflow that started it.
func batchOf(info *workflowpb.WorkflowExecutionInfo) *string {
	if p, ok := info.GetSearchAttributes().GetIndexedFields()[workflows.SearchAttrBatchID]; ok {
		var id string
		if converter.GetDefaultDataConverter().FromPayload(p, &id) == nil && id != "" {
			return &id
		}
	}
	if id, ok := strings.CutPrefix(info.GetParentExecution().GetWorkflowId(), workflows.BatchWorkflowID("")); ok && id != "" {
		return &id
	}
	return nil
}

// finish marks v as ended at the workflow's close time, with errMsg as the
// error unless the workflow recorded one.
func finish(v *View, info *workflowpb.WorkflowExecutionInfo, errMsg string) {
	v.Step = workflows.StepFinished
	if v.Error == nil && errMsg != "" {
		v.Error = &errMsg
	}
	closed := timeOf(info.GetCloseTime())
	if closed.IsZero() {
		closed = v.UpdatedAt
	}
	if closed.After(v.UpdatedAt) {
		v.UpdatedAt = closed
	}
	v.CompletedAt = &closed
}

// liveProgress interpolates v.ProgressPercent inside the current stage from
// the heartbeat of the stage's pending activity.
func liveProgress(dc converter.DataConverter, v *View, pending []*workflowpb.PendingActivityInfo) {
	// Download 0→33, mux 33→66, upload 66→100, where 100 is reached only
	// by Completed.
	stage, ok := workflows.StepSpans[v.Step]
	if !ok {
		return
	}
	for _, act := range pending {
		if act.GetActivityType().GetName() != stage.Activity.Name() {
			continue
		}
		if t := timeOf(act.GetLastHeartbeatTime()); t.After(v.UpdatedAt) {
			v.UpdatedAt = t
		}
		details := act.GetHeartbeatDetails().GetPayloads()
		if len(details) == 0 {
			return
		}
		var p workflows.Progress
		if err := dc.FromPayload(details[0], &p); err != nil {
			return // progress is a nicety; a bad detail must not fail the read
		}
		pct := stage.From + int(fraction(p)*float64(stage.To-stage.From))
		v.ProgressPercent = max(v.ProgressPercent, min(pct, stage.To))
		return
	}
}

// fraction is how much of its work an activity reported done, in [0, 1].
func fraction(p workflows.Progress) float64 {
	f := 0.0
	switch {
	case p.Percent > 0:
		f = p.Percent / 100
	case p.Total > 0:
		f = float64(p.Bytes) / float64(p.Total)
	}
	return min(max(f, 0), 1)
}

func timeOf(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime().UTC()
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Placeholder is the view of an episode whose job does not exist yet (or
// never will: status Cancelled for a cancelled batch).
func Placeholder(jobID, status, batchID string) *View {
	v := &View{ID: jobID, Status: status, Step: workflows.StepQueued, WorkflowID: workflows.JobWorkflowID(jobID),
		BatchID: nullable(batchID)}
	v.settle()
	return v
}
