package formats

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTable(t *testing.T) {
	require.Equal(t, []string{"mp4", "mkv", "webm", "mov", "m4a", "mp3", "ogg", "opus"}, Names())
	for _, name := range Names() {
		f, ok := Lookup(name)
		require.True(t, ok, name)
		require.NotEmpty(t, f.Muxer, name)
		require.Equal(t, f.Audio, len(f.Encoder) > 0, name)
	}
	require.Equal(t, []string{"m4a", "mp3", "ogg", "opus"}, AudioNames())
	_, ok := Lookup("avi")
	require.False(t, ok)
	require.True(t, IsAudio(DefaultAudio))
	require.False(t, IsAudio("mkv"))
	require.False(t, IsAudio("flac"))
	m4a, _ := Lookup("m4a")
	require.True(t, m4a.CopiesCodec("alac"))
	require.False(t, m4a.CopiesCodec("opus"))
}
