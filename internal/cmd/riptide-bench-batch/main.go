// Command riptide-bench-batch measures batches end to end on this machine:
// a Temporal dev server, versitygw, the real worker binary as its own
// process, and a local RSS feed of N tiny episodes (one ffmpeg clip served
// under N paths), all on 127.0.0.1. As a baseline from the same run and
// server it first measures bare child workflows that run one no-op
// activity. Run it with `make bench-batch N=1000`.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/riptide-dev/riptide/internal/batches"
	"github.com/riptide-dev/riptide/internal/config"
	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/internal/storage"
	"github.com/riptide-dev/riptide/workflows"
)

type options struct {
	n, window, page, concurrency, baseline int
	workerBin                              string
	shaped, decompose                      bool
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 1000, "episodes in the batch")
	flag.IntVar(&o.window, "window", workflows.DefaultBatchWindow, "episodes running at once")
	flag.IntVar(&o.page, "page", workflows.DefaultBatchPageSize, "episodes per run before continue-as-new")
	flag.IntVar(&o.concurrency, "concurrency", 4, "RIPTIDE_WORKER_CONCURRENCY of the worker")
	flag.IntVar(&o.baseline, "baseline", 1000, "bare child workflows in the baseline (at most n)")
	flag.StringVar(&o.workerBin, "worker", "bin/riptide-worker", "worker binary")
	flag.BoolVar(&o.shaped, "shaped", true, "also measure the shaped baseline (children shaped like an episode)")
	flag.BoolVar(&o.decompose, "decompose", false, "measure the baselines and the shaped one without each of its parts, then stop (no batch)")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := run(o, logger); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(o options, logger *slog.Logger) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "riptide-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	logs, err := os.Create(filepath.Join(dir, "services.log"))
	if err != nil {
		return err
	}
	temporalBin, err := devstack.Tool(devstack.TemporalBinEnv, "temporal")
	if err != nil {
		return err
	}
	s3Bin, err := devstack.Tool(devstack.VersitygwBinEnv, "versitygw")
	if err != nil {
		return err
	}
	tPort, err := devstack.FreePort()
	if err != nil {
		return err
	}
	tp, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{Bin: temporalBin, DBFile: filepath.Join(dir, "temporal.db"),
		Port: tPort, Namespace: "default", Log: logs})
	if err != nil {
		return err
	}
	defer tp.Stop(10 * time.Second)
	s3Port, err := devstack.FreePort()
	if err != nil {
		return err
	}
	s3Addr := fmt.Sprintf("127.0.0.1:%d", s3Port)
	sp, err := devstack.StartS3(ctx, devstack.S3Options{Bin: s3Bin, Dir: filepath.Join(dir, "s3"), Addr: s3Addr,
		AccessKey: "bench", SecretKey: "bench-secret", Log: logs})
	if err != nil {
		return err
	}
	defer sp.Stop(10 * time.Second)
	store, err := storage.New(ctx, config.S3{Endpoint: "http://" + s3Addr, Region: "us-east-1", Bucket: "bench",
		AccessKeyID: "bench", SecretAccessKey: "bench-secret", PathStyle: true, PartSize: 5 << 20, Concurrency: 1})
	if err != nil {
		return err
	}
	if err := store.EnsureBucket(ctx); err != nil {
		return err
	}
	media := filepath.Join(dir, "media")
	if err := devstack.GenerateSamples(ctx, "ffmpeg", media, 1); err != nil {
		return err
	}
	clip, err := os.ReadFile(filepath.Join(media, devstack.SampleMP4))
	if err != nil {
		return err
	}
	feedURL, stopFeed, err := serveFeed(o.n, clip)
	if err != nil {
		return err
	}
	defer stopFeed()

	addr := fmt.Sprintf("127.0.0.1:%d", tPort)
	c, err := client.Dial(client.Options{HostPort: addr, Logger: sdklog.NewStructuredLogger(logger)})
	if err != nil {
		return err
	}
	defer c.Close()

	fmt.Printf("riptide batch bench: N=%d window=%d page=%d worker concurrency=%d\n", o.n, o.window, o.page, o.concurrency)
	baseN := min(o.baseline, o.n)
	cpu0 := sampleCPU(tp.Pid(), sp.Pid(), 0)
	baseDur, baseWID, err := baseline(ctx, c, baseN, o.window)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	baseCPU := sampleCPU(tp.Pid(), sp.Pid(), 0).sub(cpu0)
	baseRate := float64(baseN) / baseDur.Minutes()
	fmt.Printf("baseline: %d bare child workflows (one no-op activity each, window %d) in %s: %.0f/min\n",
		baseN, o.window, baseDur.Round(time.Millisecond), baseRate)
	fmt.Printf("  CPU per child: %s\n", baseCPU.perItem(baseN))
	var shapedRate float64
	var shapedWID string
	if o.shaped {
		cpu0 := sampleCPU(tp.Pid(), sp.Pid(), 0)
		d, wid, err := shapedBaseline(ctx, c, baseN, o.window, shapeVariant{})
		if err != nil {
			return fmt.Errorf("shaped baseline: %w", err)
		}
		shapedCPU := sampleCPU(tp.Pid(), sp.Pid(), 0).sub(cpu0)
		shapedRate, shapedWID = float64(baseN)/d.Minutes(), wid
		fmt.Printf("shaped baseline: %d bare children shaped like an episode (two no-op activities, the second on another queue; a memo write per step, the status indexed) in %s: %.0f/min\n",
			baseN, d.Round(time.Millisecond), shapedRate)
		fmt.Printf("  CPU per child: %s\n", shapedCPU.perItem(baseN))
	}
	if o.decompose {
		// What each part of the shape costs: the same children without
		// the memo and index writes, and with the second activity on the
		// workflow's own queue. No batch runs.
		for _, v := range []shapeVariant{{NoUpserts: true}, {SameQueue: true}, {NoUpserts: true, SameQueue: true}} {
			cpu0 := sampleCPU(tp.Pid(), sp.Pid(), 0)
			d, _, err := shapedBaseline(ctx, c, baseN, o.window, v)
			if err != nil {
				return fmt.Errorf("shaped baseline %+v: %w", v, err)
			}
			fmt.Printf("shaped baseline %+v: %.0f/min; CPU per child: %s\n", v, float64(baseN)/d.Minutes(),
				sampleCPU(tp.Pid(), sp.Pid(), 0).sub(cpu0).perItem(baseN))
		}
		return nil
	}

	w, err := devstack.StartProcess("worker", o.workerBin, []string{
		"RIPTIDE_TEMPORAL_ADDRESS=" + addr,
		"RIPTIDE_TEMPORAL_TASK_QUEUE=riptide-bench",
		"RIPTIDE_S3_ENDPOINT=http://" + s3Addr,
		"RIPTIDE_S3_BUCKET=bench",
		"RIPTIDE_S3_ACCESS_KEY_ID=bench",
		"RIPTIDE_S3_SECRET_ACCESS_KEY=bench-secret",
		"RIPTIDE_S3_PATH_STYLE=true",
		"RIPTIDE_WORKER_WORK_DIR=" + filepath.Join(dir, "work"),
		// Its own data directory: not make dev's, whose dev.env it would load.
		"RIPTIDE_DATA_DIR=" + filepath.Join(dir, "data"),
		"RIPTIDE_WORKER_CONCURRENCY=" + strconv.Itoa(o.concurrency),
		"RIPTIDE_LOG_LEVEL=warn",
		// The feed, its media and S3 are on loopback, which the SSRF guard
		// refuses by default; make dev may hold the metrics port.
		"RIPTIDE_ALLOW_PRIVATE_NETWORKS=127.0.0.0/8",
		"RIPTIDE_WORKER_METRICS_ADDR=",
	}, logs)
	if err != nil {
		return err
	}
	defer w.Stop(30 * time.Second)

	batchID := "00000000-0000-4000-8000-" + fmt.Sprintf("%012d", time.Now().UnixNano()%1e12)
	cpu1 := sampleCPU(tp.Pid(), sp.Pid(), w.Pid())
	start := time.Now()
	if _, err := batches.Start(ctx, c, "riptide-bench", workflows.BatchInput{
		BatchID: batchID, ShowURL: feedURL, Folder: "bench", WindowSize: o.window, PageSize: o.page,
	}); err != nil {
		return err
	}
	var v *batches.View
	for {
		time.Sleep(2 * time.Second)
		if v, err = batches.Get(ctx, c, batchID); err != nil {
			return err
		}
		select {
		case <-w.Done():
			return fmt.Errorf("worker exited: %v", w.Err())
		default:
		}
		if v.Done() {
			break
		}
	}
	took := time.Since(start)
	if v.FailedEpisodes > 0 {
		printFailures(ctx, c, batchID, v.CompletedEpisodes)
	}
	batchCPU := sampleCPU(tp.Pid(), sp.Pid(), w.Pid()).sub(cpu1)
	rss := peakRSS(w.Pid())
	maxEvents, maxBytes, runs, err := parentRuns(ctx, c, workflows.BatchWorkflowID(batchID))
	if err != nil {
		return err
	}
	// The batch ran on a server whose database grew by N workflows; the
	// first baseline ran on an almost empty one. Measuring it again now
	// (worker stopped) brackets the server's state over the batch.
	w.Stop(30 * time.Second)
	afterDur, _, err := baseline(ctx, c, baseN, o.window)
	if err != nil {
		return fmt.Errorf("baseline after the batch: %w", err)
	}
	afterRate := float64(baseN) / afterDur.Minutes()
	fmt.Printf("baseline after the batch: %d bare child workflows in %s: %.0f/min\n",
		baseN, afterDur.Round(time.Millisecond), afterRate)
	meanRate := (baseRate + afterRate) / 2

	rate := float64(o.n) / took.Minutes()
	fmt.Printf("batch: status %s, %d completed, %d failed of %d\n", v.Status, v.CompletedEpisodes, v.FailedEpisodes, o.n)
	fmt.Printf("total time: %s\n", took.Round(time.Millisecond))
	fmt.Printf("episodes/min: %.0f (%.2fx the mean bare baseline %.0f/min; %.2fx the one before, %.2fx the one after)\n",
		rate, rate/meanRate, meanRate, rate/baseRate, rate/afterRate)
	if o.shaped {
		fmt.Printf("episodes/min against the shaped baseline: %.2fx\n", rate/shapedRate)
	}
	fmt.Printf("parent runs: %d; largest run: %d events, %d bytes of history\n", runs, maxEvents, maxBytes)
	fmt.Printf("peak worker RSS: %.1f MiB\n", float64(rss)/(1<<20))
	fmt.Printf("CPU per episode: %s\n", batchCPU.perItem(o.n))
	if err := printShapes(ctx, c, o.n, baseN, batchID, baseWID); err != nil {
		return err
	}
	if o.shaped {
		child, err := oneShape(ctx, c, fmt.Sprintf("WorkflowType = 'BenchShapedChild' AND ParentWorkflowId = %q", shapedWID))
		if err != nil {
			return fmt.Errorf("shaped child history: %w", err)
		}
		fmt.Printf("one shaped child: %s\n", child)
	}
	if v.Status != workflows.BatchCompleted {
		return fmt.Errorf("batch ended %s", v.Status)
	}
	return nil
}

