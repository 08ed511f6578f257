// Command riptide-bench measures riptide on this machine against baselines
// measured in the same run (`make bench`): the data path of one large file,
// the worker's peak memory, orchestration throughput of tiny jobs, and
// concurrent large jobs. It starts the same stack as the e2e tests, all on
// loopback, prints a Markdown table and writes it to bench/RESULTS.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/riptide-dev/riptide/internal/config"
)

type options struct {
	sizeMB, memoryMB, concMB int64
	jobs, submitters         int
	tinyConcurrency          int
	workerConcurrency        int
	concurrency              []int
	fragSeconds              int
	fragConcurrency          []int
	transcodeSeconds         int
	partSizeMB               int64
	s3Concurrency            int
	out                      string
	only                     map[string]bool
	// The dashboard section: jobs in the namespace, cold requests and
	// warm polling rounds (seconds) per endpoint.
	dashJobs, dashCold, dashWarm int
	// The DASH section: size of both streams (MiB) and the server's
	// added latency per request.
	dashSourceMB        int64
	dashSourceLatencyMS int
	// The segmem section: concurrent HLS jobs on one worker, and the
	// length of their stream (seconds of half-second fragments).
	segMemJobs, segMemSeconds int
}

func main() {
	var o options
	var conc, only string
	flag.Int64Var(&o.sizeMB, "size-mb", 1024, "size of the data-path file (MiB)")
	flag.Int64Var(&o.memoryMB, "memory-mb", 4096, "size of the file moved while measuring peak worker memory (MiB)")
	flag.Int64Var(&o.concMB, "conc-mb", 256, "size of each file in the concurrency runs (MiB)")
	flag.IntVar(&o.jobs, "jobs", 1000, "tiny jobs in the orchestration run")
	flag.IntVar(&o.submitters, "submitters", 64, "parallel API clients in the orchestration run")
	flag.IntVar(&o.tinyConcurrency, "tiny-worker-concurrency", 64, "RIPTIDE_WORKER_CONCURRENCY in the orchestration run")
	flag.IntVar(&o.workerConcurrency, "worker-concurrency", 4, "RIPTIDE_WORKER_CONCURRENCY in the concurrency runs")
	flag.StringVar(&conc, "concurrency", "1,4,16", "concurrent large jobs per run")
	flag.Int64Var(&o.partSizeMB, "part-size-mb", 16, "RIPTIDE_S3_PART_SIZE (MiB), for the worker and the raw baseline")
	flag.IntVar(&o.s3Concurrency, "s3-concurrency", 4, "RIPTIDE_S3_CONCURRENCY, for the worker and the raw baseline")
	flag.StringVar(&o.out, "out", "bench/RESULTS.md", "file receiving the results (empty: stdout only)")
	var frag string
	flag.IntVar(&o.fragSeconds, "frag-seconds", 120, "length of the HLS stream in the fragments run (half-second fragments)")
	flag.StringVar(&frag, "fragments", "1,4,8,16", "fragments fetched at once in the fragments run (RIPTIDE_FRAGMENT_CONCURRENCY, RIPTIDE_YTDLP_CONCURRENT_FRAGMENTS, yt-dlp's --concurrent-fragments, plain GETs in flight)")
	flag.Int64Var(&o.dashSourceMB, "dash-mb", 1024, "size of the video and audio streams of the dash run (a DASH source; -dash-jobs is the dashboard run's) (MiB)")
	flag.IntVar(&o.dashSourceLatencyMS, "dash-latency-ms", 0, "milliseconds the DASH server waits before answering each request")
	flag.IntVar(&o.segMemJobs, "segmem-jobs", 16, "concurrent HLS jobs (and worker concurrency) in the segmem run")
	flag.IntVar(&o.segMemSeconds, "segmem-seconds", 60, "length of the HLS stream of the segmem run (half-second fragments)")
	flag.IntVar(&o.transcodeSeconds, "transcode-seconds", 20, "length of the 1280x720 clip of the transcode run")
	flag.IntVar(&o.dashJobs, "dash-jobs", 10000, "jobs in the namespace in the dashboard run")
	flag.IntVar(&o.dashCold, "dash-cold", 100, "cold requests per dashboard endpoint (and calls per baseline)")
	flag.IntVar(&o.dashWarm, "dash-warm", 60, "seconds of once-a-second polling of the dashboard endpoints")
	flag.StringVar(&only, "only", "datapath,memory,orchestration,concurrency,fragments,dash,segmem,transcode,dashboard", "sections to run")
	flag.Parse()
	o.fragConcurrency = counts("fragments", frag)
	o.concurrency = counts("concurrency", conc)
	o.only = map[string]bool{}
	for _, s := range strings.Split(only, ",") {
		o.only[strings.TrimSpace(s)] = true
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "riptide-bench-")
	if err != nil {
		return err
	}
	// Every large file lives under dir: sources, work dirs, S3 objects.
	defer os.RemoveAll(dir)
	if err := checkDisk(dir, o); err != nil {
		return err
	}
	st, err := startStack(ctx, dir, config.S3{PartSize: o.partSizeMB << 20, Concurrency: o.s3Concurrency})
	if st != nil {
		defer st.Close()
	}
	if err != nil {
		return err
	}
	r := &report{opts: o, machine: describeMachine(dir)}
	steps := []struct {
		name string
		fn   func(context.Context, *stack, options, *report) error
	}{
		{"datapath", benchDataPath},
		{"memory", benchMemory},
		{"orchestration", benchOrchestration},
		{"concurrency", benchConcurrency},
		{"fragments", benchFragments},
		{"dash", benchDASH},
		{"segmem", benchSegMem},
		{"transcode", benchTranscode},
		// Last: its processing jobs stay running.
		{"dashboard", benchDashboard},
	}
	for _, s := range steps {
		if !o.only[s.name] {
			continue
		}
		logf("== %s", s.name)
		if err := s.fn(ctx, st, o, r); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	md := r.markdown()
	fmt.Print(md)
	if o.out != "" {
		return writeResults(o.out, md)
	}
	return nil
}

// checkDisk refuses to start when the largest section would not fit: its
// source, the worker's download and muxed copy, and the S3 object.
func checkDisk(dir string, o options) error {
	var sizes []int64
	for name, mb := range map[string]int64{"datapath": o.sizeMB, "memory": o.memoryMB,
		"concurrency": o.concMB * int64(max(1, maxInt(o.concurrency))), "dash": o.dashSourceMB} {
		if o.only[name] {
			sizes = append(sizes, mb)
		}
	}
	need := 4 * slices.Max(append(sizes, 0)) << 20
	free, err := freeBytes(dir)
	if err != nil {
		return err
	}
	if free < need+(2<<30) {
		return fmt.Errorf("%s has %d MiB free; this run needs about %d MiB (lower -memory-mb / -size-mb)", dir, free>>20, need>>20)
	}
	return nil
}

func freeBytes(dir string) (int64, error) {
	var s syscall.Statfs_t
	if err := syscall.Statfs(dir, &s); err != nil {
		return 0, err
	}
	return int64(s.Bavail) * int64(s.Bsize), nil
}

func maxInt(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// counts parses a flag's comma-separated positive numbers, exiting on
// anything else.
func counts(flagName, list string) []int {
	var ns []int
	for _, s := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "-%s: %q is not a positive number\n", flagName, s)
			os.Exit(2)
		}
		ns = append(ns, n)
	}
	return ns
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}
