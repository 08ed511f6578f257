// Package formats is riptide's one table of output formats: the names a job
// may ask for, the ffmpeg muxer that writes each, and how the audio-only
// ones treat the source's audio. The API validates against it and the Mux
// activity writes with it.
package formats

import "slices"

// DefaultAudio is what an audio-only job writes when it names no format.
const DefaultAudio = "m4a"

// Format is one output format.
type Format struct {
	// Name is the format as a job names it, and the file's extension.
	Name string
	// Muxer is ffmpeg's muxer name.
	Muxer string
	// Audio marks the audio-only formats. Copies lists the audio codecs
	// they hold as is; Encoder is the encoder (with its quality options)
	// for any other.
	Audio   bool
	Copies  []string
	Encoder []string
	// VideoCodecs and AudioCodecs are the video_codec and audio_codec
	// values (besides copy) the container can hold, as the API names them.
	VideoCodecs, AudioCodecs []string
	// Holds are the audio codecs (ffprobe's names) a video container
	// keeps as they are; nil: any (Matroska). Any other is encoded to
	// Fallback.
	Holds    []string
	Fallback string
}

// table lists the video containers, then the audio formats.
var table = []Format{
	{Name: "mp4", Muxer: "mp4", VideoCodecs: []string{"h264", "h265", "vp9"}, AudioCodecs: []string{"aac", "mp3", "opus"},
		Holds: []string{"aac", "mp3", "opus", "flac", "alac", "ac3", "eac3"}, Fallback: "aac"},
	{Name: "mkv", Muxer: "matroska", VideoCodecs: []string{"h264", "h265", "vp9"}, AudioCodecs: []string{"aac", "mp3", "opus"},
		Fallback: "aac"},
	{Name: "webm", Muxer: "webm", VideoCodecs: []string{"vp9"}, AudioCodecs: []string{"opus"},
		Holds: []string{"opus", "vorbis"}, Fallback: "opus"},
	// ffmpeg's mov muxer holds neither VP9 nor Opus.
	{Name: "mov", Muxer: "mov", VideoCodecs: []string{"h264", "h265"}, AudioCodecs: []string{"aac", "mp3"},
		Holds: []string{"aac", "mp3", "alac", "ac3", "eac3", "pcm_s16le", "pcm_s24le"}, Fallback: "aac"},
	{Name: "m4a", Muxer: "ipod", Audio: true, Copies: []string{"aac", "alac"}, Encoder: []string{"-c:a", "aac", "-b:a", "192k"},
		AudioCodecs: []string{"aac"}, Fallback: "aac"},
	{Name: "mp3", Muxer: "mp3", Audio: true, Copies: []string{"mp3"}, Encoder: []string{"-c:a", "libmp3lame", "-q:a", "2"},
		AudioCodecs: []string{"mp3"}, Fallback: "mp3"},
	{Name: "ogg", Muxer: "ogg", Audio: true, Copies: []string{"vorbis", "opus", "flac"}, Encoder: []string{"-c:a", "libvorbis", "-q:a", "5"},
		AudioCodecs: []string{"opus"}, Fallback: "vorbis"},
	{Name: "opus", Muxer: "opus", Audio: true, Copies: []string{"opus"}, Encoder: []string{"-c:a", "libopus", "-b:a", "128k"},
		AudioCodecs: []string{"opus"}, Fallback: "opus"},
}

// Names lists the supported formats: video containers, then audio formats.
func Names() []string {
	names := make([]string, len(table))
	for i, f := range table {
		names[i] = f.Name
	}
	return names
}

// AudioNames lists the audio-only formats.
func AudioNames() []string {
	var names []string
	for _, f := range table {
		if f.Audio {
			names = append(names, f.Name)
		}
	}
	return names
}

// Lookup returns the format called name.
func Lookup(name string) (Format, bool) {
	i := slices.IndexFunc(table, func(f Format) bool { return f.Name == name })
	if i < 0 {
		return Format{}, false
	}
	return table[i], true
}

// IsAudio tells whether name is an audio-only output format.
func IsAudio(name string) bool {
	f, ok := Lookup(name)
	return ok && f.Audio
}

// CopiesCodec tells whether the format holds the audio codec as is.
func (f Format) CopiesCodec(codec string) bool { return slices.Contains(f.Copies, codec) }

// HoldsAudio tells whether a video container keeps the audio codec (as
// ffprobe names it) as it is.
func (f Format) HoldsAudio(codec string) bool {
	return f.Holds == nil || slices.Contains(f.Holds, codec)
}