// printShapes prints what one episode and the batch's runs per episode
// asked of the server, against one bare child and the bare parent per
// child: counts that repeat where seconds do not.
func printShapes(ctx context.Context, c client.Client, n, baseN int, batchID, baseWID string) error {
	ep, err := historyShape(ctx, c, workflows.JobWorkflowID(workflows.EpisodeJobID(batchID, 0)), "")
	if err != nil {
		return fmt.Errorf("episode history: %w", err)
	}
	parent, runs, err := allRunsShape(ctx, c, fmt.Sprintf("WorkflowId = %q", workflows.BatchWorkflowID(batchID)))
	if err != nil {
		return fmt.Errorf("batch history: %w", err)
	}
	child, err := oneShape(ctx, c, fmt.Sprintf("WorkflowType = 'BenchBareChild' AND ParentWorkflowId = %q", baseWID))
	if err != nil {
		return fmt.Errorf("bare child history: %w", err)
	}
	bare, err := historyShape(ctx, c, baseWID, "")
	if err != nil {
		return fmt.Errorf("bare parent history: %w", err)
	}
	fmt.Printf("one episode: %s\n", ep)
	fmt.Printf("one bare child: %s\n", child)
	fmt.Printf("batch (%d runs) per episode: %s\n", runs, parent.per(n))
	fmt.Printf("bare parent per child: %s\n", bare.per(baseN))
	return nil
}

