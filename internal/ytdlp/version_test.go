package ytdlp

import (
	"bytes"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/childproc"
)

// fakeVersionYtdlp is a yt-dlp that prints version.
func fakeVersionYtdlp(t *testing.T, version string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "yt-dlp")
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\necho "+version+"\n"), 0o755))
	return p
}

func TestStartupCheck(t *testing.T) {
	defer childproc.SetMode(childproc.ModeAuto, nil)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	err := StartupCheck(t.Context(), fakeVersionYtdlp(t, "2021.12.27"), childproc.ModeAuto, 0, logger)
	require.ErrorContains(t, err, "yt-dlp 2021.12.27 is older than 2023.03.04")

	err = StartupCheck(t.Context(), fakeVersionYtdlp(t, "2023.03.04"), childproc.ModeOff, 0, logger)
	require.NoError(t, err)
	require.Contains(t, logs.String(), "SECURITY: yt-dlp 2023.03.04")
	require.Contains(t, logs.String(), "age_days=")

	// Missing: a warning, not a refusal.
	require.NoError(t, StartupCheck(t.Context(), "/nonexistent/yt-dlp", childproc.ModeAuto, 0, logger))

	// The real one (Debian's in CI) starts wherever the sandbox works.
	if path, err := exec.LookPath("yt-dlp"); err == nil && childproc.Current().Active {
		logs.Reset()
		require.NoError(t, StartupCheck(t.Context(), path, childproc.ModeAuto, 0, logger))
		require.Contains(t, logs.String(), "Children confined")
	}
}
