package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/riptide-dev/riptide/workflows"
)

// submit starts a job through the HTTP API, as a client would.
func (st *stack) submit(ctx context.Context, mediaURL, folder string) (string, error) {
	return st.submitBody(ctx, map[string]any{"url": mediaURL, "folder": folder})
}

// wait blocks until the job's workflow ends and fails unless it completed.
func (st *stack) wait(ctx context.Context, jobID string) (*workflows.JobState, error) {
	var js workflows.JobState
	if err := st.temporal.GetWorkflow(ctx, workflows.JobWorkflowID(jobID), "").Get(ctx, &js); err != nil {
		return nil, fmt.Errorf("job %s: %w", jobID, err)
	}
	if js.Status != workflows.StatusCompleted {
		return nil, fmt.Errorf("job %s ended %s: %s", jobID, js.Status, js.Error)
	}
	return &js, nil
}

// runJob submits one job and waits for it.
func (st *stack) runJob(ctx context.Context, mediaURL, folder string) (string, *workflows.JobState, time.Duration, error) {
	start := time.Now()
	id, err := st.submit(ctx, mediaURL, folder)
	if err != nil {
		return "", nil, 0, err
	}
	js, err := st.wait(ctx, id)
	return id, js, time.Since(start), err
}

// stageTimes is where a job's time went, read from its workflow history:
// what the server recorded, not what the bench guessed.
type stageTimes struct {
	Total time.Duration // workflow started → closed
	// Run is each activity's execution time (started → completed), summed
	// over attempts; Wait is scheduled → started (task queue latency).
	Run  map[string]time.Duration
	Wait map[string]time.Duration
}

// Gaps is the time the workflow spent outside Download, Mux and Upload:
// session creation, clean-up, workflow tasks and queueing between stages.
func (s stageTimes) Gaps() time.Duration {
	return s.Total - s.Run["Download"] - s.Run["Mux"] - s.Run["Upload"]
}

func (st *stack) stageTimes(ctx context.Context, jobID string) (stageTimes, error) {
	s := stageTimes{Run: map[string]time.Duration{}, Wait: map[string]time.Duration{}}
	it := st.temporal.GetWorkflowHistory(ctx, workflows.JobWorkflowID(jobID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	scheduled := map[int64]*historypb.HistoryEvent{}
	started := map[int64]time.Time{}
	var first, last time.Time
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return s, err
		}
		t := ev.GetEventTime().AsTime()
		if first.IsZero() {
			first = t
		}
		last = t
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			scheduled[ev.GetEventId()] = ev
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			id := ev.GetActivityTaskStartedEventAttributes().GetScheduledEventId()
			started[id] = t
			if sch := scheduled[id]; sch != nil {
				name := sch.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
				s.Wait[name] += t.Sub(sch.GetEventTime().AsTime())
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
			id := ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()
			if id == 0 {
				id = ev.GetActivityTaskFailedEventAttributes().GetScheduledEventId()
			}
			if sch := scheduled[id]; sch != nil && !started[id].IsZero() {
				name := sch.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
				s.Run[name] += t.Sub(started[id])
			}
		}
	}
	s.Total = last.Sub(first)
	return s, nil
}

// rawTimes is the baseline: the same bytes moved without riptide.
type rawTimes struct {
	Download, Mux, Upload time.Duration
}

func (r rawTimes) Total() time.Duration { return r.Download + r.Upload }

// rawTransfer fetches mediaURL with a plain GET to disk and uploads it with
// the same SDK client and part settings the worker uses. withMux also times
// ffmpeg's stream copy of the file alone, to separate ffmpeg's cost from
// riptide's.
func (st *stack) rawTransfer(ctx context.Context, mediaURL, key string, withMux bool) (rawTimes, error) {
	var r rawTimes
	dir, err := os.MkdirTemp(st.dir, "raw-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "source.mp4")

	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, mediaURL, nil)
	if err != nil {
		return r, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return r, err
	}
	f, err := os.Create(path)
	if err != nil {
		res.Body.Close()
		return r, err
	}
	_, err = io.Copy(f, res.Body)
	res.Body.Close()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return r, err
	}
	r.Download = time.Since(start)

	if withMux {
		start = time.Now()
		if err := ffmpeg(ctx, "-i", path, "-map", "0", "-c", "copy", filepath.Join(dir, "output.mp4")); err != nil {
			return r, err
		}
		r.Mux = time.Since(start)
	}

	start = time.Now()
	if _, err := st.store.Upload(ctx, key, path, "video/mp4", nil); err != nil {
		return r, err
	}
	r.Upload = time.Since(start)
	return r, nil
}
