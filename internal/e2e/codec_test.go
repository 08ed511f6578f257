//go:build integration

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/workflows"
)

// TestWorkerWithoutTheKeyNamesItAndTheJobResumes: a worker started without
// the deployment's encryption keys cannot read an encrypted job; its
// workflow task fails with an error naming the key id and the setting
// (not a converter's "unknown encoding"), Temporal keeps retrying the task,
// and once a worker with the keys takes over the job completes.
func TestWorkerWithoutTheKeyNamesItAndTheJobResumes(t *testing.T) {
	requireStack(t)
	t.Parallel()
	bin := buildBinary(t, "github.com/riptide-dev/riptide/worker/cmd")
	queue := "riptide-nokey-" + uuid.NewString()[:8]
	keyless := startWorkerProcess(t, bin, "worker-nokey", queue, "RIPTIDE_ENCRYPTION_KEYS=")

	in := workflows.JobInput{JobID: uuid.NewString(), URL: stack.media + "/" + devstack.SampleMP4, Format: workflows.DefaultFormat,
		Folder: "e2e/nokey"}
	ctx := context.Background()
	run, err := jobs.Start(ctx, stack.temporal, queue, in)
	require.NoError(t, err)

	keyID, _, _ := strings.Cut(testEncryptionKeys[0], ":")
	var failed string
	require.Eventually(t, func() bool {
		it := stack.temporal.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return false
			}
			if a := ev.GetWorkflowTaskFailedEventAttributes(); a != nil {
				failed = failureChain(decodedFailure(a.GetFailure()))
				return true
			}
		}
		return false
	}, time.Minute, 200*time.Millisecond, "the keyless worker never failed the workflow task")
	require.Contains(t, failed, `key "`+keyID+`"`, failed)
	require.Contains(t, failed, "RIPTIDE_ENCRYPTION_KEYS", failed)

	// The operator adds the key: a worker with it takes the job over.
	startWorkerProcess(t, bin, "worker-keys", queue)
	keyless.Stop(10 * time.Second)
	ctx, cancel := context.WithTimeout(ctx, jobTimeout)
	defer cancel()
	var st workflows.JobState
	require.NoError(t, run.Get(ctx, &st))
	require.Equal(t, workflows.StatusCompleted, st.Status, "%+v", st)
	t.Logf("keyless worker: %s", failed)
}
