package release

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/childproc"
)

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]string{
		"2023.03.04\n":        "2023-03-04",
		"2024.08.06.232822\n": "2024-08-06",
		"2023.3.4":            "2023-03-04",
	} {
		v, err := ParseVersion(in)
		require.NoError(t, err, in)
		require.Equal(t, want, v.Released.Format(time.DateOnly))
	}
	_, err := ParseVersion("youtube-dl 1.0")
	require.ErrorContains(t, err, "not YYYY.MM.DD")
}

func TestAssess(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	confined := childproc.Status{Mode: childproc.ModeAuto, Active: true}
	unconfined := childproc.Status{Mode: childproc.ModeAuto, Reason: "no namespaces"}
	off := childproc.Status{Mode: childproc.ModeOff, Reason: "turned off"}
	v := func(s string) Version { return mustVersion(s) }

	a := Assess(v("2022.11.11"), confined, now, 0)
	require.ErrorContains(t, a.Refusal, "older than 2023.03.04")

	// Debian's: fine confined (with a warning), refused unconfined unless
	// the operator turned the sandbox off.
	a = Assess(v("2023.03.04"), confined, now, 0)
	require.NoError(t, a.Refusal)
	require.Len(t, a.Warnings, 2, "confined only, and stale: %v", a.Warnings)
	require.Contains(t, a.Warnings[1], "days old")
	a = Assess(v("2023.03.04"), unconfined, now, 0)
	require.ErrorContains(t, a.Refusal, "cannot be confined here (no namespaces)")
	a = Assess(v("2023.03.04"), off, now, 0)
	require.NoError(t, a.Refusal)
	require.Contains(t, a.Warnings[0], "SECURITY")

	// A current one runs anywhere, and is not stale.
	a = Assess(v("2026.11.20"), unconfined, now, 0)
	require.NoError(t, a.Refusal)
	require.Empty(t, a.Warnings)
	a = Assess(v("2026.11.20"), unconfined, now, 24*time.Hour)
	require.Contains(t, a.Warnings[0], "11 days old (over 1)")
}
