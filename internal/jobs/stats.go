package jobs

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/riptide-dev/riptide/internal/codec"
	"github.com/riptide-dev/riptide/workflows"
)

// This file computes the dashboard's figures from Temporal's visibility
// store alone: counts (CountWorkflowExecutions) and the memos of listed
// executions. Nothing is stored besides what Temporal keeps.

// StatusCounts are the numbers of jobs per status, as View reports them.
type StatusCounts struct {
	Total                                  int64
	Pending, Processing, Completed, Failed int64
	Warning, Skipped, Cancelled            int64
	// Grouped tells whether the counts came from GROUP BY queries (two
	// calls) rather than one count per status.
	Grouped bool
}

// statsGroupBy remembers whether the server refused GROUP BY RiptideStatus
// (SQL visibility groups by ExecutionStatus only): asked once per process.
var statsGroupBy struct {
	sync.Mutex
	unsupported bool
}

// CountJobStatuses counts the jobs of each status. It first tries two
// grouped counts (GROUP BY ExecutionStatus, GROUP BY RiptideStatus over
// the workflows whose memo status stands); a server that cannot group by
// RiptideStatus gets one count per status instead, with the same clauses
// GET /jobs?status= filters on.
func CountJobStatuses(ctx context.Context, c client.Client, tenant string) (StatusCounts, error) {
	statsGroupBy.Lock()
	grouped := !statsGroupBy.unsupported
	statsGroupBy.Unlock()
	if grouped {
		sc, err := countGrouped(ctx, c, tenant)
		if err == nil {
			return sc.atLeastItsParts(), nil
		}
		// Refused queries are not retried; other errors fall back
		// this time only.
		var invalid *serviceerror.InvalidArgument
		if errors.As(err, &invalid) {
			statsGroupBy.Lock()
			statsGroupBy.unsupported = true
			statsGroupBy.Unlock()
		}
	}
	sc, err := countEach(ctx, c, tenant)
	return sc.atLeastItsParts(), err
}

// atLeastItsParts: the counts are queries taken a moment apart, so jobs
// that start or change status meanwhile can make the statuses add up to
// more than the total counted before them. A dashboard must never show a
// total below its parts; the total is raised to their sum.
func (sc StatusCounts) atLeastItsParts() StatusCounts {
	sc.Total = max(sc.Total, sc.Pending+sc.Processing+sc.Completed+sc.Failed+sc.Warning+sc.Skipped+sc.Cancelled)
	return sc
}

const jobTypeClause = "WorkflowType = '" + workflows.JobWorkflowType + "'"

// jobsOf matches the jobs of tenant, every tenant's when empty.
func jobsOf(tenant string) string {
	if tenant == "" {
		return jobTypeClause
	}
	return jobTypeClause + " AND " + TenantClause(tenant)
}

func countGrouped(ctx context.Context, c client.Client, tenant string) (StatusCounts, error) {
	byMemo, err := countGroups(ctx, c, jobsOf(tenant)+" AND ExecutionStatus IN ('Running', 'Completed') GROUP BY "+workflows.SearchAttrStatus)
	if err != nil {
		return StatusCounts{}, err
	}
	byExec, err := countGroups(ctx, c, jobsOf(tenant)+" GROUP BY ExecutionStatus")
	if err != nil {
		return StatusCounts{}, err
	}
	sc := StatusCounts{Grouped: true}
	for _, n := range byExec {
		sc.Total += n
	}
	sc.Pending = byMemo[workflows.StatusPending]
	sc.Processing = byMemo[workflows.StatusProcessing]
	sc.Completed = byMemo[workflows.StatusCompleted]
	sc.Warning = byMemo[workflows.StatusWarning]
	sc.Skipped = byMemo[workflows.StatusSkipped]
	// Temporal's verdict wins for workflows that did not complete.
	sc.Failed = byMemo[workflows.StatusFailed] + byExec["Failed"] + byExec["Terminated"] + byExec["TimedOut"]
	sc.Cancelled = byMemo[workflows.StatusCancelled] + byExec["Canceled"]
	return sc, nil
}

// countGroups runs a GROUP BY count and maps each group's value to its
// count.
func countGroups(ctx context.Context, c client.Client, q string) (map[string]int64, error) {
	resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: q})
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, g := range resp.GetGroups() {
		var v string
		if vals := g.GetGroupValues(); len(vals) > 0 {
			if err := converter.GetDefaultDataConverter().FromPayload(vals[0], &v); err != nil {
				return nil, fmt.Errorf("decode group value: %w", err)
			}
		}
		out[v] += g.GetCount()
	}
	return out, nil
}

