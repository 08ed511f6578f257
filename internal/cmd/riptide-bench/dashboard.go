package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/riptide-dev/riptide/api"
	"github.com/riptide-dev/riptide/internal/codec"
	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/workflows"
)

// The dashboard section: the latency of GET /dashboard/* (and of the job
// list and /usage, which share their reads) with -dash-jobs jobs in the
// namespace, cold and as a dashboard polling every second sees it, beside
// the Temporal calls underneath.
//
// The jobs are real Job-typed workflows started with the API's own start
// options (workflows.JobStartOptions: ID, search attributes, Pending memo),
// run by a bench worker whose Job workflow writes a final memo and status
// search attribute the way the real one's saveState does and ends in one
// workflow task. Visibility then holds what it holds for real jobs (type,
// status attribute, folder, memo, start and close times), without
// downloading anything.

const (
	// dashTaskQueue is served by the bench's Job stand-in.
	dashTaskQueue = "bench-dash"
	// dashIdleQueue has no worker: its jobs stay Pending.
	dashIdleQueue = "bench-dash-idle"
	dashFolder    = "bench/dash"
	dashBatches   = 100
	// dashStarters bounds the concurrent starts.
	dashStarters = 64
	// dashColdBudget bounds the time of one row's cold samples: a scan
	// of every completed job can take seconds.
	dashColdBudget = 5 * time.Second
	dashMinSamples = 3
	// dashStopSignal ends a running stand-in (never sent: they run until
	// the dev server stops).
	dashStopSignal = "bench-stop"
)

// dashKinds is the mix of the jobs, per 100: mostly completed, some failed,
// a few warnings, processing jobs spread over the three steps, and queued
// ones.
var dashKinds = func() []string {
	var k []string
	add := func(kind string, n int) {
		for range n {
			k = append(k, kind)
		}
	}
	add(workflows.StatusCompleted, 80)
	add(workflows.StatusFailed, 10)
	add(workflows.StatusWarning, 2)
	add(workflows.StepDownloading, 3)
	add(workflows.StepMuxing, 1)
	add(workflows.StepUploading, 2)
	add(workflows.StatusPending, 2)
	return k
}()

// dashJobWorkflow stands in for the Job workflow: its input's URL names the
// outcome (?kind=), which it writes to the memo and status search
// attribute in a single workflow task, then completes, or waits for
// dashStopSignal when the job is processing.
func dashJobWorkflow(ctx workflow.Context, in workflows.JobInput) (workflows.JobState, error) {
	now := workflow.Now(ctx)
	st := workflows.NewJobState(in, now)
	kind := in.URL[strings.LastIndex(in.URL, "=")+1:]
	st.Title = "Bench episode " + in.JobID[:8]
	st.Description = "A job of the dashboard benchmark, with a description as long as a short one of a real video."
	switch kind {
	case workflows.StatusCompleted:
		st.Status, st.Step, st.ProgressPercent = kind, workflows.StepFinished, 100
		st.Key = in.Folder + "/bench-episode-" + in.JobID[:8] + ".mp4"
		st.FileSizeBytes = 20<<20 + int64(in.JobID[0])<<16
		st.Webhooks = []workflows.WebhookEvent{{
			EventID: workflows.JobEventID(in.JobID, workflows.TypeJobCompleted), Type: workflows.TypeJobCompleted,
			Status:   workflows.WebhookDelivered,
			Attempts: []workflows.WebhookAttempt{{At: now, StatusCode: 200, LatencyMS: 12, Delivered: true}},
		}}
	case workflows.StatusFailed, workflows.StatusWarning:
		st.Status, st.Step = kind, workflows.StepFinished
		st.Error = "ERROR: [generic] Unable to download webpage: HTTP Error 404: Not Found"
	default: // a step: processing
		st.Status, st.Step, st.ProgressPercent = workflows.StatusProcessing, kind, 40
	}
	st.UpdatedAt = now
	if err := workflow.UpsertMemo(ctx, map[string]any{workflows.MemoKey: st}); err != nil {
		return st, err
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, workflows.StatusKey.ValueSet(st.Status)); err != nil {
		return st, err
	}
	if st.Status == workflows.StatusProcessing {
		workflow.GetSignalChannel(ctx, dashStopSignal).Receive(ctx, nil)
	}
	return st, nil
}

