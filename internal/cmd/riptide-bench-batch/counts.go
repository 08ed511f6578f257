package main

import (
	"context"
	"fmt"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/internal/proccpu"
	"github.com/riptide-dev/riptide/workflows"
)

// shape counts what one workflow run asked of the server. Unlike seconds on
// a shared machine these counts repeat from run to run, so they say whether
// a change removed work.
type shape struct {
	Events, WorkflowTasks, Activities, Signals, Upserts, Timers, ChildEvents int
}

func (s shape) String() string {
	return fmt.Sprintf("%d events, %d workflow tasks, %d activities, %d signals, %d memo/search-attribute upserts, %d timers, %d child events",
		s.Events, s.WorkflowTasks, s.Activities, s.Signals, s.Upserts, s.Timers, s.ChildEvents)
}

func (s shape) add(o shape) shape {
	return shape{s.Events + o.Events, s.WorkflowTasks + o.WorkflowTasks, s.Activities + o.Activities,
		s.Signals + o.Signals, s.Upserts + o.Upserts, s.Timers + o.Timers, s.ChildEvents + o.ChildEvents}
}

// per divides every count by n, as a string with one decimal.
func (s shape) per(n int) string {
	d := float64(max(n, 1))
	return fmt.Sprintf("%.1f events, %.2f workflow tasks, %.2f activities, %.2f signals, %.2f upserts, %.2f timers, %.2f child events",
		float64(s.Events)/d, float64(s.WorkflowTasks)/d, float64(s.Activities)/d, float64(s.Signals)/d,
		float64(s.Upserts)/d, float64(s.Timers)/d, float64(s.ChildEvents)/d)
}

// historyShape reads one run's history and counts its events by kind.
func historyShape(ctx context.Context, c client.Client, wid, rid string) (shape, error) {
	var s shape
	it := c.GetWorkflowHistory(ctx, wid, rid, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return s, err
		}
		s.Events++
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			s.WorkflowTasks++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			s.Activities++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
			s.Signals++
		case enumspb.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED, enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			s.Upserts++
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			s.Timers++
		case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
			enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
			s.ChildEvents++
		}
	}
	return s, nil
}

// allRunsShape sums the shapes of every run of a workflow ID (a batch's
// runs continued as new).
func allRunsShape(ctx context.Context, c client.Client, query string) (shape, int, error) {
	var total shape
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 1000})
	if err != nil {
		return total, 0, err
	}
	for _, e := range resp.GetExecutions() {
		s, err := historyShape(ctx, c, e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId())
		if err != nil {
			return total, 0, err
		}
		total = total.add(s)
	}
	return total, len(resp.GetExecutions()), nil
}

// oneShape is the shape of the first workflow the query lists.
func oneShape(ctx context.Context, c client.Client, query string) (shape, error) {
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 1})
	if err != nil {
		return shape{}, err
	}
	if len(resp.GetExecutions()) == 0 {
		return shape{}, fmt.Errorf("no workflow for %s", query)
	}
	e := resp.GetExecutions()[0].GetExecution()
	return historyShape(ctx, c, e.GetWorkflowId(), e.GetRunId())
}

// cpuUse is the CPU time (user + system) of each part of the stack: on a
// 2-core machine CPU is what bounds tiny episodes, so where it goes says
// what to tune.
type cpuUse struct {
	Temporal, S3, Worker, Tools, Bench time.Duration
}

func (c cpuUse) sub(d cpuUse) cpuUse {
	return cpuUse{c.Temporal - d.Temporal, c.S3 - d.S3, c.Worker - d.Worker, c.Tools - d.Tools, c.Bench - d.Bench}
}

func (c cpuUse) String() string {
	return fmt.Sprintf("Temporal %s, worker %s (+ its tools %s), S3 %s, bench process %s",
		c.Temporal.Round(time.Millisecond), c.Worker.Round(time.Millisecond), c.Tools.Round(time.Millisecond),
		c.S3.Round(time.Millisecond), c.Bench.Round(time.Millisecond))
}

func (c cpuUse) perItem(n int) cpuUse {
	d := time.Duration(max(n, 1))
	return cpuUse{c.Temporal / d, c.S3 / d, c.Worker / d, c.Tools / d, c.Bench / d}
}

