package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riptide-dev/riptide/internal/codec"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// bareTaskQueue is the baseline's own queue on the same dev server.
const bareTaskQueue = "bench-bare"

// Bare is the orchestration baseline: a workflow with four no-op activities,
// as many as a riptide job runs (download, mux, upload, cleanup).
func Bare(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	for range 4 {
		if err := workflow.ExecuteActivity(ctx, Noop).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// Noop does nothing.
func Noop(context.Context) error { return nil }

// runBare runs n Bare workflows with up to parallel started at once and
// returns how long they took to complete.
func (st *stack) runBare(ctx context.Context, n, parallel int) (time.Duration, error) {
	w := worker.New(codec.Unwrap(st.temporal), bareTaskQueue, worker.Options{})
	w.RegisterWorkflow(Bare)
	w.RegisterActivity(Noop)
	if err := w.Start(); err != nil {
		return 0, err
	}
	defer w.Stop()
	start := time.Now()
	err := forEach(n, parallel, func(i int) error {
		run, err := st.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: fmt.Sprintf("bare-%d-%d", start.UnixNano(), i), TaskQueue: bareTaskQueue,
		}, Bare)
		if err != nil {
			return err
		}
		return run.Get(ctx, nil)
	})
	return time.Since(start), err
}

// runTiny submits n tiny jobs through the HTTP API with up to parallel
// clients and returns how long until all ended and how many did not
// complete (reported, not fatal: an overloaded worker is a result too).
func (st *stack) runTiny(ctx context.Context, mediaURL string, n, parallel int) (time.Duration, int, error) {
	start := time.Now()
	var failed atomic.Int64
	err := forEach(n, parallel, func(int) error {
		id, err := st.submit(ctx, mediaURL, "bench/tiny")
		if err != nil {
			return err
		}
		if _, err := st.wait(ctx, id); err != nil {
			if failed.Add(1) == 1 {
				logf("first failed tiny job: %v", err)
			}
		}
		return nil
	})
	return time.Since(start), int(failed.Load()), err
}

// forEach runs fn(0..n-1) on up to parallel goroutines and returns the
// first error.
func forEach(n, parallel int, fn func(i int) error) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	next := make(chan int)
	for range min(parallel, n) {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return firstErr
}