// dashBatchWorkflow stands in for the Batch workflow: a finished batch's
// memo, then done.
func dashBatchWorkflow(ctx workflow.Context, in workflows.BatchInput) error {
	st := workflows.NewBatchState(in, workflow.Now(ctx))
	st.Status, st.Resolved = workflows.BatchCompleted, true
	st.Total, st.Started, st.Completed, st.Failed = 100, 100, 90, 10
	return workflow.UpsertMemo(ctx, map[string]any{workflows.BatchMemoKey: st})
}

type dashResult struct {
	jobs, batches int
	fill          time.Duration
	rows          []dashRow
	baselines     []dashRow
	coldN, warmN  int
	// warmCPU is the stack's CPU use over the warm polling.
	warmCPU     cpuUse
	warmElapsed time.Duration
}

type dashRow struct {
	name, calls string
	cold, warm  []time.Duration
}

// benchDashboard fills the namespace, then times the endpoints and the raw
// Temporal calls.
func benchDashboard(ctx context.Context, st *stack, o options, r *report) error {
	w := worker.New(codec.Unwrap(st.temporal), dashTaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(dashJobWorkflow, workflow.RegisterOptions{Name: workflows.JobWorkflowType})
	w.RegisterWorkflowWithOptions(dashBatchWorkflow, workflow.RegisterOptions{Name: workflows.BatchWorkflowType})
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()
	res := &dashResult{jobs: o.dashJobs, batches: dashBatches, coldN: o.dashCold, warmN: o.dashWarm}
	start := time.Now()
	if err := st.fillDashboard(ctx, o.dashJobs); err != nil {
		return err
	}
	res.fill = time.Since(start)
	logf("%d jobs and %d batches in visibility after %s", o.dashJobs, dashBatches, res.fill.Round(time.Second))

	endpoints := []struct{ path, calls string }{
		{"/dashboard/stats", "2 counts (GROUP BY) or 8, cached 2 s; every completed job's memo (pages of 1000), refreshed in the background"},
		{"/dashboard/jobs", "1 count + 1 list page of 20"},
		{"/dashboard/batches", "1 list page of 100 batches, cached 2 s"},
		{"/dashboard/cluster", "every processing job's memo (pages of 1000), cached 1 s"},
		{"/dashboard/daily", "14 counts, 4 at a time, cached 5 s"},
		{"/jobs?limit=50", "1 count + 1 list page of 50"},
		{"/usage", "as /dashboard/stats"},
	}
	// Cold: a new router for each request, so every cache is empty, as
	// for the first request after a start.
	var current atomic.Pointer[http.Handler]
	coldURL, stop, err := serve(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		(*current.Load()).ServeHTTP(w, req)
	}))
	if err != nil {
		return err
	}
	defer stop()
	fresh := func() {
		h := http.Handler(api.NewRouter(api.Deps{
			Temporal: st.temporal, TaskQueue: st.cfg.Temporal.TaskQueue, Store: st.store, Keys: st.cfg.API.Keys,
			Namespace: st.cfg.Temporal.Namespace,
		}))
		current.Store(&h)
	}
	for _, e := range endpoints {
		row := dashRow{name: "GET " + e.path, calls: e.calls}
		err := sample(o.dashCold, func() (time.Duration, error) {
			fresh()
			return timedGet(ctx, coldURL+e.path)
		}, &row.cold)
		if err != nil {
			return err
		}
		res.rows = append(res.rows, row)
	}
	// Warm: the real API handler (api.New, with its caches), every
	// endpoint once a second, as a dashboard polls; a first round fills
	// the caches and is not counted.
	var cpuBefore cpuUse
	var warmStart time.Time
	for round := range o.dashWarm + 1 {
		if round == 1 {
			cpuBefore, warmStart = st.cpu(nil), time.Now()
		}
		next := time.Now().Add(time.Second)
		for i, e := range endpoints {
			d, err := timedGet(ctx, st.apiURL+e.path)
			if err != nil {
				return err
			}
			if round > 0 {
				res.rows[i].warm = append(res.rows[i].warm, d)
			}
		}
		if round < o.dashWarm {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Until(next)):
			}
		}
	}
	res.warmCPU, res.warmElapsed = st.cpu(nil).sub(cpuBefore), time.Since(warmStart)
	// The baselines: the Temporal calls underneath, alone.
	jobType := "WorkflowType = '" + workflows.JobWorkflowType + "'"
	// The queries of the completed-job aggregate and the cluster's step
	// counts, as internal/jobs builds them.
	completedQ, _ := jobs.Query(jobs.Filter{Status: workflows.StatusCompleted})
	processingQ, _ := jobs.Query(jobs.Filter{Status: workflows.StatusProcessing})
	count := func(q string) func() error {
		return func() error {
			_, err := st.temporal.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: q})
			return err
		}
	}
	scan := func(q string, size int32, all bool) func() error {
		return func() error {
			var token []byte
			for {
				resp, err := st.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
					Query: q, PageSize: size, NextPageToken: token,
				})
				if err != nil {
					return err
				}
				if token = resp.GetNextPageToken(); !all || len(token) == 0 {
					return nil
				}
			}
		}
	}
	baselines := []struct {
		name string
		fn   func() error
	}{
		{"CountWorkflowExecutions, jobs, GROUP BY ExecutionStatus", count(jobType + " GROUP BY ExecutionStatus")},
		{"CountWorkflowExecutions, jobs of one status", count(jobType + " AND " + workflows.SearchAttrStatus + " = 'Completed'")},
		{"ListWorkflowExecutions, one page of 50 jobs", scan(jobType, 50, false)},
		{"ListWorkflowExecutions, every completed job (pages of 1000)", scan(completedQ+" AND ExecutionStatus = 'Completed'", 1000, true)},
		{"ListWorkflowExecutions, every processing job (pages of 1000)", scan(processingQ, 1000, true)},
	}
	for _, b := range baselines {
		row := dashRow{name: b.name}
		err := sample(o.dashCold, func() (time.Duration, error) {
			t := time.Now()
			err := b.fn()
			return time.Since(t), err
		}, &row.cold)
		if err != nil {
			return fmt.Errorf("%s: %w", b.name, err)
		}
		res.baselines = append(res.baselines, row)
	}
	for _, row := range append(slices.Clone(res.rows), res.baselines...) {
		logf("%s: cold p50 %s p95 %s, warm p50 %s p95 %s", row.name, msf(pct(row.cold, 50)), msf(pct(row.cold, 95)),
			msf(pct(row.warm, 50)), msf(pct(row.warm, 95)))
	}
	r.dashboard = res
	return nil
}

