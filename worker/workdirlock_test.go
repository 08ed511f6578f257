package worker

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestWorkDirLock: a second owner of a work directory is refused, with the
// directory and the holder's PID in the error, and emptying the directory
// keeps the lock file; once released the directory can be taken again.
func TestWorkDirLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "work")
	unlock, err := lockWorkDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "leftover"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := resetDir(dir); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != LockFile {
		t.Fatalf("after resetDir: %v, want only %s", entries, LockFile)
	}
	// flock conflicts between open files, so a second open in this
	// process stands for a second worker.
	_, err = lockWorkDir(dir)
	if !errors.Is(err, ErrWorkDirInUse) {
		t.Fatalf("second lock: %v, want ErrWorkDirInUse", err)
	}
	for _, want := range []string{dir, "process " + strconv.Itoa(os.Getpid()), "RIPTIDE_WORKER_WORK_DIR"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	unlock()
	again, err := lockWorkDir(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	again()
}
