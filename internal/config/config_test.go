package config

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/stretchr/testify/require"
)

// keys lists every environment variable Load reads.
func keys(t *testing.T) []string {
	t.Helper()
	var b strings.Builder
	require.NoError(t, envconfig.Usagef(Prefix, &Config{}, &b, "{{range .}}{{usage_key .}}\n{{end}}"))
	return strings.Fields(b.String())
}

// TestREADMEListsExactlyTheSettings keeps the README's configuration table
// true: every variable riptide reads is documented, and every documented
// RIPTIDE_* variable is one riptide reads.
func TestREADMEListsExactlyTheSettings(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("`(RIPTIDE_[A-Z0-9_]+)`").FindAllStringSubmatch(string(readme), -1) {
		documented[m[1]] = true
	}
	read := keys(t)
	for _, k := range read {
		require.True(t, documented[k], "%s is read but not documented in README.md", k)
	}
	// Variables of the tooling (Makefile, tests, dev runner) are not
	// settings of the binaries.
	tooling := []string{"RIPTIDE_TEMPORAL_BIN", "RIPTIDE_VERSITYGW_BIN", "RIPTIDE_STANDARDWEBHOOKS_DIR",
		"RIPTIDE_REQUIRE_INTEGRATION", "RIPTIDE_DEV_SAMPLES_ADDR", "RIPTIDE_RECORD_HISTORIES",
		"RIPTIDE_TEMPORAL_SERVER_BIN", "RIPTIDE_TEMPORAL_SQL_TOOL_BIN", "RIPTIDE_POSTGRES_BIN_DIR", "RIPTIDE_TEMPORAL_BACKEND",
		"RIPTIDE_TEMPORAL_UI_BIN", "RIPTIDE_AZURITE_BIN", "RIPTIDE_FAKE_GCS_BIN"}
	for k := range documented {
		// RIPTIDE_SOAK*: the soak test's knobs (README: Soak).
		if slices.Contains(tooling, k) || strings.HasPrefix(k, "RIPTIDE_SOAK") {
			continue
		}
		require.True(t, slices.Contains(read, k), "README documents %s, which riptide does not read", k)
	}
}

func TestLoadReadsTheDocumentedNames(t *testing.T) {
	t.Setenv("RIPTIDE_YTDLP_PATH", "/opt/yt-dlp/bin/yt-dlp")
	t.Setenv("RIPTIDE_FFMPEG_PATH", "/opt/ffmpeg")
	t.Setenv("RIPTIDE_WORKER_CONCURRENCY", "7")
	t.Setenv("RIPTIDE_API_KEYS", " a , b,")
	c, err := Load()
	require.NoError(t, err)
	require.Equal(t, "/opt/yt-dlp/bin/yt-dlp", c.Media.YtdlpPath)
	require.Equal(t, "/opt/ffmpeg", c.Media.FfmpegPath)
	require.Equal(t, 7, c.Worker.Concurrency)
	require.Equal(t, []string{"a", "b"}, c.API.Keys)
}

func TestSandboxSettings(t *testing.T) {
	c, err := Load()
	require.NoError(t, err)
	require.Equal(t, "auto", c.Media.Sandbox)
	require.Equal(t, 90*24*time.Hour, c.Media.YtdlpMaxAge)
	t.Setenv("RIPTIDE_SANDBOX", "required")
	t.Setenv("RIPTIDE_YTDLP_MAX_AGE", "720h")
	c, err = Load()
	require.NoError(t, err)
	require.Equal(t, "required", c.Media.Sandbox)
	require.Equal(t, 30*24*time.Hour, c.Media.YtdlpMaxAge)
	t.Setenv("RIPTIDE_SANDBOX", "yes")
	_, err = Load()
	require.ErrorContains(t, err, "RIPTIDE_SANDBOX")
}

// The resource limits of issue 13 have working defaults and refuse
// nonsense.
func TestLoadResourceLimits(t *testing.T) {
	c, err := Load()
	require.NoError(t, err)
	require.Zero(t, c.Worker.MaxJobBytes, "derived from the disk by default")
	require.Equal(t, 2, c.Worker.MaxListings)
	require.EqualValues(t, 64<<20, c.Worker.MaxFeedBytes)

	t.Setenv("RIPTIDE_WORKER_MAX_JOB_BYTES", "1073741824")
	t.Setenv("RIPTIDE_WORKER_MAX_LISTINGS", "3")
	c, err = Load()
	require.NoError(t, err)
	require.EqualValues(t, 1<<30, c.Worker.MaxJobBytes)
	require.Equal(t, 3, c.Worker.MaxListings)

	t.Setenv("RIPTIDE_WORKER_MAX_LISTINGS", "0")
	_, err = Load()
	require.ErrorContains(t, err, "RIPTIDE_WORKER_MAX_LISTINGS")
}
