// Package textcut bounds text riptide keeps or reports: the tail of a
// program's diagnostic output, its last line, the start of a long string.
package textcut

import (
	"io"
	"strings"
)

// Tail keeps the last 64 KiB written to it: enough to explain a failure
// without holding a chatty program's whole output.
type Tail struct{ b []byte }

const tailSize = 64 << 10

func (t *Tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > tailSize {
		t.b = append(t.b[:0], t.b[len(t.b)-tailSize:]...)
	}
	return len(p), nil
}

func (t *Tail) String() string { return string(t.b) }

var _ io.Writer = (*Tail)(nil)

// LastLine is the last line of a program's output, for an error message.
func LastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	if s == "" {
		return "no diagnostic output"
	}
	return s
}

// Truncate cuts s to at most n bytes, on a rune boundary.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}
