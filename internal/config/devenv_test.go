package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDevEnvFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, DevEnvFile)
	vars := [][2]string{{"RIPTIDE_S3_ENDPOINT", "http://127.0.0.1:9000"}, {"RIPTIDE_API_KEYS", "it's a key"}, {"RIPTIDE_WORKER_METRICS_ADDR", ""}}
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
	require.NoError(t, WriteEnvFile(path, vars))
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	got, err := ReadEnvFile(path)
	require.NoError(t, err)
	require.Equal(t, vars, got)
	require.Error(t, WriteEnvFile(path, [][2]string{{"RIPTIDE_X", "a\nRIPTIDE_Y=b"}}))

	// Loaded where the environment sets nothing; an explicit variable,
	// even empty, wins.
	t.Setenv("RIPTIDE_DATA_DIR", dir)
	t.Setenv("RIPTIDE_API_KEYS", "")
	for _, name := range []string{"RIPTIDE_S3_ENDPOINT", "RIPTIDE_WORKER_METRICS_ADDR"} {
		t.Setenv(name, "") // restored after the test
		os.Unsetenv(name)
	}
	loaded, err := LoadDevEnv()
	require.NoError(t, err)
	require.Equal(t, path, loaded)
	require.Equal(t, "http://127.0.0.1:9000", os.Getenv("RIPTIDE_S3_ENDPOINT"))
	require.Equal(t, "", os.Getenv("RIPTIDE_API_KEYS"))

	t.Setenv("RIPTIDE_DATA_DIR", t.TempDir())
	loaded, err = LoadDevEnv()
	require.NoError(t, err)
	require.Empty(t, loaded)
}

func TestCheckDevStack(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("RIPTIDE_DATA_DIR", dir)
	t.Setenv("RIPTIDE_S3_ENDPOINT", "http://127.0.0.1:9000")
	t.Setenv("RIPTIDE_ALLOW_PRIVATE_NETWORKS", "127.0.0.0/8,::1")
	stack, err := Load()
	require.NoError(t, err)
	require.NoError(t, CheckDevStack(stack), "no dev env file")
	require.NoError(t, WriteEnvFile(filepath.Join(dir, DevEnvFile), ServingSettings(stack)))
	require.NoError(t, CheckDevStack(stack))

	other := *stack
	other.S3.Bucket = "elsewhere"
	err = CheckDevStack(&other)
	require.Error(t, err)
	require.True(t, strings.Contains(err.Error(), "RIPTIDE_S3_BUCKET") && strings.Contains(err.Error(), `"elsewhere"`), err.Error())

	other = *stack
	other.AllowPrivateNetworks = nil
	err = CheckDevStack(&other)
	require.ErrorContains(t, err, "does not allow 127.0.0.0/8, ::1/128")
	// Allowing more than the stack is fine.
	other.AllowPrivateNetworks = []string{"0.0.0.0/0", "::/0"}
	require.NoError(t, CheckDevStack(&other))
	other.AllowPrivateNetworks = []string{"127.0.0.1", "::1"}
	require.ErrorContains(t, CheckDevStack(&other), "does not allow 127.0.0.0/8")
}
