package textcut

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTruncateCutsOnARuneBoundary(t *testing.T) {
	require.Equal(t, "short", Truncate("short", 10))
	require.Equal(t, "ab", Truncate("abc", 2))
	require.Equal(t, "a", Truncate("aé", 2), "é is two bytes: not cut in half")
	require.Equal(t, "", Truncate("é", 1))
}

func TestTailKeepsTheEnd(t *testing.T) {
	var tail Tail
	_, _ = tail.Write([]byte(strings.Repeat("x", tailSize)))
	_, _ = tail.Write([]byte("\nlast line\n"))
	require.Len(t, tail.String(), tailSize)
	require.True(t, strings.HasSuffix(tail.String(), "\nlast line\n"))
	require.Equal(t, "last line", LastLine(tail.String()))
	require.Equal(t, "no diagnostic output", LastLine(" \n"))
}
