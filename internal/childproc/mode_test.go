package childproc

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDegradedModes: where namespaces are unavailable, auto warns once and
// runs children unconfined with the minimal environment; required refuses
// to start the worker and every child; off never probes.
func TestDegradedModes(t *testing.T) {
	probed := 0
	probeSandbox = func() error { probed++; return errors.New("no namespaces here") }
	t.Cleanup(func() {
		probeSandbox = probe
		_, _ = SetMode(ModeAuto, nil)
	})
	t.Setenv("no_proxy", "*")
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))

	st, err := SetMode(ModeAuto, logger)
	require.NoError(t, err)
	require.False(t, st.Active)
	require.Equal(t, "no namespaces here", st.Reason)
	for range 2 {
		out, err := Command(context.Background(), Options{Proxy: "http://127.0.0.1:9"}, "env").Output()
		require.NoError(t, err)
		require.NotContains(t, string(out), "no_proxy", "the environment stays minimal")
	}
	require.Equal(t, 1, strings.Count(logs.String(), "SECURITY"), "one warning: %s", logs.String())

	_, err = SetMode(ModeRequired, logger)
	require.ErrorContains(t, err, "RIPTIDE_SANDBOX=required, but children cannot be confined: no namespaces here")
	err = Command(context.Background(), Options{}, "true").Run()
	require.ErrorContains(t, err, "the sandbox is required")

	probed = 0
	st, err = SetMode(ModeOff, logger)
	require.NoError(t, err)
	require.False(t, st.Active)
	require.Zero(t, probed)
	require.NoError(t, Command(context.Background(), Options{}, "true").Run())
}
