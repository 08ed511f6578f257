package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// benchDataPath moves one large file through a whole job, then the same
// bytes through a plain GET and upload.
func benchDataPath(ctx context.Context, st *stack, o options, r *report) error {
	src, err := generateMedia(ctx, st.mediaDir, "datapath.mp4", o.sizeMB<<20)
	if err != nil {
		return err
	}
	defer os.Remove(src)
	size := fileSize(src)
	url := st.mediaURL + "/" + filepath.Base(src)

	w, err := st.startWorker(ctx, "datapath", 2)
	if err != nil {
		return err
	}
	// Each measurement starts with no dirty pages left by the previous one
	// to flush: whichever ran second would pay for the first's writes.
	syscall.Sync()
	id, js, wall, err := st.runJob(ctx, url, "bench/datapath")
	if err != nil {
		w.Stop(10 * time.Second)
		return err
	}
	rss, _ := peakRSS(w.Pid())
	w.Stop(10 * time.Second)
	stages, err := st.stageTimes(ctx, id)
	if err != nil {
		return err
	}
	st.deleteObject(ctx, js.Key)

	syscall.Sync()
	raw, err := st.rawTransfer(ctx, url, "bench/raw/datapath.mp4", true)
	if err != nil {
		return err
	}
	st.deleteObject(ctx, "bench/raw/datapath.mp4")
	r.dataPath = &dataPathResult{size: size, wall: wall, stages: stages, raw: raw, peakRSS: rss}
	logf("riptide %s (workflow %s), raw %s", wall, stages.Total, raw.Total())
	return nil
}

// benchMemory moves a file of -memory-mb through a fresh worker process and
// reads its high-water RSS; the idle worker's is the baseline.
func benchMemory(ctx context.Context, st *stack, o options, r *report) error {
	src, err := generateMedia(ctx, st.mediaDir, "memory.mp4", o.memoryMB<<20)
	if err != nil {
		return err
	}
	defer os.Remove(src)
	w, err := st.startWorker(ctx, "memory", 2)
	if err != nil {
		return err
	}
	defer w.Stop(10 * time.Second)
	idle, err := peakRSS(w.Pid())
	if err != nil {
		return err
	}
	_, js, wall, err := st.runJob(ctx, st.mediaURL+"/"+filepath.Base(src), "bench/memory")
	if err != nil {
		return err
	}
	peak, err := peakRSS(w.Pid())
	if err != nil {
		return err
	}
	st.deleteObject(ctx, js.Key)
	r.memory = &memoryResult{size: fileSize(src), idle: idle, peak: peak, wall: wall}
	logf("idle %d MiB, peak %d MiB", idle>>20, peak>>20)
	return nil
}

// benchOrchestration pushes many tiny jobs through the API, then as many
// bare four-activity workflows straight to Temporal.
func benchOrchestration(ctx context.Context, st *stack, o options, r *report) error {
	src, err := generateTiny(ctx, st.mediaDir)
	if err != nil {
		return err
	}
	w, err := st.startWorker(ctx, "tiny", o.tinyConcurrency)
	if err != nil {
		return err
	}
	before := st.cpu(w)
	tiny, failed, err := st.runTiny(ctx, st.mediaURL+"/"+filepath.Base(src), o.jobs, o.submitters)
	tinyCPU := st.cpu(w).sub(before).perItem(o.jobs)
	w.Stop(10 * time.Second)
	if err != nil {
		return err
	}
	before = st.cpu(nil)
	bare, err := st.runBare(ctx, o.jobs, o.submitters)
	if err != nil {
		return err
	}
	bareCPU := st.cpu(nil).sub(before).perItem(o.jobs)
	r.orchestration = &orchestrationResult{jobs: o.jobs, failed: failed, tiny: tiny, bare: bare, tinyCPU: tinyCPU, bareCPU: bareCPU}
	logf("tiny %s, bare %s", tiny, bare)
	return nil
}

// benchConcurrency runs N large jobs at once for each N, against N plain
// GET-and-upload transfers at once.
func benchConcurrency(ctx context.Context, st *stack, o options, r *report) error {
	src, err := generateMedia(ctx, st.mediaDir, "conc.mp4", o.concMB<<20)
	if err != nil {
		return err
	}
	defer os.Remove(src)
	size := fileSize(src)
	url := st.mediaURL + "/" + filepath.Base(src)
	w, err := st.startWorker(ctx, "conc", o.workerConcurrency)
	if err != nil {
		return err
	}
	defer w.Stop(10 * time.Second)
	for _, n := range o.concurrency {
		var mu sync.Mutex
		var keys []string
		syscall.Sync()
		start := time.Now()
		err := forEach(n, n, func(int) error {
			_, js, _, err := st.runJob(ctx, url, "bench/conc")
			if err == nil {
				mu.Lock()
				keys = append(keys, js.Key)
				mu.Unlock()
			}
			return err
		})
		elapsed := time.Since(start)
		for _, k := range keys {
			st.deleteObject(ctx, k)
		}
		if err != nil {
			return err
		}
		syscall.Sync()
		start = time.Now()
		err = forEach(n, n, func(i int) error {
			key := fmt.Sprintf("bench/raw/conc-%d.mp4", i)
			defer st.deleteObject(ctx, key)
			_, err := st.rawTransfer(ctx, url, key, false)
			return err
		})
		rawElapsed := time.Since(start)
		if err != nil {
			return err
		}
		r.concurrency = append(r.concurrency, concurrencyResult{n: n, size: size, wall: elapsed, raw: rawElapsed})
		logf("%d jobs: %s, raw %s", n, elapsed, rawElapsed)
	}
	r.concPeakRSS, _ = peakRSS(w.Pid())
	return nil
}

func (st *stack) deleteObject(ctx context.Context, key string) {
	_, _ = st.store.Client().DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(st.cfg.S3.Bucket), Key: aws.String(key)})
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
