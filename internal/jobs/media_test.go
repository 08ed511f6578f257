package jobs

import (
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"

	"github.com/riptide-dev/riptide/workflows"
)

func (h *history) start(in workflows.JobInput) {
	p, err := converter.GetDefaultDataConverter().ToPayloads(in)
	require.NoError(h.t, err)
	h.add(0, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{
			WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{Input: p}}
	})
}

func str(s string) *string { return &s }

// The codecs and qualities come from the input and the activity results:
// the source's from the download, the written file's from the mux.
func TestMediaOfATranscodedJob(t *testing.T) {
	h := &history{t: t}
	h.start(workflows.JobInput{JobID: "j", JobOptions: workflows.JobOptions{MaxHeight: 720,
		Transcode: &workflows.Transcode{VideoCodec: "h265", CRF: 23}}})
	h.activity(workflows.Download.Name(), 1, 1, 2, 1, workflows.DownloadResult{Bytes: 1, NeedsMux: true, Strategy: workflows.DownloadNativeDASH,
		Streams: &workflows.Streams{VideoCodec: "vp9", AudioCodec: "opus", Width: 1280, Height: 720}})
	h.activity(workflows.Mux.Name(), 2, 2, 3, 1, workflows.MuxResult{Bytes: 1,
		Streams: &workflows.Streams{VideoCodec: "hevc", AudioCodec: "aac", Width: 1280, Height: 720}})
	require.Equal(t, Media{NativeVideoCodec: str("vp9"), NativeAudioCodec: str("opus"), RequestedQuality: str("720p"),
		ActualQuality: str("720p"), VideoCodec: str("h265"), AudioCodec: str("aac"), DownloadStrategy: str("native_dash")}, mediaOf(converter.GetDefaultDataConverter(), h.events))
}

// A job whose download was the file (no mux) wrote the source's streams; a
// portrait video's quality is its width; audio has no quality.
func TestMediaOfAKeptDownloadAndOfAudio(t *testing.T) {
	h := &history{t: t}
	h.start(workflows.JobInput{JobID: "j"})
	h.activity(workflows.Download.Name(), 1, 1, 2, 1, workflows.DownloadResult{Bytes: 1,
		Streams: &workflows.Streams{VideoCodec: "h264", AudioCodec: "aac", Width: 1080, Height: 1920}})
	require.Equal(t, Media{NativeVideoCodec: str("h264"), NativeAudioCodec: str("aac"), RequestedQuality: str("best"),
		ActualQuality: str("1080p"), VideoCodec: str("h264"), AudioCodec: str("aac")}, mediaOf(converter.GetDefaultDataConverter(), h.events))

	h = &history{t: t}
	h.start(workflows.JobInput{JobID: "j", Format: "mp3"})
	h.activity(workflows.Download.Name(), 1, 1, 2, 1, workflows.DownloadResult{Bytes: 1, NeedsMux: true,
		Streams: &workflows.Streams{AudioCodec: "aac"}})
	h.activity(workflows.Mux.Name(), 2, 2, 3, 1, workflows.MuxResult{Bytes: 1, Streams: &workflows.Streams{AudioCodec: "mp3"}})
	m := mediaOf(converter.GetDefaultDataConverter(), h.events)
	require.Nil(t, m.ActualQuality)
	require.Nil(t, m.VideoCodec)
	require.Equal(t, str("mp3"), m.AudioCodec)

	// Before any result (and in histories from before the streams were
	// recorded) only the request is known.
	h = &history{t: t}
	h.start(workflows.JobInput{JobID: "j", JobOptions: workflows.JobOptions{MaxHeight: 1080}})
	h.activity(workflows.Download.Name(), 1, 1, 2, 1, workflows.DownloadResult{Bytes: 1})
	require.Equal(t, Media{RequestedQuality: str("1080p")}, mediaOf(converter.GetDefaultDataConverter(), h.events))
}
