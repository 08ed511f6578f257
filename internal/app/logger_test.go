package app

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/config"
)

func TestLogsHoldNoURLCredentials(t *testing.T) {
	var b bytes.Buffer
	l := NewLogger(config.Log{Format: "json"}, &b)
	l.Info("fetching https://user:pw@media.example/a.mp4?X-Amz-Signature=sig1 failed",
		"url", "http://hooks.example/hook?token=tok2#frag",
		"error", errors.New(`Get "https://cdn.example/v.m3u8?auth=tok3": EOF`),
		"plain", "http://127.0.0.1:8080/jobs", "n", 3)
	out := b.String()
	for _, secret := range []string{"pw@", "sig1", "tok2", "tok3", "frag"} {
		require.NotContains(t, out, secret)
	}
	for _, kept := range []string{"https://media.example/a.mp4?REDACTED", "http://hooks.example/hook?REDACTED",
		"https://cdn.example/v.m3u8?REDACTED", `"plain":"http://127.0.0.1:8080/jobs"`, `"n":3`} {
		require.Contains(t, out, kept)
	}
	require.Equal(t, "no url here", RedactURLs("no url here"))
}

func TestRedactingWriter(t *testing.T) {
	var b bytes.Buffer
	w := RedactingWriter(&b)
	n, err := w.Write([]byte("[download] https://cdn.example/a.m3u8?token=t0p\nplain line\n"))
	require.NoError(t, err)
	require.Equal(t, 59, n, "the bytes given, not the bytes written")
	require.Equal(t, "[download] https://cdn.example/a.m3u8?REDACTED\nplain line\n", b.String())
}
