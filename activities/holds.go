package activities

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/riptide-dev/riptide/workflows"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// A job's download, mux and upload share files on one worker's disk. The
// download runs on whichever worker takes it from the shared transfer queue
// and returns the worker's own task queue (HostQueue), where the workflow
// sends the mux and the upload. A worker that dies takes its queue with it:
// nothing polls it again (a restarted worker gets a new one), so the next
// activity times out waiting to start and the workflow starts the chain
// again elsewhere.

// holdHeartbeat is how often a download waiting for room on this worker
// tells the server it is alive; well inside the heartbeat timeout.
const holdHeartbeat = 5 * time.Second

// Holds bounds the jobs whose files one worker holds at once, from the
// start of the download to the removal of the files after the upload (or a
// failure): what a worker session used to bound. A download waits for room
// here, heartbeating. It also tracks which jobs have an activity running,
// so SweepWorkDir never removes files in use.
type Holds struct {
	mu      sync.Mutex
	max     int
	held    map[string]bool
	running map[string]int
	// idleSince is when the last activity of a held job ended.
	idleSince map[string]time.Time
	freed     chan struct{} // closed and replaced when a hold ends
}

// NewHolds allows n jobs at once (at least one).
func NewHolds(n int) *Holds {
	return &Holds{max: max(n, 1), held: map[string]bool{}, running: map[string]int{},
		idleSince: map[string]time.Time{}, freed: make(chan struct{})}
}

