//go:build integration

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
)

// recordHistoriesEnv names the directory (absolute) the tests write the
// histories of their workflows to, for workflows/testdata; unset, nothing
// is recorded. make record-histories sets it.
const recordHistoriesEnv = "RIPTIDE_RECORD_HISTORIES"

// recordHistory writes the history of one workflow run (runID "" for the
// latest) as <scenario>.json, in the form `temporal workflow show --output
// json` writes, once the run has closed.
func recordHistory(t *testing.T, c client.Client, scenario, workflowID, runID string) {
	t.Helper()
	dir := os.Getenv(recordHistoriesEnv)
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// A long poll for the close event waits until the run has ended.
	closed := c.GetWorkflowHistory(ctx, workflowID, runID, true, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	for closed.HasNext() {
		_, err := closed.Next()
		require.NoError(t, err, "waiting for %s to close", workflowID)
	}
	var h historypb.History
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, ev)
	}
	// Recorded plain: the replay test needs no key, and testdata holds
	// no ciphertext of keys that exist only here.
	if stack.codec != nil {
		require.NoError(t, stack.codec.DecodeMessage(ctx, &h))
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&h)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, scenario+".json"), b, 0o644))
}