// serveFeed serves an RSS feed of n episodes, all the same clip.
func serveFeed(n int, clip []byte) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	base := "http://" + l.Addr().String()
	var feed bytes.Buffer
	feed.WriteString(`<?xml version="1.0"?><rss version="2.0"><channel><title>Bench</title>`)
	for i := range n {
		fmt.Fprintf(&feed, `<item><title>Bench %d</title><enclosure url="%s/ep/%d.mp4" type="video/mp4"/></item>`, i, base, i)
	}
	feed.WriteString(`</channel></rss>`)
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 30 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/feed.rss":
			w.Header().Set("Content-Type", "application/rss+xml")
			_, _ = w.Write(feed.Bytes())
		case strings.HasPrefix(r.URL.Path, "/ep/"):
			w.Header().Set("Content-Type", "video/mp4")
			http.ServeContent(w, r, "clip.mp4", time.Time{}, bytes.NewReader(clip))
		default:
			http.NotFound(w, r)
		}
	})}
	go func() { _ = srv.Serve(l) }()
	return base + "/feed.rss", func() { _ = srv.Close() }, nil
}

// parentRuns returns the largest event count and history size of any run
// of the batch workflow, and how many runs it had.
func parentRuns(ctx context.Context, c client.Client, wid string) (int64, int64, int, error) {
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("WorkflowId = %q", wid), PageSize: 1000})
	if err != nil {
		return 0, 0, 0, err
	}
	var maxEvents, maxBytes int64
	for _, e := range resp.GetExecutions() {
		d, err := c.DescribeWorkflow(ctx, wid, e.GetExecution().GetRunId())
		if err != nil {
			return 0, 0, 0, err
		}
		info := d.RawResponse.GetWorkflowExecutionInfo()
		maxEvents = max(maxEvents, info.GetHistoryLength())
		maxBytes = max(maxBytes, info.GetHistorySizeBytes())
	}
	return maxEvents, maxBytes, len(resp.GetExecutions()), nil
}

