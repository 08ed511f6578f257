package worker

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockFile is the file in a work directory whose exclusive lock (flock)
// the worker owning the directory holds for as long as it runs. The
// directory is emptied at start-up, so two workers sharing one would
// delete each other's downloads.
const LockFile = ".riptide-worker.lock"

// ErrWorkDirInUse is returned when another process holds a work
// directory's lock.
var ErrWorkDirInUse = errors.New("work directory in use")

// lockWorkDir creates dir if needed and takes its lock, writing this
// process's PID into the lock file. The lock goes with the process (the
// kernel releases it however the process ends), so a crashed worker never
// leaves a stale one. unlock releases it.
func lockWorkDir(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := "another process"
		if b, rerr := os.ReadFile(path); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil && pid > 0 {
				holder = "process " + strconv.Itoa(pid)
			}
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is owned by %s (its lock %s is held); every worker needs a work directory of its own: set RIPTIDE_WORKER_WORK_DIR",
				ErrWorkDirInUse, dir, holder, LockFile)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() { _ = f.Close() }, nil
}
