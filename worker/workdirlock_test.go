package worker

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riptide-dev/riptide/activities"
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
	// An old job directory goes, a recent one (a download the previous
	// process was writing) stays for its retry.
	// A recent directory an upload was deleting when the process died
	// goes too.
	for _, job := range []string{"old-job", "recent-job", activities.TrashPrefix + "done-job-1"} {
		if err := os.MkdirAll(filepath.Join(dir, job), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, job, "src.0.ts"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour)
	for _, p := range []string{filepath.Join(dir, "old-job", "src.0.ts"), filepath.Join(dir, "old-job")} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	kept, err := resetDir(dir, time.Now(), keepAge)
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != 1 || kept[0] != "recent-job" {
		t.Fatalf("kept %v, want [recent-job]", kept)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 2 || !slices.Contains(names, LockFile) || !slices.Contains(names, "recent-job") {
		t.Fatalf("after resetDir: %v, want only %s and recent-job", names, LockFile)
	}
	// The sweep removes a kept directory no retry took.
	acts := &activities.Activities{WorkDir: dir}
	left, err := acts.RemoveUnusedDirs(kept, time.Now().Add(keepAge+time.Minute), keepAge)
	if err != nil || len(left) != 0 {
		t.Fatalf("RemoveUnusedDirs: %v, %v", left, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "recent-job")); !os.IsNotExist(err) {
		t.Fatalf("recent-job not removed: %v", err)
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
