package jobs

import (
	"strconv"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"

	"github.com/riptide-dev/riptide/workflows"
)

// Media are a job's codecs and qualities, the hosted service's names plus
// what riptide wrote, read from the workflow's own history by AddStages:
// the job's input and its Download and Mux results. Null while unknown.
type Media struct {
	// NativeVideoCodec and NativeAudioCodec are the source's codecs, as
	// the download's probe named them ("h264", "h265", "vp9", "av1",
	// "aac", "opus", "mp3", …).
	NativeVideoCodec *string `json:"native_video_codec"`
	NativeAudioCodec *string `json:"native_audio_codec"`
	// RequestedQuality is max_resolution: "best" or "1080p".
	RequestedQuality *string `json:"requested_quality"`
	// ActualQuality is the written video's shorter side ("720p"); null
	// for audio.
	ActualQuality *string `json:"actual_quality"`
	// VideoCodec and AudioCodec are the written file's codecs (riptide's
	// addition: what a transcode, or a copy, produced).
	VideoCodec *string `json:"video_codec"`
	AudioCodec *string `json:"audio_codec"`
	// DownloadStrategy is how the media was fetched (riptide's addition):
	// "native_http", "native_hls", "native_dash", "ytdlp" or "live_hls";
	// null before the download ends.
	DownloadStrategy *string `json:"download_strategy"`
}

// mediaOf reads Media from a job's history events.
func mediaOf(dc converter.DataConverter, events []*historypb.HistoryEvent) Media {
	var m Media
	scheduled := map[int64]string{}
	var native, written *workflows.Streams
	for _, e := range events {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			var in workflows.JobInput
			if p := e.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads(); len(p) > 0 && dc.FromPayload(p[0], &in) == nil {
				q := "best"
				if in.MaxHeight > 0 {
					q = strconv.Itoa(in.MaxHeight) + "p"
				}
				m.RequestedQuality = &q
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			scheduled[e.GetEventId()] = e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			a := e.GetActivityTaskCompletedEventAttributes()
			p := a.GetResult().GetPayloads()
			if len(p) == 0 {
				continue
			}
			var res struct {
				Streams  *workflows.Streams
				Strategy string
			}
			if dc.FromPayload(p[0], &res) != nil {
				continue
			}
			switch scheduled[a.GetScheduledEventId()] {
			case workflows.Download.Name():
				// A chain restarted on another worker downloads again:
				// the last download is the one muxed.
				native, written = res.Streams, res.Streams
				m.DownloadStrategy = nullable(res.Strategy)
			case workflows.Mux.Name():
				written = res.Streams
			}
		}
	}
	if native != nil {
		m.NativeVideoCodec, m.NativeAudioCodec = codecName(native.VideoCodec), codecName(native.AudioCodec)
	}
	if written != nil {
		m.VideoCodec, m.AudioCodec = codecName(written.VideoCodec), codecName(written.AudioCodec)
		if written.VideoCodec != "" && written.Width > 0 && written.Height > 0 {
			q := strconv.Itoa(min(written.Width, written.Height)) + "p"
			m.ActualQuality = &q
		}
	}
	return m
}

// codecName is ffprobe's codec name under the API's spelling (hevc is
// video_codec's "h265"); null when empty.
func codecName(c string) *string {
	if c == "hevc" {
		c = "h265"
	}
	return nullable(c)
}