// fillDashboard starts n jobs in dashKinds' mix and dashBatches batches,
// dashStarters at a time, and waits until visibility shows them all in
// their final state.
func (st *stack) fillDashboard(ctx context.Context, n int) error {
	now := time.Now()
	want := map[string]int64{}
	err := forEach(n, dashStarters, func(i int) error {
		kind := dashKinds[i%len(dashKinds)]
		in := workflows.JobInput{JobID: uuid.NewString(), Folder: dashFolder,
			URL: fmt.Sprintf("https://media.example/watch/%d?kind=%s", i, kind)}
		queue := dashTaskQueue
		if kind == workflows.StatusPending {
			queue = dashIdleQueue
		}
		opts := workflows.JobStartOptions(queue, in, now)
		// The first workflow task comes back with the start, to the
		// bench's own worker: one round trip less per job.
		opts.EnableEagerStart = queue == dashTaskQueue
		_, err := st.temporal.ExecuteWorkflow(ctx, opts, workflows.JobWorkflowType, in)
		return err
	})
	if err != nil {
		return fmt.Errorf("starting jobs: %w", err)
	}
	for i := range n {
		kind := dashKinds[i%len(dashKinds)]
		switch kind {
		case workflows.StatusCompleted, workflows.StatusFailed, workflows.StatusWarning, workflows.StatusPending:
			want[kind]++
		default:
			want[workflows.StatusProcessing]++
		}
	}
	err = forEach(dashBatches, dashStarters, func(int) error {
		in := workflows.BatchInput{BatchID: uuid.NewString(), ShowURL: "https://media.example/playlist", Folder: dashFolder}
		_, err := st.temporal.ExecuteWorkflow(ctx, workflows.BatchStartOptions(dashTaskQueue, in, now), workflows.BatchWorkflowType, in)
		return err
	})
	if err != nil {
		return fmt.Errorf("starting batches: %w", err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		done := true
		for status, n := range want {
			q := fmt.Sprintf("WorkflowType = '%s' AND %s = '%s'", workflows.JobWorkflowType, workflows.SearchAttrStatus, status)
			if status != workflows.StatusPending && status != workflows.StatusProcessing {
				q += " AND ExecutionStatus = 'Completed'"
			}
			resp, err := st.temporal.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: q})
			if err != nil {
				return err
			}
			if resp.GetCount() < n {
				done = false
				break
			}
		}
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("visibility does not show the %d jobs after 5 minutes", n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// sample appends up to n timings of fn to out, fewer once dashColdBudget
// has passed (but at least dashMinSamples).
func sample(n int, fn func() (time.Duration, error), out *[]time.Duration) error {
	start := time.Now()
	for i := range n {
		if i >= dashMinSamples && time.Since(start) > dashColdBudget {
			return nil
		}
		d, err := fn()
		if err != nil {
			return err
		}
		*out = append(*out, d)
	}
	return nil
}

// timedGet is one API request, read to the end; anything but a 200 is an
// error.
func timedGet(ctx context.Context, url string) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("x-api-key", benchAPIKey)
	start := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s: %s", url, res.Status, body)
	}
	return d, nil
}