func countEach(ctx context.Context, c client.Client, tenant string) (StatusCounts, error) {
	var sc StatusCounts
	targets := map[string]*int64{
		"": &sc.Total, workflows.StatusPending: &sc.Pending, workflows.StatusProcessing: &sc.Processing,
		workflows.StatusCompleted: &sc.Completed, workflows.StatusFailed: &sc.Failed,
		workflows.StatusWarning: &sc.Warning, workflows.StatusSkipped: &sc.Skipped,
		workflows.StatusCancelled: &sc.Cancelled,
	}
	queries := map[string]string{}
	for status := range targets {
		q, err := Query(Filter{Status: status, Tenant: tenant})
		if err != nil {
			return sc, err
		}
		queries[status] = q
	}
	counts, err := countMany(ctx, c, queries)
	if err != nil {
		return sc, err
	}
	for status, p := range targets {
		*p = counts[status]
	}
	return sc, nil
}

// countMany runs the named counts, four at a time.
func countMany(ctx context.Context, c client.Client, queries map[string]string) (map[string]int64, error) {
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		out  = make(map[string]int64, len(queries))
		errs []error
		sem  = make(chan struct{}, 4)
	)
	for name, q := range queries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: q})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("count %s: %w", name, err))
				return
			}
			out[name] = resp.GetCount()
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// MaxAggregateScan bounds how many completed jobs AggregateCompleted reads.
const MaxAggregateScan = 100_000

const statsPageSize = 1000

// CompletedAggregate sums up the completed jobs still in visibility
// (the namespace's retention).
type CompletedAggregate struct {
	// Jobs is how many completed jobs were read; StoredBytes the sum of
	// their file_size_bytes.
	Jobs        int64
	StoredBytes int64
	// TodayBytes: those that closed since midnight UTC; PeriodBytes: since
	// the first of the month, UTC.
	TodayBytes, PeriodBytes int64
	// Last24h is how many closed within the last 24 hours; Last24hSeconds
	// the sum of their start-to-close times.
	Last24h        int64
	Last24hSeconds float64
	// Truncated: there were more than MaxAggregateScan completed jobs.
	Truncated bool
}

// AggregateCompleted reads every Completed job from visibility (pages of
// 1000, at most MaxAggregateScan) and sums their sizes and durations.
func AggregateCompleted(ctx context.Context, c client.Client, tenant string, now time.Time) (CompletedAggregate, error) {
	now = now.UTC()
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	dayAgo := now.Add(-24 * time.Hour)
	q, _ := Query(Filter{Status: workflows.StatusCompleted, Tenant: tenant})
	q += " AND ExecutionStatus = 'Completed'"
	var agg CompletedAggregate
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			PageSize: statsPageSize, NextPageToken: token, Query: q,
		})
		if err != nil {
			return agg, fmt.Errorf("list completed jobs: %w", err)
		}
		for _, info := range resp.GetExecutions() {
			if agg.Jobs >= MaxAggregateScan {
				agg.Truncated = true
				return agg, nil
			}
			agg.Jobs++
			size := int64(0)
			if st, ok := stateOf(codec.Of(c), info); ok {
				size = st.FileSizeBytes
			}
			closed := timeOf(info.GetCloseTime())
			agg.StoredBytes += size
			if !closed.Before(midnight) {
				agg.TodayBytes += size
			}
			if !closed.Before(month) {
				agg.PeriodBytes += size
			}
			if closed.After(dayAgo) {
				agg.Last24h++
				if d := closed.Sub(timeOf(info.GetStartTime())); d > 0 {
					agg.Last24hSeconds += d.Seconds()
				}
			}
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			return agg, nil
		}
	}
}

// stateOf decodes a job's JobState memo.
func stateOf(dc converter.DataConverter, info *workflowpb.WorkflowExecutionInfo) (workflows.JobState, bool) {
	var st workflows.JobState
	p, ok := info.GetMemo().GetFields()[workflows.MemoKey]
	if !ok {
		return st, false
	}
	if err := dc.FromPayload(p, &st); err != nil {
		return st, false
	}
	return st, true
}

// MaxRunningScan bounds how many running jobs CountRunningSteps reads.
const MaxRunningScan = 5000

// StepCounts are the running jobs per transfer step.
type StepCounts struct {
	Downloading, Muxing, Uploading int64
	// Truncated: more than MaxRunningScan jobs were processing.
	Truncated bool
}

// CountRunningSteps counts the Processing jobs by the step in their memo.
// The step is not a search attribute, so it lists them (at most
// MaxRunningScan) and reads each memo.
func CountRunningSteps(ctx context.Context, c client.Client, tenant string) (StepCounts, error) {
	q, _ := Query(Filter{Status: workflows.StatusProcessing, Tenant: tenant})
	var sc StepCounts
	var token []byte
	seen := 0
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			PageSize: statsPageSize, NextPageToken: token, Query: q,
		})
		if err != nil {
			return sc, fmt.Errorf("list running jobs: %w", err)
		}
		for _, info := range resp.GetExecutions() {
			if seen >= MaxRunningScan {
				sc.Truncated = true
				return sc, nil
			}
			seen++
			st, _ := stateOf(codec.Of(c), info)
			switch st.Step {
			case workflows.StepDownloading:
				sc.Downloading++
			case workflows.StepMuxing:
				sc.Muxing++
			case workflows.StepUploading:
				sc.Uploading++
			}
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			return sc, nil
		}
	}
}