// peakRSS is the process's peak resident set (VmHWM), in bytes.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// baseline runs n bare child workflows, window at a time, each running one
// no-op activity, under one parent on an in-process worker.
func baseline(ctx context.Context, c client.Client, n, window int) (time.Duration, string, error) {
	const queue = "riptide-bench-bare"
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(bareParent, workflow.RegisterOptions{Name: "BenchBareParent"})
	w.RegisterWorkflowWithOptions(bareChild, workflow.RegisterOptions{Name: "BenchBareChild"})
	w.RegisterActivity(noop)
	if err := w.Start(); err != nil {
		return 0, "", err
	}
	defer w.Stop()
	start := time.Now()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: queue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE}, bareParent, n, window)
	if err != nil {
		return 0, "", err
	}
	if err := run.Get(ctx, nil); err != nil {
		return 0, "", err
	}
	return time.Since(start), run.GetID(), nil
}

// bareParent runs n children through a sliding window; it needs no
// continue-as-new for the baseline's sizes (a few events per child).
func bareParent(ctx workflow.Context, n, window int) error {
	running := 0
	var firstErr error
	for i := range n {
		_ = workflow.Await(ctx, func() bool { return running < window })
		running++
		f := workflow.ExecuteChildWorkflow(ctx, bareChild)
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

func bareChild(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	return workflow.ExecuteActivity(ctx, noop).Get(ctx, nil)
}

func noop(context.Context) error { return nil }
