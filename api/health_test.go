package api

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/riptide-dev/riptide/internal/version"
	"github.com/riptide-dev/riptide/internal/ytdlp/release"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// fakeTools writes stand-ins for yt-dlp and ffmpeg that print a version
// only when asked with the right flag.
func fakeTools(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, script string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"+script), 0o755))
		return p
	}
	return map[string]string{
		"yt-dlp": write("yt-dlp", `[ "$1" = --version ] || exit 2; echo 2025.06.30`),
		"ffmpeg": write("ffmpeg", `[ "$1" = -version ] || exit 2; echo "ffmpeg version 7.1.1 Copyright (c) 2000-2025"; echo "built with gcc"`),
		"broken": write("broken", `echo oops >&2; exit 3`),
		"absent": filepath.Join(dir, "absent"),
	}
}

func TestHealthzOK(t *testing.T) {
	tools := fakeTools(t)
	h := newHarness(t, tools)
	h.tc.On("CheckHealth", mock.Anything, &client.CheckHealthRequest{}).Return(&client.CheckHealthResponse{}, nil).Twice()

	for range 2 { // the second answer comes from the tool cache
		rec := h.do(http.MethodGet, "/healthz", "", "") // no key needed
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		m := decodeBody(t, rec)
		require.Equal(t, "ok", m["status"])
		require.Equal(t, version.String(), m["version"])
		require.Equal(t, map[string]any{"ok": true, "error": nil}, m["temporal"])
		require.Equal(t, map[string]any{"ok": true, "error": nil}, m["s3"])
		got := m["tools"].(map[string]any)
		y := got["yt-dlp"].(map[string]any)
		require.Equal(t, tools["yt-dlp"], y["path"])
		require.Equal(t, "2025.06.30", y["version"])
		require.Nil(t, y["error"])
		require.Equal(t, "2025-06-30", y["release_date"])
		require.InDelta(t, time.Since(time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)).Hours()/24, y["age_days"], 1)
		require.Contains(t, fmt.Sprint(y["warnings"]), "days old", "over 90 days")
		require.Equal(t, map[string]any{"path": tools["ffmpeg"], "version": "ffmpeg version 7.1.1 Copyright (c) 2000-2025", "error": nil}, got["ffmpeg"])
		broken := got["broken"].(map[string]any)
		require.Nil(t, broken["version"])
		require.Contains(t, broken["error"], "exit status 3")
		absent := got["absent"].(map[string]any)
		require.Equal(t, tools["absent"], absent["path"])
		require.Nil(t, absent["version"])
		require.NotEmpty(t, absent["error"])
	}
	require.NotContains(t, h.logs.String(), `"level":"INFO"`, "healthy probes log at debug")
}

func TestHealthzDegraded(t *testing.T) {
	for _, tc := range []struct {
		name        string
		temporalErr error
		s3Err       error
	}{
		{name: "temporal down", temporalErr: serviceerror.NewUnavailable("connection refused")},
		{name: "s3 down", s3Err: errors.New("403 Forbidden")},
		{name: "both down", temporalErr: errors.New("deadline exceeded"), s3Err: errors.New("no such bucket")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, map[string]string{"yt-dlp": "riptide-no-such-tool"})
			h.store.pingErr = tc.s3Err
			h.tc.On("CheckHealth", mock.Anything, mock.Anything).Return(nil, tc.temporalErr).Once()

			rec := h.do(http.MethodGet, "/healthz", "", "")
			require.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
			m := decodeBody(t, rec)
			require.Equal(t, "degraded", m["status"])
			for name, err := range map[string]error{"temporal": tc.temporalErr, "s3": tc.s3Err} {
				c := m[name].(map[string]any)
				require.Equal(t, err == nil, c["ok"], name)
				if err == nil {
					require.Nil(t, c["error"], name)
				} else {
					require.Equal(t, err.Error(), c["error"], name)
				}
			}
			ytdlp := m["tools"].(map[string]any)["yt-dlp"].(map[string]any)
			require.Equal(t, "riptide-no-such-tool", ytdlp["path"])
			require.Nil(t, ytdlp["version"])
		})
	}
}

func TestYtdlpAgeWarnings(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var info toolInfo
	ytdlpAge(&info, "2026.11.20", now, release.DefaultMaxAge)
	require.Equal(t, "2026-11-20", *info.ReleaseDate)
	require.Equal(t, 11, *info.AgeDays)
	require.Empty(t, info.Warnings)

	info = toolInfo{}
	ytdlpAge(&info, "2022.04.08", now, release.DefaultMaxAge)
	require.Contains(t, info.Warnings[0], "workers refuse it: yt-dlp 2022.04.08 is older than 2023.03.04")

	info = toolInfo{}
	ytdlpAge(&info, "2023.03.04", now, release.DefaultMaxAge)
	require.Contains(t, fmt.Sprint(info.Warnings), "safe only because its children are confined")
	require.Contains(t, fmt.Sprint(info.Warnings), "days old")

	// RIPTIDE_YTDLP_MAX_AGE reaches /healthz: an 11-day-old release is
	// stale against a 7-day limit.
	info = toolInfo{}
	ytdlpAge(&info, "2026.11.20", now, 7*24*time.Hour)
	require.Contains(t, fmt.Sprint(info.Warnings), "days old")
}
