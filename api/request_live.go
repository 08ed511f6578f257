package api

import (
	"encoding/json"

	"github.com/riptide-dev/riptide/workflows"
)

// liveOptions reads the live-stream fields into the job's options:
// live_recording, live_from_start and wait_for_video, booleans (null is
// false). The worker records a live source with or without
// live_recording (it tells a live source itself); max_duration is then
// the recording's cap (activities/live.go).
func (f *referenceOnlyFields) liveOptions(out *workflows.JobOptions) *apiError {
	for _, b := range []struct {
		field string
		raw   json.RawMessage
		dst   *bool
	}{
		{"live_recording", f.LiveRecording, &out.LiveRecording},
		{"live_from_start", f.LiveFromStart, &out.LiveFromStart},
		{"wait_for_video", f.WaitForVideo, &out.WaitForVideo},
	} {
		if !isSet(b.raw) {
			continue
		}
		if json.Unmarshal(b.raw, b.dst) != nil {
			return fieldError(codeInvalidType, b.field, "%s must be a boolean", b.field)
		}
	}
	return nil
}
