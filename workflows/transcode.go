package workflows

// Transcode is what a job asks the mux to re-encode. The zero value (and a
// nil *Transcode, which older histories hold) copies every stream as it is,
// so inputs recorded before it still decode and replay.
type Transcode struct {
	// VideoCodec is "h264", "h265" or "vp9"; "" copies the video.
	VideoCodec string `json:",omitempty"`
	// AudioCodec is "aac", "opus" or "mp3"; "" copies the audio, or
	// encodes it (AAC, or Opus for containers without AAC) when the
	// container cannot hold the source's codec.
	AudioCodec string `json:",omitempty"`
	// AudioBitrate (kbit/s) is used whenever audio is encoded, the copy
	// fallback included; 0: DefaultAudioBitrate.
	AudioBitrate int `json:",omitempty"`
	// CRF is the video quality on the 0–51 scale of x264 and x265 (vp9's
	// 0–63 scale is mapped from it); only with VideoCodec. The API always
	// sets it with a VideoCodec, so 0 here means CRF 0 (lossless).
	CRF int `json:",omitempty"`
	// QualityPreset is the quality_preset the CRF came from, if any
	// (recorded for the job's view; the CRF is what the mux uses).
	QualityPreset string `json:",omitempty"`
}

// DefaultAudioBitrate (kbit/s) is the bitrate of encoded audio when the
// job names none.
const DefaultAudioBitrate = 192

// DefaultCRF is the video quality of a video transcode that names none.
const DefaultCRF = 23

// Encodes tells whether t asks for any stream to be re-encoded.
func (t *Transcode) Encodes() bool {
	return t != nil && (t.VideoCodec != "" || t.AudioCodec != "")
}

// Streams describes a file's first video and audio stream: ffprobe's codec
// names ("h264", "hevc", "vp9", "aac", "opus", …) and the video's size in
// pixels; empty or 0 when the file has no such stream or it is unknown.
type Streams struct {
	VideoCodec string `json:",omitempty"`
	AudioCodec string `json:",omitempty"`
	Width      int    `json:",omitempty"`
	Height     int    `json:",omitempty"`
}
