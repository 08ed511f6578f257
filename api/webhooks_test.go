package api

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/riptide-dev/riptide/workflows"
)

func TestJobWebhooksListsAttemptsAndRedeliveries(t *testing.T) {
	h := newHarness(t, nil)
	st := workflows.JobState{JobID: testJobID, Status: workflows.StatusCompleted, Step: workflows.StepFinished,
		Webhooks: []workflows.WebhookEvent{
			{EventID: "evt_" + testJobID + "_job_completed", Type: "job_completed", Status: workflows.WebhookDelivered,
				Attempts: []workflows.WebhookAttempt{{StatusCode: 503, Error: "receiver answered 503"}, {StatusCode: 200, Delivered: true}}},
		}}
	h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.JobWorkflowID(testJobID), "").
		Return(describeResponse(t, st), nil).Twice()
	h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.RedeliverWorkflowID("evt_"+testJobID+"_job_completed"), "").
		Return(nil, serviceerror.NewNotFound("never redelivered")).Once()

	rec := h.do(http.MethodGet, "/jobs/"+testJobID+"/webhooks", "", testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	m := decodeBody(t, rec)
	events := m["webhooks"].([]any)
	require.Len(t, events, 1)
	ev := events[0].(map[string]any)
	require.Equal(t, "delivered", ev["status"])
	require.Len(t, ev["attempts"], 2)
	require.Contains(t, ev, "redelivery")
	require.Nil(t, ev["redelivery"])
	ws := m["webhook_status"].(map[string]any)
	require.EqualValues(t, 1, ws["delivered"])
	require.EqualValues(t, 2, ws["attempts"])
	require.EqualValues(t, 200, ws["last_status_code"])

	// GET /jobs/{id} shows the same summary.
	job := decodeBody(t, h.do(http.MethodGet, "/jobs/"+testJobID, "", testKey))
	require.Equal(t, ws, job["webhook_status"])
}

func TestRedeliverRejectsBadIDs(t *testing.T) {
	h := newHarness(t, nil)
	// The job's tenant is read first (own.go): the two bad event ids and
	// the event the job never sent.
	h.tc.On("DescribeWorkflowExecution", mock.Anything, workflows.JobWorkflowID(testJobID), "").
		Return(describeResponse(t, workflows.JobState{JobID: testJobID, Status: workflows.StatusCompleted}), nil).Times(3)
	for _, tc := range []struct {
		path, field string
		status      int
	}{
		{"/jobs/not-a-uuid/webhooks/evt_x/redeliver", "id", 400},
		{"/jobs/" + testJobID + "/webhooks/evt_other-job_job_completed/redeliver", "event_id", 400},
		{"/jobs/" + testJobID + "/webhooks/x/redeliver", "event_id", 400},
	} {
		requireError(t, h.do(http.MethodPost, tc.path, "", testKey), tc.status, codeInvalidField, tc.field)
	}
	// An event the job never sent.
	requireError(t, h.do(http.MethodPost, "/jobs/"+testJobID+"/webhooks/evt_"+testJobID+"_job_failed/redeliver", "", testKey),
		http.StatusNotFound, codeNotFound, "")
	h.tc.AssertNumberOfCalls(t, "ExecuteWorkflow", 0)
}
