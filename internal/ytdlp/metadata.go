package ytdlp

import (
	"context"
	"errors"
	"io"

	"github.com/riptide-dev/riptide/internal/failure"
	"github.com/riptide-dev/riptide/workflows"
)

// MaxMetadataBytes bounds the info JSON Metadata reads (a variable for
// tests): a long video's is a few hundred KiB to a few MiB (every format
// and fragment is listed).
var MaxMetadataBytes = 32 << 20

// Metadata returns url's info JSON without downloading anything: one
// item, never a playlist's entries (a playlist URL answers the playlist's
// own info, entries unresolved). Like Info it runs behind the guarded
// proxy in the sandbox; its output is capped at MaxMetadataBytes.
func (r Runner) Metadata(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	out := &cappedBuffer{max: MaxMetadataBytes, cancel: cancel}
	err := r.Run(ctx, out, noProgress,
		"--ignore-config", "--no-playlist", "--flat-playlist", "-J", "--skip-download", "--", url)
	if out.over {
		return nil, failure.Permanent(workflows.ErrTypeUnsupported,
			"the source's info is larger than the %d MiB riptide reads", MaxMetadataBytes>>20)
	}
	if err != nil {
		return nil, err
	}
	return out.buf, nil
}

// cappedBuffer keeps at most max bytes and stops the run (cancel) past
// them.
type cappedBuffer struct {
	buf    []byte
	max    int
	over   bool
	cancel context.CancelCauseFunc
}

var errTooLarge = errors.New("output too large")

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if len(b.buf)+len(p) > b.max {
		b.over = true
		b.cancel(errTooLarge)
		return 0, io.ErrShortWrite
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}