// pct is the p-th percentile (nearest rank) of ds; 0 when empty.
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}

func msf(d time.Duration) string {
	if d == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func (d *dashResult) markdown(b *strings.Builder) {
	fmt.Fprintf(b, "\n### Dashboard at %d jobs\n\n%d Job workflows (80 %% completed, 10 %% failed, 2 %% warning, "+
		"6 %% processing, 2 %% pending) and %d batches in the namespace, started with the API's start options "+
		"and settled by a stand-in Job workflow (memo and status search attribute as the real one writes them) "+
		"in %s. Cold: up to %d sequential requests (fewer after %s, n says how many), each on a new router "+
		"(empty caches). Warm: the API as served, every endpoint once a second for %d s, as a polling dashboard "+
		"sees it (the caches' refreshes included).\n\n",
		d.jobs, d.jobs, d.batches, secs(d.fill), d.coldN, dashColdBudget, d.warmN)
	b.WriteString("| request | Temporal calls underneath | cold p50 | cold p95 | n | warm p50 | warm p95 |\n|---|---|---|---|---|---|---|\n")
	for _, row := range d.rows {
		fmt.Fprintf(b, "| `%s` | %s | %s | %s | %d | %s | %s |\n", row.name, row.calls,
			msf(pct(row.cold, 50)), msf(pct(row.cold, 95)), len(row.cold), msf(pct(row.warm, 50)), msf(pct(row.warm, 95)))
	}
	for _, row := range d.baselines {
		fmt.Fprintf(b, "| baseline: %s | the call alone, from the bench | %s | %s | %d | | |\n", row.name,
			msf(pct(row.cold, 50)), msf(pct(row.cold, 95)), len(row.cold))
	}
	if s := d.warmElapsed.Seconds(); s > 0 {
		fmt.Fprintf(b, "\nWhile polling (warm): the Temporal server used %.0f %% of a core, the bench process (API and "+
			"client) %.0f %%.\n", 100*d.warmCPU.Temporal.Seconds()/s, 100*d.warmCPU.Bench.Seconds()/s)
	}
}