// DayCounts are the jobs that ended on one UTC day.
type DayCounts struct {
	Date      string // YYYY-MM-DD
	Completed int64
	Failed    int64
}

// DailyCounts counts, for each of the days UTC days up to today (oldest
// first), the jobs that closed Completed and those that failed (Failed,
// Terminated or TimedOut), by CloseTime.
func DailyCounts(ctx context.Context, c client.Client, tenant string, now time.Time, days int) ([]DayCounts, error) {
	now = now.UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	completed, _ := Query(Filter{Status: workflows.StatusCompleted, Tenant: tenant})
	queries := map[string]string{}
	out := make([]DayCounts, days)
	for i := range days {
		from := today.AddDate(0, 0, i-days+1)
		to := from.AddDate(0, 0, 1)
		out[i].Date = from.Format(time.DateOnly)
		rng := fmt.Sprintf(" AND CloseTime >= '%s' AND CloseTime < '%s'", from.Format(time.RFC3339), to.Format(time.RFC3339))
		queries["c"+out[i].Date] = completed + " AND ExecutionStatus = 'Completed'" + rng
		queries["f"+out[i].Date] = jobsOf(tenant) + " AND ExecutionStatus IN ('Failed', 'Terminated', 'TimedOut')" + rng
	}
	counts, err := countMany(ctx, c, queries)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Completed, out[i].Failed = counts["c"+out[i].Date], counts["f"+out[i].Date]
	}
	return out, nil
}

// DashboardJob is one row of the dashboard's job list.
type DashboardJob struct {
	ID        string
	URL       string
	Status    string
	Error     *string
	Key       *string
	CreatedAt time.Time
}

// ListJobsAt returns limit jobs of f after skipping offset (at most
// MaxOffset), in GET /jobs's order, and the number of jobs f matches: List's
// page, as the dashboard's rows.
func ListJobsAt(ctx context.Context, c client.Client, f Filter, limit, offset int) ([]DashboardJob, int64, error) {
	page, err := List(ctx, c, f, limit, offset, nil)
	if err != nil {
		return nil, 0, err
	}
	rows := make([]DashboardJob, 0, len(page.Jobs))
	for _, v := range page.Jobs {
		rows = append(rows, DashboardJob{ID: v.ID, URL: v.URL, Status: v.Status, Error: v.Error, Key: v.Key, CreatedAt: v.CreatedAt})
	}
	return rows, page.Total, nil
}

// DashboardBatch is one row of the dashboard's batch list.
type DashboardBatch struct {
	ID, ShowURL, Folder, Status string
	Total, Completed, Failed    int
	CreatedAt                   time.Time
}

// Batch statuses of the dashboard, as the hosted service names them
// besides completed and finished.
const (
	dashBatchProcessing = "processing"
	dashBatchFailed     = "failed"
	dashBatchCancelled  = "cancelled"
	dashBatchPaused     = workflows.BatchPaused
)

// ListRecentBatches returns up to limit batches from the first page of
// visibility's Batch workflows, newest first by start time, as their memo
// says (a running batch's memo holds its state as of its current run's
// start).
func ListRecentBatches(ctx context.Context, c client.Client, tenant string, limit int) ([]DashboardBatch, error) {
	q := "WorkflowType = '" + workflows.BatchWorkflowType + "'"
	if tenant != "" {
		q += " AND " + TenantClause(tenant)
	}
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		PageSize: int32(limit), Query: q,
	})
	if err != nil {
		return nil, fmt.Errorf("list batches: %w", err)
	}
	out := []DashboardBatch{}
	for _, info := range resp.GetExecutions() {
		var st workflows.BatchState
		if p, ok := info.GetMemo().GetFields()[workflows.BatchMemoKey]; ok {
			_ = codec.Of(c).FromPayload(p, &st)
		}
		b := DashboardBatch{ID: st.BatchID, ShowURL: st.ShowURL, Folder: st.Folder, Status: st.Status,
			Total: st.Total, Completed: st.Completed, Failed: st.Failed, CreatedAt: timeOf(info.GetStartTime())}
		if b.ID == "" {
			b.ID = trimPrefix(info.GetExecution().GetWorkflowId(), workflows.BatchWorkflowID(""))
		}
		switch info.GetStatus() {
		case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
			if b.Status != workflows.BatchCompleted && b.Status != workflows.BatchFinished && b.Status != dashBatchPaused {
				if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
					b.Status = dashBatchProcessing
				} else {
					b.Status = workflows.BatchFinished
				}
			}
			if st.Cancelled {
				b.Status = dashBatchCancelled
			}
		case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
			b.Status = dashBatchCancelled
		default:
			b.Status = dashBatchFailed
		}
		out = append(out, b)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, nil
}

func trimPrefix(s, prefix string) string {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):]
	}
	return s
}