// sampleCPU reads the CPU time of the given processes (0: absent) and of
// this one.
func sampleCPU(temporalPid, s3Pid, workerPid int) cpuUse {
	var c cpuUse
	c.Temporal, _ = proccpu.Of(temporalPid)
	c.S3, _ = proccpu.Of(s3Pid)
	if workerPid > 0 {
		c.Worker, c.Tools = proccpu.Of(workerPid)
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		c.Bench = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return c
}

// The shaped baseline: bare children with the least a correct episode
// must ask of the server, to tell riptide's own overhead from the shape
// the card imposes. An episode downloads on any worker and uploads on the
// worker that holds the files (two activities, the second on that
// worker's own queue, so not handed out with the workflow task), and keeps
// its state readable by the API (a memo write at each step, the status
// indexed as it changes). The bare baseline above does one activity and
// writes nothing.
const (
	shapedQueue     = "riptide-bench-shaped"
	shapedHostQueue = "riptide-bench-shaped-host"
)

// shapeVariant takes parts out of the shaped child, to measure what each
// costs (-decompose).
type shapeVariant struct {
	NoUpserts bool // no memo writes, no status index
	SameQueue bool // the second activity on the workflow's own queue (handed out with the workflow task)
}

func shapedChild(ctx workflow.Context, v shapeVariant) error {
	st := workflows.NewJobState(workflows.JobInput{JobID: "00000000-0000-4000-8000-000000000000",
		URL: "http://127.0.0.1/ep/0.mp4", Folder: "bench", Title: "Bench 0"}, workflow.Now(ctx))
	save := func(status, step string) error {
		if v.NoUpserts {
			return nil
		}
		st.Status, st.Step, st.UpdatedAt = status, step, workflow.Now(ctx)
		return workflow.UpsertMemo(ctx, map[string]any{workflows.MemoKey: st})
	}
	if err := save(workflows.StatusProcessing, workflows.StepDownloading); err != nil {
		return err
	}
	index := func(status string) error {
		if v.NoUpserts {
			return nil
		}
		return workflow.UpsertTypedSearchAttributes(ctx, workflows.StatusKey.ValueSet(status))
	}
	if err := index(workflows.StatusProcessing); err != nil {
		return err
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	if err := workflow.ExecuteActivity(actx, noop).Get(ctx, nil); err != nil {
		return err
	}
	if err := save(workflows.StatusProcessing, workflows.StepUploading); err != nil {
		return err
	}
	host := shapedHostQueue
	if v.SameQueue {
		host = ""
	}
	hctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute, TaskQueue: host})
	if err := workflow.ExecuteActivity(hctx, noop).Get(ctx, nil); err != nil {
		return err
	}
	if err := save(workflows.StatusCompleted, workflows.StepFinished); err != nil {
		return err
	}
	return index(workflows.StatusCompleted)
}

// shapedParent runs n shaped children through a sliding window.
func shapedParent(ctx workflow.Context, n, window int, v shapeVariant) error {
	running := 0
	var firstErr error
	for i := range n {
		_ = workflow.Await(ctx, func() bool { return running < window })
		running++
		f := workflow.ExecuteChildWorkflow(ctx, shapedChild, v)
		workflow.Go(ctx, func(ctx workflow.Context) {
			if err := f.Get(ctx, nil); err != nil && firstErr == nil {
				firstErr = fmt.Errorf("child %d: %w", i, err)
			}
			running--
		})
	}
	_ = workflow.Await(ctx, func() bool { return running == 0 })
	return firstErr
}

// shapedBaseline runs the shaped baseline on in-process workers and
// returns its time and its parent's workflow ID.
func shapedBaseline(ctx context.Context, c client.Client, n, window int, v shapeVariant) (time.Duration, string, error) {
	w := worker.New(c, shapedQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(shapedParent, workflow.RegisterOptions{Name: "BenchShapedParent"})
	w.RegisterWorkflowWithOptions(shapedChild, workflow.RegisterOptions{Name: "BenchShapedChild"})
	w.RegisterActivity(noop)
	hw := worker.New(c, shapedHostQueue, worker.Options{})
	hw.RegisterActivity(noop)
	for _, x := range []worker.Worker{w, hw} {
		if err := x.Start(); err != nil {
			return 0, "", err
		}
		defer x.Stop()
	}
	start := time.Now()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: shapedQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE}, shapedParent, n, window, v)
	if err != nil {
		return 0, "", err
	}
	if err := run.Get(ctx, nil); err != nil {
		return 0, "", err
	}
	return time.Since(start), run.GetID(), nil
}

// printFailures says why episodes did not complete: how many the visibility
// store counts completed (against the batch's own count) and, for up to
// five others, their status, error and workflow close status.
func printFailures(ctx context.Context, c client.Client, batchID string, counted int) {
	q := fmt.Sprintf("%s = %q", workflows.SearchAttrBatchID, batchID)
	done, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
		Query: q + fmt.Sprintf(" AND %s = %q", workflows.SearchAttrStatus, workflows.StatusCompleted)})
	if err == nil {
		fmt.Printf("episodes completed by their own status: %d (the batch counted %d)\n", done.GetCount(), counted)
	}
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query: q + fmt.Sprintf(" AND %s != %q", workflows.SearchAttrStatus, workflows.StatusCompleted), PageSize: 5})
	if err != nil {
		fmt.Printf("listing the episodes not completed: %v\n", err)
		return
	}
	for _, e := range resp.GetExecutions() {
		id, _ := workflows.ParseJobWorkflowID(e.GetExecution().GetWorkflowId())
		v, err := jobs.Get(ctx, c, id)
		if err != nil {
			fmt.Printf("  %s: %s (%v)\n", id, e.GetStatus(), err)
			continue
		}
		msg := ""
		if v.Error != nil {
			msg = *v.Error
		}
		fmt.Printf("  %s: workflow %s, job %s, error %q\n", id, e.GetStatus(), v.Status, msg)
	}
}
