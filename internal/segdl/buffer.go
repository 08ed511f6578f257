package segdl

import (
	"io"
	"os"
	"sync"
)

// chunkSize is the unit of the part buffers.
const chunkSize = 256 << 10

// MemoryBudget is how many bytes of fetched-but-unwritten parts one worker
// keeps in memory, across all its downloads; a part arriving beyond it
// spills to a temporary file beside the stream's. A var so tests can
// shrink it.
var MemoryBudget int64 = 32 << 20

var (
	budgetMu  sync.Mutex
	budgetUse int64
	chunks    = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}
)

func takeBudget() bool {
	budgetMu.Lock()
	defer budgetMu.Unlock()
	if budgetUse+chunkSize > MemoryBudget {
		return false
	}
	budgetUse += chunkSize
	return true
}

func giveBudget(n int) {
	budgetMu.Lock()
	budgetUse -= int64(n) * chunkSize
	budgetMu.Unlock()
}

// budgetInUse is the memory budget taken (for tests).
func budgetInUse() int64 {
	budgetMu.Lock()
	defer budgetMu.Unlock()
	return budgetUse
}

// buffer holds one part: chunks in memory, then a spill file.
type buffer struct {
	chunks    []*[]byte
	last      int // bytes used in the last chunk
	spillPath string
	spill     *os.File
	size      int64
}

func newBuffer(spillPath string) *buffer { return &buffer{spillPath: spillPath, last: chunkSize} }

func (b *buffer) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if b.spill != nil {
			m, err := b.spill.Write(p)
			b.size += int64(m)
			if err != nil {
				return n - len(p) + m, err
			}
			return n, nil
		}
		if b.last == chunkSize {
			if !takeBudget() {
				f, err := os.OpenFile(b.spillPath, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
				if err != nil {
					return n - len(p), err
				}
				b.spill = f
				continue
			}
			b.chunks = append(b.chunks, chunks.Get().(*[]byte))
			b.last = 0
		}
		c := *b.chunks[len(b.chunks)-1]
		m := copy(c[b.last:], p)
		b.last += m
		b.size += int64(m)
		p = p[m:]
	}
	return n, nil
}

// writeTo appends the part to w.
func (b *buffer) writeTo(w io.Writer) error {
	for i, c := range b.chunks {
		data := *c
		if i == len(b.chunks)-1 {
			data = data[:b.last]
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
	}
	if b.spill != nil {
		if _, err := b.spill.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if _, err := io.Copy(w, b.spill); err != nil {
			return err
		}
	}
	return nil
}

// release gives the memory back and removes the spill file.
func (b *buffer) release() {
	if b == nil {
		return
	}
	for _, c := range b.chunks {
		chunks.Put(c)
	}
	giveBudget(len(b.chunks))
	b.chunks = nil
	if b.spill != nil {
		b.spill.Close()
		_ = os.Remove(b.spillPath)
		b.spill = nil
	}
}
