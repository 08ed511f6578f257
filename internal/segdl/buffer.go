package segdl

import (
	"context"
	"io"
	"sync"
)

// chunkSize is the unit of the part buffers.
const chunkSize = 64 << 10

// MemoryBudget is how many bytes of fetched-but-unwritten parts one worker
// keeps in memory, across all its downloads. A part ahead of its turn that
// finds the budget spent stops reading (its connection's window fills and
// the server waits: the bytes wait in the kernel's socket buffers, not in
// the worker's heap) until room frees or its turn comes; the part whose
// turn it is never needs the budget: it writes straight to the file. A
// var so tests can shrink it.
var MemoryBudget int64 = 8 << 20

var (
	budgetMu   sync.Mutex
	budgetCond = sync.NewCond(&budgetMu)
	budgetUse  int64
	freeChunks [][]byte // allocated once, reused: no garbage per part
)

// takeChunk waits for a chunk of the budget, or for stop() (the part's
// turn came), or for ctx's end; nil when it did not get one.
func takeChunk(ctx context.Context, stop func() bool) ([]byte, error) {
	unwatch := context.AfterFunc(ctx, wakeBudget)
	defer unwatch()
	budgetMu.Lock()
	defer budgetMu.Unlock()
	for budgetUse+chunkSize > MemoryBudget {
		if stop() {
			return nil, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		budgetCond.Wait()
	}
	budgetUse += chunkSize
	if n := len(freeChunks); n > 0 {
		c := freeChunks[n-1]
		freeChunks = freeChunks[:n-1]
		return c, nil
	}
	return make([]byte, chunkSize), nil
}

func giveChunks(cs [][]byte) {
	if len(cs) == 0 {
		return
	}
	budgetMu.Lock()
	budgetUse -= int64(len(cs)) * chunkSize
	freeChunks = append(freeChunks, cs...)
	budgetMu.Unlock()
	budgetCond.Broadcast()
}

// wakeBudget wakes the parts waiting for the budget, so they look again
// at whether their turn came.
func wakeBudget() {
	// Under the lock: a waiter between its check and its Wait must not
	// miss the broadcast.
	budgetMu.Lock()
	budgetCond.Broadcast()
	budgetMu.Unlock()
}

// budgetInUse is the memory budget taken (for tests).
func budgetInUse() int64 {
	budgetMu.Lock()
	defer budgetMu.Unlock()
	return budgetUse
}

// buffer holds one part in chunks of the budget.
type buffer struct {
	chunks [][]byte
	last   int // bytes used in the last chunk
	size   int64
}

// writeTo appends the part to w.
func (b *buffer) writeTo(w io.Writer) error {
	for i, c := range b.chunks {
		if i == len(b.chunks)-1 {
			c = c[:b.last]
		}
		if _, err := w.Write(c); err != nil {
			return err
		}
	}
	return nil
}

// release gives the memory back.
func (b *buffer) release() {
	if b == nil {
		return
	}
	giveChunks(b.chunks)
	b.chunks, b.last, b.size = nil, 0, 0
}

// copyBuffers are get's read buffers.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
