package activities

import (
	"fmt"
	"syscall"

	"go.temporal.io/sdk/temporal"
)

// ErrTypeInsufficientDisk: the work directory's disk is too full to take
// this download. Retried: other jobs finishing free space.
const ErrTypeInsufficientDisk = "InsufficientDisk"

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
