package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

type dataPathResult struct {
	size    int64
	wall    time.Duration
	stages  stageTimes
	raw     rawTimes
	peakRSS int64
}

type memoryResult struct {
	size, idle, peak int64
	wall             time.Duration
}

type orchestrationResult struct {
	jobs, failed     int
	tiny, bare       time.Duration
	tinyCPU, bareCPU cpuUse // per job / per bare workflow
}

type concurrencyResult struct {
	n         int
	size      int64
	wall, raw time.Duration
}

type report struct {
	opts          options
	machine       string
	dataPath      *dataPathResult
	memory        *memoryResult
	orchestration *orchestrationResult
	concurrency   []concurrencyResult
	concPeakRSS   int64
	fragments     *fragmentResult
	dash          *dashSourceResult
	segMem        *segMemResult
	transcode     *transcodeResult
	dashboard     *dashResult
}

// tuningMarker starts the hand-written part of RESULTS.md, which a new run
// keeps.
const tuningMarker = "## Tuning log"

func (r *report) markdown() string {
	var b strings.Builder
	o := r.opts
	fmt.Fprintf(&b, "# Benchmark results\n\nLatest `make bench` run, %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "**Machine:** %s\n\n", r.machine)
	fmt.Fprintf(&b, "**Settings:** S3 part size %d MiB, S3 upload concurrency %d; everything on 127.0.0.1 "+
		"(Temporal dev server on SQLite, versitygw on the same disk, media from Go's http.FileServer).\n\n",
		o.partSizeMB, o.s3Concurrency)
	b.WriteString("| figure | riptide | baseline (same run) | ratio | goal |\n|---|---|---|---|---|\n")
	if d := r.dataPath; d != nil {
		mb := float64(d.size) / (1 << 20)
		raw := d.raw.Total()
		fmt.Fprintf(&b, "| data path, %.0f MiB: POST → completed | %s (%s) | %s (%s): GET to disk + upload | **%.2f** | ≥ 0.9 |\n",
			mb, secs(d.wall), rate(d.size, d.wall), secs(raw), rate(d.size, raw), ratio(raw, d.wall))
		fmt.Fprintf(&b, "| · download | %s | %s: plain GET | %.2f | |\n", secs(d.stages.Run["Download"]), secs(d.raw.Download), ratio(d.raw.Download, d.stages.Run["Download"]))
		switch mux, ran := d.stages.Run["Mux"]; {
		case !ran:
			// The job skipped the mux: the download already was the file.
			fmt.Fprintf(&b, "| · mux | skipped: the download is the file | %s: `ffmpeg -c copy` alone | – | |\n", secs(d.raw.Mux))
		case mux < d.raw.Mux/10:
			// The mux kept the download: there is no rewrite to compare.
			fmt.Fprintf(&b, "| · mux | %s: file kept, not rewritten | %s: `ffmpeg -c copy` alone | – | |\n", secs(mux), secs(d.raw.Mux))
		default:
			fmt.Fprintf(&b, "| · mux | %s | %s: `ffmpeg -c copy` alone | %.2f | |\n", secs(mux), secs(d.raw.Mux), ratio(d.raw.Mux, mux))
		}
		fmt.Fprintf(&b, "| · upload | %s | %s: same SDK and part settings | %.2f | |\n", secs(d.stages.Run["Upload"]), secs(d.raw.Upload), ratio(d.raw.Upload, d.stages.Run["Upload"]))
		fmt.Fprintf(&b, "| · orchestration gaps (history: workflow %s minus the three stages) | %s | 0 | | |\n", secs(d.stages.Total), secs(d.stages.Gaps()))
		withMux := d.raw.Total() + d.raw.Mux
		fmt.Fprintf(&b, "| data path vs GET + `ffmpeg -c copy` + upload | %s | %s | %.2f | |\n", secs(d.wall), secs(withMux), ratio(withMux, d.wall))
	}
	if m := r.memory; m != nil {
		fmt.Fprintf(&b, "| peak worker RSS (VmHWM), %.1f GiB job | %d MiB | %d MiB: same worker idle | | < 200 MiB |\n",
			float64(m.size)/(1<<30), m.peak>>20, m.idle>>20)
		if d := r.dataPath; d != nil && d.peakRSS > 0 {
			fmt.Fprintf(&b, "| peak RSS flat in file size: %.1f GiB vs %.1f GiB job | %d MiB | %d MiB | %.2f | ≈ 1 |\n",
				float64(m.size)/(1<<30), float64(d.size)/(1<<30), m.peak>>20, d.peakRSS>>20, float64(m.peak)/float64(d.peakRSS))
		}
	}
	if t := r.orchestration; t != nil {
		fmt.Fprintf(&b, "| orchestration: %d tiny jobs via the API, worker concurrency %d | %.0f jobs/min | %.0f workflows/min: bare workflow, 4 no-op activities | **%.2f** | ≥ 0.6 |\n",
			t.jobs, o.tinyConcurrency, perMin(t.jobs, t.tiny), perMin(t.jobs, t.bare), ratio(t.bare, t.tiny))
		if t.failed > 0 {
			fmt.Fprintf(&b, "| · tiny jobs that did not complete | %d of %d | 0 | | 0 |\n", t.failed, t.jobs)
		}
		tc, bc := t.tinyCPU, t.bareCPU
		fmt.Fprintf(&b, "| · CPU per job, all processes | %s | %s | %.2f | |\n", ms(tc.total()), ms(bc.total()), ratio(bc.total(), tc.total()))
		fmt.Fprintf(&b, "| · · Temporal server | %s | %s | | |\n", ms(tc.Temporal), ms(bc.Temporal))
		fmt.Fprintf(&b, "| · · worker process | %s | (in bench process) | | |\n", ms(tc.Worker))
		fmt.Fprintf(&b, "| · · ffmpeg / ffprobe | %s | 0 | | |\n", ms(tc.Tools))
		fmt.Fprintf(&b, "| · · S3 server | %s | 0 | | |\n", ms(tc.S3))
		fmt.Fprintf(&b, "| · · bench process (API, clients; baseline: its worker) | %s | %s | | |\n", ms(tc.Bench), ms(bc.Bench))
	}
	for _, c := range r.concurrency {
		total := c.size * int64(c.n)
		fmt.Fprintf(&b, "| %d concurrent %.0f MiB jobs, worker concurrency %d | %.1f jobs/min, %s | %.1f/min, %s: %d parallel GET + upload | %.2f | |\n",
			c.n, float64(c.size)/(1<<20), o.workerConcurrency, perMin(c.n, c.wall), rate(total, c.wall),
			perMin(c.n, c.raw), rate(total, c.raw), c.n, ratio(c.raw, c.wall))
	}
	if r.concPeakRSS > 0 {
		fmt.Fprintf(&b, "| peak worker RSS over the concurrency runs | %d MiB | | | < 200 MiB |\n", r.concPeakRSS>>20)
	}
	if r.fragments != nil {
		r.fragments.markdown(&b)
	}
	if r.dash != nil {
		r.dash.markdown(&b)
	}
	if r.segMem != nil {
		r.segMem.markdown(&b)
	}
	if r.transcode != nil {
		r.transcode.markdown(&b)
	}
	b.WriteString("\nRatios are baseline time / riptide time (1.00 = as fast as the baseline). Stage times are " +
		"activity execution times from the workflow history; ffmpeg and S3 server memory are not in the worker's RSS.\n")
	if r.dashboard != nil {
		r.dashboard.markdown(&b)
	}
	return b.String()
}

// writeResults replaces the generated part of path and keeps its tuning log.
func writeResults(path, md string) error {
	keep := ""
	if old, err := os.ReadFile(path); err == nil {
		if i := strings.Index(string(old), tuningMarker); i >= 0 {
			keep = "\n" + string(old[i:])
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(md+keep), 0o644)
}

func describeMachine(dir string) string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	mem := int64(0)
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				fmt.Sscanf(strings.TrimSpace(v), "%d", &mem)
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	free, _ := freeBytes(dir)
	return fmt.Sprintf("%d cores (%s), %.1f GiB memory, Linux %s, %s, %.0f GiB free on the bench disk",
		runtime.NumCPU(), model, float64(mem)/(1<<20), strings.TrimSpace(string(kernel)), runtime.Version(), float64(free)/(1<<30))
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

func rate(bytes int64, d time.Duration) string {
	if d <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f MiB/s", float64(bytes)/(1<<20)/d.Seconds())
}

func ratio(baseline, measured time.Duration) float64 {
	if measured <= 0 {
		return 0
	}
	return baseline.Seconds() / measured.Seconds()
}

func perMin(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Minutes()
}
