package jobs

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riptide-dev/riptide/workflows"
)

// history builds a job's events: each activity scheduled, started (at its
// last attempt) and ended, seconds after the start.
type history struct {
	t      *testing.T
	events []*historypb.HistoryEvent
}

func (h *history) add(at float64, typ enumspb.EventType, set func(e *historypb.HistoryEvent)) int64 {
	e := &historypb.HistoryEvent{EventId: int64(len(h.events) + 1), EventType: typ,
		EventTime: timestamppb.New(started.Add(time.Duration(at * float64(time.Second))))}
	set(e)
	h.events = append(h.events, e)
	return e.EventId
}

func (h *history) activity(name string, scheduled, start, end float64, attempt int32, result any) {
	id := h.add(scheduled, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
			ActivityType: &commonpb.ActivityType{Name: name}}}
	})
	if start < 0 {
		return
	}
	h.add(start, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_ActivityTaskStartedEventAttributes{ActivityTaskStartedEventAttributes: &historypb.ActivityTaskStartedEventAttributes{
			ScheduledEventId: id, Attempt: attempt}}
	})
	if result == nil {
		h.add(end, enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED, func(e *historypb.HistoryEvent) {
			e.Attributes = &historypb.HistoryEvent_ActivityTaskFailedEventAttributes{ActivityTaskFailedEventAttributes: &historypb.ActivityTaskFailedEventAttributes{
				ScheduledEventId: id}}
		})
		return
	}
	p, err := converter.GetDefaultDataConverter().ToPayloads(result)
	require.NoError(h.t, err)
	h.add(end, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_ActivityTaskCompletedEventAttributes{ActivityTaskCompletedEventAttributes: &historypb.ActivityTaskCompletedEventAttributes{
			ScheduledEventId: id, Result: p}}
	})
}

func TestStagesOfACompletedJob(t *testing.T) {
	h := &history{t: t}
	h.add(0, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, func(*historypb.HistoryEvent) {})
	// Download: scheduled at 1 s, started at 1.5 s, 10 MB in 4 s (20 Mbps).
	h.activity(workflows.Download.Name(), 1, 1.5, 5.5, 1, workflows.DownloadResult{Bytes: 10_000_000})
	h.activity(workflows.Mux.Name(), 6, 6.1, 8, 1, workflows.MuxResult{Bytes: 9_000_000})
	// Upload: third attempt started at 20 s, 9 MB in 2 s (36 Mbps).
	h.activity(workflows.Upload.Name(), 8, 20, 22, 3, workflows.UploadResult{Bytes: 9_000_000})
	done := started.Add(23 * time.Second)
	s := stagesOf(converter.GetDefaultDataConverter(), h.events, nil, started, &done)
	require.Equal(t, int64(4500), *s.DownloadDurationMS)
	require.Equal(t, int64(2000), *s.MuxDurationMS)
	require.Equal(t, int64(14000), *s.UploadDurationMS)
	require.Equal(t, int64(23000), *s.TotalDurationMS)
	require.Equal(t, int64(1500), *s.QueueWaitMS)
	require.Equal(t, 0, *s.DownloadRetries)
	require.Equal(t, 2, *s.UploadRetries)
	require.InDelta(t, 20.0, *s.DownloadSpeedMbps, 0.001)
	require.InDelta(t, 36.0, *s.UploadSpeedMbps, 0.001)
}

func TestStagesOfARunningJob(t *testing.T) {
	h := &history{t: t}
	h.add(0, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, func(*historypb.HistoryEvent) {})
	// The download is on its second attempt: Temporal writes no started
	// event until it ends; the pending activity says which attempt runs.
	h.activity(workflows.Download.Name(), 2, -1, 0, 0, nil)
	pending := []*workflowpb.PendingActivityInfo{{ActivityType: &commonpb.ActivityType{Name: workflows.Download.Name()}, Attempt: 2}}
	s := stagesOf(converter.GetDefaultDataConverter(), h.events, pending, started, nil)
	require.Nil(t, s.DownloadDurationMS)
	require.Nil(t, s.TotalDurationMS)
	require.Nil(t, s.DownloadSpeedMbps)
	require.Equal(t, 1, *s.DownloadRetries)
	require.Equal(t, int64(2000), *s.QueueWaitMS, "the last attempt's scheduling when retried")
	require.Nil(t, s.UploadRetries)
	require.Nil(t, s.MuxDurationMS)

	// A first attempt running: the pending activity's start is the end
	// of the queue wait.
	h = &history{t: t}
	h.activity(workflows.Download.Name(), 1, -1, 0, 0, nil)
	pending[0].Attempt, pending[0].LastStartedTime = 1, timestamppb.New(started.Add(1500*time.Millisecond))
	s = stagesOf(converter.GetDefaultDataConverter(), h.events, pending, started, nil)
	require.Equal(t, int64(1500), *s.QueueWaitMS)
	require.Equal(t, 0, *s.DownloadRetries)

	// Failed download: its duration counts, it has no speed.
	h = &history{t: t}
	h.activity(workflows.Download.Name(), 1, 3, 4, 4, nil)
	s = stagesOf(converter.GetDefaultDataConverter(), h.events, nil, started, nil)
	require.Equal(t, int64(3000), *s.DownloadDurationMS)
	require.Equal(t, 3, *s.DownloadRetries)
	require.Nil(t, s.DownloadSpeedMbps)
}
