package api

import (
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/workflows"
)

// TestGetJobLinksToTemporalUI checks the job view links to the run's page in
// the configured Temporal UI, and carries a null link when none is.
func TestGetJobLinksToTemporalUI(t *testing.T) {
	st := workflows.JobState{JobID: testJobID, URL: "https://example.com/v", Status: workflows.StatusProcessing, Step: workflows.StepMuxing}
	for _, tc := range []struct {
		ui   string
		want any
	}{
		{ui: "https://temporal.example.com", want: "https://temporal.example.com/namespaces/media/workflows/job-" + testJobID + "/"},
		{ui: "", want: nil},
	} {
		h := newHarness(t, nil)
		h.router = NewRouter(Deps{Temporal: h.tc, TaskQueue: testQueue, Store: h.store, Keys: []string{testKey},
			Logger: slog.New(slog.DiscardHandler), TemporalUI: tc.ui, Namespace: "media"})
		resp := describeResponse(t, st)
		h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.JobWorkflowID(testJobID), "").Return(resp, nil).Once()
		rec := h.do(http.MethodGet, "/jobs/"+testJobID, "", testKey)
		require.Equal(t, http.StatusOK, rec.Code)
		m := decodeBody(t, rec)
		require.Contains(t, m, "temporal_ui_url")
		if tc.want == nil {
			require.Nil(t, m["temporal_ui_url"])
			continue
		}
		runID := resp.GetWorkflowExecutionInfo().GetExecution().GetRunId()
		require.Equal(t, tc.want.(string)+runID+"/history", m["temporal_ui_url"])
	}
}
