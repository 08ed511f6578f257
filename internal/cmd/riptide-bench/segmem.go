package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

type segMemResult struct {
	jobs, fragments int
	bytes           int64
	idle, peak      int64
	wall            time.Duration
	strategies      []string // the download_strategy values the jobs' views named
}

// benchSegMem runs -segmem-jobs segmented (HLS) downloads at once on one
// worker with RIPTIDE_WORKER_CONCURRENCY of as many, and reads the worker's
// high-water RSS against the same worker's idle one. Fragment concurrency
// is the worker's default.
func benchSegMem(ctx context.Context, st *stack, o options, r *report) error {
	h, err := startHLS(ctx, st, o.segMemSeconds)
	if err != nil {
		return err
	}
	defer h.Close()
	n := o.segMemJobs
	w, err := st.startWorker(ctx, "segmem", n)
	if err != nil {
		return err
	}
	defer w.Stop(10 * time.Second)
	res := &segMemResult{jobs: n, fragments: len(h.segs), bytes: h.bytes}
	if res.idle, err = peakRSS(w.Pid()); err != nil {
		return err
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	start := time.Now()
	err = forEach(n, n, func(int) error {
		id, js, _, err := st.runJob(ctx, h.playlist, "bench/segmem")
		if err != nil {
			return err
		}
		s, _ := st.downloadStrategy(ctx, id)
		st.deleteObject(ctx, js.Key)
		mu.Lock()
		seen[s] = true
		mu.Unlock()
		return nil
	})
	res.wall = time.Since(start)
	if err != nil {
		return err
	}
	if res.peak, err = peakRSS(w.Pid()); err != nil {
		return err
	}
	for s := range seen {
		res.strategies = append(res.strategies, s)
	}
	slices.Sort(res.strategies)
	r.segMem = res
	logf("segmem: %d HLS jobs in %s, peak %d MiB, idle %d MiB (%v)", n, res.wall, res.peak>>20, res.idle>>20, res.strategies)
	return nil
}

func (m *segMemResult) markdown(b *strings.Builder) {
	var labels []string
	for _, s := range m.strategies {
		labels = append(labels, riptideLabel(s, ""))
	}
	fmt.Fprintf(b, "| peak worker RSS (VmHWM), %d concurrent HLS jobs (%d fragments, %.0f MiB each, %d ms per request), worker concurrency %d: %s | %d MiB (all done in %s) | %d MiB: same worker idle | | < 100 MiB |\n",
		m.jobs, m.fragments, float64(m.bytes)/(1<<20), fragmentLatency.Milliseconds(), m.jobs, strings.Join(labels, ", "),
		m.peak>>20, secs(m.wall), m.idle>>20)
}
