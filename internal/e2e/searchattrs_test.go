//go:build integration

package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"
)

// TestWorkerRefusesNamespaceWithoutSearchAttributes runs the worker binary
// against a namespace that lacks riptide's search attributes: it exits at
// once, naming them and how to create them, instead of failing every
// job's workflow task.
func TestWorkerRefusesNamespaceWithoutSearchAttributes(t *testing.T) {
	requireStack(t)
	t.Parallel()
	bin := buildBinary(t, "github.com/riptide-dev/riptide/worker/cmd")
	ctx := context.Background()
	ns := "bare-" + uuid.NewString()[:8]
	nc, err := client.NewNamespaceClient(client.Options{HostPort: stack.cfg.Temporal.Address, Logger: quiet{}})
	require.NoError(t, err)
	defer nc.Close()
	require.NoError(t, nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: ns, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	}))
	// A new namespace reaches every service of the server after a moment.
	require.Eventually(t, func() bool {
		_, err := stack.temporal.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
		return err == nil
	}, time.Minute, 200*time.Millisecond)

	cmdCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cmdCtx, bin)
	c := stack.cfg
	cmd.Env = []string{
		"RIPTIDE_TEMPORAL_ADDRESS=" + c.Temporal.Address,
		"RIPTIDE_TEMPORAL_NAMESPACE=" + ns,
		"RIPTIDE_S3_ENDPOINT=" + c.S3.Endpoint,
		"RIPTIDE_S3_ACCESS_KEY_ID=" + c.S3.AccessKeyID,
		"RIPTIDE_S3_SECRET_ACCESS_KEY=" + c.S3.SecretAccessKey,
		"RIPTIDE_WORKER_WORK_DIR=" + filepath.Join(t.TempDir(), "work"),
		"RIPTIDE_WORKER_METRICS_ADDR=",
		"RIPTIDE_LOG_FORMAT=text",
		"RIPTIDE_ALLOW_PRIVATE_NETWORKS=" + strings.Join(c.AllowPrivateNetworks, ","),
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "the worker must exit: %s", out)
	require.Equal(t, 1, exit.ExitCode(), "%s", out)
	for _, want := range []string{"RiptideStatus", "RiptideFolder", "RiptideBatchID", "RiptideTenant", "temporal operator search-attribute create"} {
		require.Contains(t, string(out), want)
	}
	t.Logf("worker said: %s", out)
}