// acquire holds room for jobID, waiting while the worker is full. Holding
// it already (a retry here) is not waiting again.
func (h *Holds) acquire(ctx context.Context, jobID string) error {
	if h == nil {
		return nil
	}
	t := time.NewTicker(holdHeartbeat)
	defer t.Stop()
	for {
		h.mu.Lock()
		if h.held[jobID] || len(h.held) < h.max {
			h.held[jobID] = true
			h.mu.Unlock()
			return nil
		}
		freed := h.freed
		h.mu.Unlock()
		select {
		case <-freed:
		case <-t.C:
			activity.RecordHeartbeat(ctx, workflows.Progress{})
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (h *Holds) release(jobID string) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held[jobID] {
		delete(h.held, jobID)
		delete(h.idleSince, jobID)
		close(h.freed)
		h.freed = make(chan struct{})
	}
}

// Held is how many jobs hold room now.
func (h *Holds) Held() int {
	if h == nil {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.held)
}

// use marks an activity of jobID running until done is called.
func (h *Holds) use(jobID string) (done func()) {
	if h == nil {
		return func() {}
	}
	h.mu.Lock()
	h.running[jobID]++
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		if h.running[jobID]--; h.running[jobID] <= 0 {
			delete(h.running, jobID)
			if h.held[jobID] {
				h.idleSince[jobID] = time.Now()
			}
		}
		h.mu.Unlock()
	}
}

// idle lists the held jobs no activity has used for longer than age.
func (h *Holds) idle(now time.Time, age time.Duration) []string {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for job := range h.held {
		if since, ok := h.idleSince[job]; ok && h.running[job] == 0 && now.Sub(since) > age {
			out = append(out, job)
		}
	}
	return out
}

// inUse tells whether an activity of jobID runs, or the job is held.
func (h *Holds) inUse(jobID string) bool {
	if h == nil {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.running[jobID] > 0 || h.held[jobID]
}

// TrashPrefix starts the name of a job directory being deleted in the
// background (discardJobDir); a worker that starts removes any it finds.
const TrashPrefix = ".removing-"

// discardJobDir ends a job's hold and deletes its files in the background.
// Freeing a gigabyte the kernel has already written back takes ext4 a few
// hundred milliseconds, which is no part of the job: the upload that ends
// it answers without waiting. The directory is renamed first, so the
// job's path is free at once (a chain started again here starts clean)
// and a worker that dies mid-way leaves a trash entry, not a job's files.
func (a *Activities) discardJobDir(jobID string) {
	trash := filepath.Join(a.WorkDir, TrashPrefix+jobKey(jobID)+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	if err := os.Rename(a.jobDir(jobID), trash); err != nil {
		_ = a.removeJobDir(jobID)
		return
	}
	a.Holds.release(jobKey(jobID))
	a.discards.Go(func() { _ = os.RemoveAll(trash) })
}

// WaitDiscards waits for a's background deletions (discardJobDir): a
// worker that stops lets them finish. A function, not a method: every
// exported method of Activities is registered as an activity.
func WaitDiscards(a *Activities) { a.discards.Wait() }

// removeJobDir deletes a job's files on this worker and ends its hold.
func (a *Activities) removeJobDir(jobID string) error {
	err := os.RemoveAll(a.jobDir(jobID))
	a.Holds.release(jobKey(jobID))
	return err
}

// requireFiles refuses work whose input files are gone from this worker.
func requireFiles(paths ...string) error {
	for _, p := range paths {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			return temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("the job's files are no longer on this worker: %s", filepath.Base(p)), workflows.ErrTypeFilesGone, nil)
		}
	}
	return nil
}

// isFinal tells whether a failed download will not be retried here: its
// partial files are of no use to anyone.
func isFinal(ctx context.Context, err error) bool {
	var appErr *temporal.ApplicationError
	return ctx.Err() != nil || (errors.As(err, &appErr) && appErr.NonRetryable())
}

// SweepWorkDir removes the files of jobs this worker holds but no activity
// has used for holdAge, and job directories no activity uses and nothing
// has written to for dirAge.
//
// A held job goes idle when its workflow stops sending it activities: the
// job was terminated, or the workflow took this worker for dead (its next
// activity waited too long to start) and started the chain elsewhere, or a
// download finished for a workflow that had already ended. A live job's
// next activity follows within seconds, so holdAge only needs to outlast a
// Temporal outage worth waiting for; past it, a late activity finds no
// files (FilesGone) and the chain starts again, costing a download, never a
// result. Unheld directories are partial downloads kept for a retry that
// went elsewhere.
func (a *Activities) SweepWorkDir(now time.Time, holdAge, dirAge time.Duration) (removed int, err error) {
	for _, job := range a.Holds.idle(now, holdAge) {
		if err := a.removeJobDir(job); err != nil {
			return removed, err
		}
		removed++
	}
	entries, err := os.ReadDir(a.WorkDir)
	if err != nil {
		return removed, err
	}
	for _, e := range entries {
		dir := filepath.Join(a.WorkDir, e.Name())
		if a.Holds.inUse(e.Name()) {
			continue
		}
		if newest, ok := NewestModTime(dir); ok && now.Sub(newest) > dirAge {
			if err := a.removeJobDir(e.Name()); err != nil {
				return removed, err
			}
			removed++
		}
	}
	return removed, nil
}

// RemoveUnusedDirs removes the job directories of names (a restarted
// worker's kept partial downloads) that no activity uses and nothing has
// written to for age. It returns the names still to watch: those in use
// or written to more recently.
func (a *Activities) RemoveUnusedDirs(names []string, now time.Time, age time.Duration) (left []string, err error) {
	for _, name := range names {
		newest, ok := NewestModTime(filepath.Join(a.WorkDir, name))
		switch {
		case !ok:
			// Gone: a download used it and finished, or failed for good.
		case a.Holds.inUse(name) || now.Sub(newest) <= age:
			left = append(left, name)
		default:
			if err := a.removeJobDir(name); err != nil {
				return append(left, name), err
			}
		}
	}
	return left, nil
}

// NewestModTime is the latest modification of dir and its entries.
func NewestModTime(dir string) (time.Time, bool) {
	info, err := os.Stat(dir)
	if err != nil || !info.IsDir() {
		return time.Time{}, false
	}
	newest := info.ModTime()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.ModTime().After(newest) {
			newest = fi.ModTime()
		}
	}
	return newest, true
}
