package activities

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/riptide-dev/riptide/internal/httpget"

	"go.temporal.io/sdk/temporal"
)

// ErrTypeInsufficientDisk: the work directory's disk is too full to take
// this download. Retried: other jobs finishing free space.
const ErrTypeInsufficientDisk = "InsufficientDisk"

// diskSize returns the size of the file system holding dir.
func diskSize(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Blocks) * int64(st.Bsize), nil
}

// jobByteCap is the most one job may download on this worker, 0 for no cap:
// MaxJobBytes when set (negative: none), else half of what the work
// directory's disk holds above MinFreeBytes. A job's download and its muxed
// copy both land on that disk, so a larger source could never finish here
// however empty the disk got: it fails for good, while one that fits the
// cap but not today's free space waits for room (ErrTypeInsufficientDisk).
func (a *Activities) workerByteCap() int64 {
	switch {
	case a.MaxJobBytes > 0:
		return a.MaxJobBytes
	case a.MaxJobBytes < 0:
		return 0
	}
	size := a.DiskSize
	if size == nil {
		size = diskSize
	}
	n, err := size(a.WorkDir)
	if err != nil {
		return 0 // the free-space checks still hold
	}
	return max((n-max(a.MinFreeBytes, 0))/2, 0)
}

// diskFree returns the bytes an unprivileged process may still write on the
// file system holding dir.
func diskFree(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// ensureDiskSpace refuses work that would leave less than MinFreeBytes free
// in the work directory once need more bytes are written. Refusing early
// beats a full disk, which fails every job on the host at once.
func (a *Activities) ensureDiskSpace(dir string, need int64) error {
	if a.MinFreeBytes <= 0 {
		return nil
	}
	free := a.DiskFree
	if free == nil {
		free = diskFree
	}
	avail, err := free(dir)
	if err != nil {
		return technical(err, "checking free disk space: %v", err)
	}
	if avail-need < a.MinFreeBytes {
		return temporal.NewApplicationError(
			fmt.Sprintf("not enough disk space on this worker: %d bytes free, the download needs %d and %d must stay free",
				avail, need, a.MinFreeBytes), ErrTypeInsufficientDisk)
	}
	return nil
}

// isDiskShort tells whether err is ensureDiskSpace's refusal.
func isDiskShort(err error) bool {
	appErr, ok := errors.AsType[*temporal.ApplicationError](err)
	return ok && appErr.Type() == ErrTypeInsufficientDisk
}

// diskFull turns a write that found the work directory's disk full (ENOSPC:
// something else filled it between two free-space checks) into the
// free-space refusal, so the download gives its space back at once and is
// retried like one the check stopped, rather than keep a partial file no
// resume could finish.
func diskFull(err error) error {
	if err == nil || isDiskShort(err) || !errors.Is(err, syscall.ENOSPC) {
		return err
	}
	return temporal.NewApplicationErrorWithCause(
		"not enough disk space on this worker: the work directory's disk is full", ErrTypeInsufficientDisk, err)
}

// watchInterval is how often watchDownload measures the job directory.
var watchInterval = 250 * time.Millisecond

// watchDownload bounds a download that another program writes (yt-dlp,
// whose --max-filesize only trusts a Content-Length): every watchInterval
// it measures dir, and cancels the returned context when the files pass
// the job's cap or their muxed copy would no longer fit on the disk. stop
// ends the watch and returns the error that canceled the context, if one
// did: the caller returns it instead of the program's.
func (a *Activities) watchDownload(ctx context.Context, dir string) (_ context.Context, stop func() error) {
	limit := a.jobByteCap(ctx)
	wctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(watchInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-wctx.Done():
				return
			case <-t.C:
			}
			n := dirBytes(dir)
			if limit > 0 && n > limit {
				cancel(httpget.TooLarge(limit))
				return
			}
			if err := a.ensureDiskSpace(dir, n); err != nil {
				cancel(err)
				return
			}
		}
	})
	return wctx, func() error {
		close(done)
		wg.Wait()
		err := context.Cause(wctx)
		cancel(nil)
		if err == nil || ctx.Err() != nil || errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
}

// dirBytes sums the sizes of the files in dir (not below it: yt-dlp writes
// the job's files side by side).
func dirBytes(dir string) int64 {
	entries, _ := os.ReadDir(dir)
	var n int64
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
	}
	return n
}

// checkKnownSizes refuses formats whose announced sizes (0: unknown) pass
// the job's cap before anything is downloaded.
func (a *Activities) checkKnownSizes(ctx context.Context, sizes []int64) error {
	limit := a.jobByteCap(ctx)
	var sum int64
	for _, s := range sizes {
		sum += s
	}
	if limit > 0 && sum > limit {
		return httpget.TooLarge(limit)
	}
	return nil
}
