package activities

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/riptide-dev/riptide/internal/failure"
)

// TestDownloadRefusesToFillTheDisk checks the free-space floor: a download
// whose file (and its muxed copy) would leave less than MinFreeBytes free is
// refused with a retryable error before a byte is written, while one that
// fits goes through.
func TestDownloadRefusesToFillTheDisk(t *testing.T) {
	data := randomBytes(64 << 10)
	const floor = 1 << 20
	cases := []struct {
		name     string
		free     int64
		wantErr  bool
		wantGETs int
	}{
		// Below the floor already: refused before asking the server.
		{name: "already below floor", free: floor - 1, wantErr: true, wantGETs: 0},
		// Above the floor, but the file and its muxed copy do not fit.
		{name: "file would cross floor", free: floor + int64(len(data)), wantErr: true, wantGETs: 1},
		{name: "file fits", free: floor + 2*int64(len(data)), wantErr: false, wantGETs: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newMediaServer(t, data, false)
			a := newHTTPActivities(t)
			a.MinFreeBytes = floor
			var askedFor string
			a.DiskFree = func(dir string) (int64, error) {
				askedFor = dir
				return tc.free, nil
			}
			env, _ := newDownloadEnv(t, a)
			res, err := download(t, env, a, srv.URL+"/clip.mp4")
			if got := len(srv.gotRanges()); got != tc.wantGETs {
				t.Errorf("server saw %d GETs, want %d", got, tc.wantGETs)
			}
			if askedFor != a.jobDir(testJob) {
				t.Errorf("free space checked on %q, want the job directory %q", askedFor, a.jobDir(testJob))
			}
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("download failed: %v", err)
				}
				assertFile(t, res.Files[0], data)
				return
			}
			assertAppError(t, err, ErrTypeInsufficientDisk, true)
			matches, _ := filepath.Glob(filepath.Join(a.jobDir(testJob), "source.*"))
			for _, m := range matches {
				if st, err := os.Stat(m); err == nil && st.Size() > 0 {
					t.Errorf("refused download still wrote %s (%d bytes)", m, st.Size())
				}
			}
		})
	}
}

func TestDiskFreeReportsTheWorkDir(t *testing.T) {
	free, err := diskFree(t.TempDir())
	if err != nil || free <= 0 {
		t.Fatalf("diskFree = %d, %v; want a positive size", free, err)
	}
	if _, err := diskFree(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("diskFree of a missing directory succeeded")
	}
}

// A write that found the disk full is the free-space refusal (the download
// then removes its partial file); other failures stay as they are.
func TestDiskFullIsTheFreeSpaceRefusal(t *testing.T) {
	full := failure.Technical(&os.PathError{Op: "write", Path: "source.mp4", Err: syscall.ENOSPC}, "downloading: no space")
	if err := diskFull(full); !isDiskShort(err) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("ENOSPC: %v, want %s wrapping it", err, ErrTypeInsufficientDisk)
	}
	other := failure.Technical(syscall.ECONNRESET, "downloading: reset")
	if err := diskFull(other); err != other {
		t.Fatalf("another failure became %v", err)
	}
	if diskFull(nil) != nil {
		t.Fatal("no error became one")
	}
}
