//go:build integration

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/devstack"
)

// TestStarterRunsAJobAndWaits runs the starter example binary as a team
// would: it starts a job straight on Temporal and, with -wait, prints the
// final job state.
func TestStarterRunsAJobAndWaits(t *testing.T) {
	requireStack(t)
	t.Parallel()
	bin := buildBinary(t, "github.com/riptide-dev/riptide/starter")
	cmd := exec.Command(bin, "-url", stack.media+"/"+devstack.SampleMP4, "-folder", "e2e/starter",
		"-webhook-url", stack.hookURL, "-wait")
	cmd.Env = append(os.Environ(),
		"RIPTIDE_TEMPORAL_ADDRESS="+stack.cfg.Temporal.Address,
		"RIPTIDE_TEMPORAL_TASK_QUEUE="+stack.cfg.Temporal.TaskQueue,
		"RIPTIDE_ENCRYPTION_KEYS="+strings.Join(testEncryptionKeys, ","))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "stderr: %s", stderr.String())

	// The job id line comes first, then the final state (the workflow's
	// JobState) as JSON.
	text := string(out)
	i := strings.Index(text, "{")
	require.GreaterOrEqual(t, i, 0, "no JSON in output: %s", text)
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(text[i:]), &v), text)
	require.Equal(t, "Completed", v["status"])
	require.Contains(t, text, "job_id:      "+v["job_id"].(string))
	key := v["key"].(string)
	require.True(t, strings.HasPrefix(key, "e2e/starter/"), key)
	require.EqualValues(t, len(stored(t, key)), v["file_size_bytes"])
	require.Contains(t, stderr.String(), "100%", "the progress bar reached the end")
	require.Equal(t, "job_completed", stack.hooks.waitTerminal(t, v["job_id"].(string), jobTimeout).Body["type"])
}
