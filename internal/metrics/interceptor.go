package metrics

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riptide-dev/riptide/workflows"
)

// stages names the activities whose time and bytes are measured.
var stages = map[string]string{
	workflows.Download.Name(): "download",
	workflows.Mux.Name():      "mux",
	workflows.Upload.Name():   "upload",
	// DeliverWebhook is one recorded attempt; it reports failures in its
	// result, not as an error.
	workflows.DeliverWebhook.Name(): "webhook",
}

// NewInterceptor returns the worker interceptor that records riptide's
// metrics and binds job_id, workflow_id and run_id to every log line of a
// workflow or activity. Being an interceptor, it needs no change to the
// workflow and activity code, and workflow code stays deterministic: it
// only uses the replay-safe handler and logger.
func NewInterceptor() interceptor.WorkerInterceptor {
	return &workerInterceptor{inFlight: map[string]int64{}}
}

type workerInterceptor struct {
	interceptor.WorkerInterceptorBase
	mu       sync.Mutex
	inFlight map[string]int64
}

func (w *workerInterceptor) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &workflowInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}}
}

func (w *workerInterceptor) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &activityInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, w: w}
}

// addInFlight moves the in-flight count of stage and returns the new value.
func (w *workerInterceptor) addInFlight(stage string, d int64) float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inFlight[stage] += d
	return float64(w.inFlight[stage])
}

type workflowInbound struct {
	interceptor.WorkflowInboundInterceptorBase
}

func (i *workflowInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&workflowOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}})
}

func (i *workflowInbound) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	info := workflow.GetInfo(ctx)
	if info.WorkflowType.Name != workflows.JobWorkflowType {
		return i.Next.ExecuteWorkflow(ctx, in)
	}
	// The workflow handler emits nothing while replaying, so each job is
	// counted once.
	h := workflow.GetMetricsHandler(ctx)
	h.Counter(JobsStarted).Inc(1)
	res, err := i.Next.ExecuteWorkflow(ctx, in)
	status := "failed"
	if st, ok := res.(*workflows.JobState); ok && st != nil && err == nil {
		status = strings.ToLower(st.Status)
	}
	if !errors.Is(err, workflow.ErrCanceled) && !isContinueAsNew(err) {
		h.WithTags(map[string]string{"status": status}).Counter(JobsFinished).Inc(1)
	}
	return res, err
}

func isContinueAsNew(err error) bool {
	var can *workflow.ContinueAsNewError
	return errors.As(err, &can)
}

type workflowOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
}

func (o *workflowOutbound) GetLogger(ctx workflow.Context) log.Logger {
	info := workflow.GetInfo(ctx)
	return log.With(o.Next.GetLogger(ctx), jobFields(info.WorkflowExecution.ID, info.WorkflowExecution.RunID, info.ParentWorkflowExecution)...)
}

type activityInbound struct {
	interceptor.ActivityInboundInterceptorBase
	w *workerInterceptor
}

func (i *activityInbound) Init(outbound interceptor.ActivityOutboundInterceptor) error {
	return i.Next.Init(&activityOutbound{ActivityOutboundInterceptorBase: interceptor.ActivityOutboundInterceptorBase{Next: outbound}})
}

func (i *activityInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	stage, ok := stages[activity.GetInfo(ctx).ActivityType.Name]
	if !ok {
		return i.Next.ExecuteActivity(ctx, in)
	}
	h := activity.GetMetricsHandler(ctx).WithTags(map[string]string{"stage": stage})
	h.Gauge(ActivitiesInFlight).Update(i.w.addInFlight(stage, 1))
	start := time.Now()
	res, err := i.Next.ExecuteActivity(ctx, in)
	h.Gauge(ActivitiesInFlight).Update(i.w.addInFlight(stage, -1))

	outcome := "success"
	if err != nil {
		outcome = "error"
	}
	h.WithTags(map[string]string{"outcome": outcome}).Timer(StageDuration).Record(time.Since(start))
	switch r := res.(type) {
	case *workflows.DownloadResult:
		if r != nil {
			h.Counter(BytesMoved).Inc(r.Bytes)
		}
	case *workflows.UploadResult:
		if r != nil {
			h.Counter(BytesMoved).Inc(r.Bytes)
		}
	}
	if stage == "webhook" {
		activity.GetMetricsHandler(ctx).WithTags(map[string]string{"outcome": webhookOutcome(res, err)}).Counter(WebhookDeliveries).Inc(1)
	}
	return res, err
}

// webhookOutcome names one delivery attempt's result.
func webhookOutcome(res any, err error) string {
	var appErr *temporal.ApplicationError
	attempt, recorded := res.(*workflows.WebhookAttempt)
	switch {
	case err == nil && recorded && attempt != nil && !attempt.Delivered:
		if attempt.StatusCode == http.StatusGone {
			return "gone"
		}
		return "failed"
	case err == nil:
		return "delivered"
	case errors.As(err, &appErr) && appErr.Type() == workflows.ErrTypeWebhookGone:
		return "gone"
	default:
		return "failed"
	}
}

type activityOutbound struct {
	interceptor.ActivityOutboundInterceptorBase
}

func (o *activityOutbound) GetLogger(ctx context.Context) log.Logger {
	info := activity.GetInfo(ctx)
	return log.With(o.Next.GetLogger(ctx), jobFields(info.WorkflowExecution.ID, info.WorkflowExecution.RunID, nil)...)
}

// jobFields are the log fields naming the job a workflow or activity
// belongs to. A job's ID is its workflow ID without the "job-" prefix (and,
// for the deletion of its file, without the "/file-deleted" suffix); a
// job started by a batch also names the batch's workflow.
func jobFields(workflowID, runID string, parent *workflow.Execution) []any {
	fields := []any{"workflow_id", workflowID, "run_id", runID}
	if id, ok := workflows.ParseJobWorkflowID(workflowID); ok {
		fields = append(fields, "job_id", id)
	} else if id, ok := workflows.ParseFileDeletedWorkflowID(workflowID); ok {
		fields = append(fields, "job_id", id)
	}
	if parent != nil && parent.ID != "" {
		fields = append(fields, "parent_workflow_id", parent.ID)
	}
	return fields
}
