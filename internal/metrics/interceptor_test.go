package metrics

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/workflows"
)

func TestJobFieldsNameTheJob(t *testing.T) {
	const id = "550e8400-e29b-41d4-a716-446655440000"
	for _, wf := range []string{workflows.JobWorkflowID(id), workflows.FileDeletedWorkflowID(id)} {
		require.Equal(t, []any{"workflow_id", wf, "run_id", "r", "job_id", id}, jobFields(wf, "r", nil), wf)
	}
	require.Equal(t, []any{"workflow_id", "metadata-x", "run_id", "r"}, jobFields("metadata-x", "r", nil))
}
