package devstack

import (
	"context"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// Sample files GenerateSamples writes, relative to its directory.
const (
	SampleMP4  = "clip.mp4"      // one file, video and audio
	SampleDASH = "dash/clip.mpd" // separate video and audio streams
	SamplePage = "page.html"     // HTML5 page with the clip and English subtitles
	SampleVTT  = "clip.en.vtt"
	SampleFeed = "feed.xml" // a podcast feed of SampleFeedEpisodes copies of the clip (served, not written)
	// SampleFeedEpisodes is how many episodes the sample feed lists.
	SampleFeedEpisodes = 12
	// SampleTitle and SampleDescription are what the page declares.
	SampleTitle       = "Riptide Sample Clip"
	SampleDescription = "A generated test pattern with a 440 Hz tone."
)

// GenerateSamples writes a short test clip in the forms riptide downloads:
// a direct MP4, a DASH manifest whose video and audio are separate (so the
// mux step really merges), and a web page with subtitles. Existing samples
// are kept.
func GenerateSamples(ctx context.Context, ffmpeg, dir string, seconds int) error {
	if _, err := os.Stat(filepath.Join(dir, SamplePage)); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(dir, "dash"), 0o755); err != nil {
		return err
	}
	dur := strconv.Itoa(seconds)
	mp4 := filepath.Join(dir, SampleMP4)
	steps := [][]string{
		{"-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
			"-t", dur, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25",
			"-c:a", "aac", "-b:a", "64k", "-shortest", mp4},
		{"-i", mp4, "-map", "0:v", "-map", "0:a", "-c", "copy", "-f", "dash", "-seg_duration", "1",
			"-adaptation_sets", "id=0,streams=v id=1,streams=a", filepath.Join(dir, SampleDASH)},
	}
	for _, args := range steps {
		args = append([]string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y"}, args...)
		if out, err := exec.CommandContext(ctx, ffmpeg, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ffmpeg %v: %w: %s", args, err, out)
		}
	}
	vtt := "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello from riptide\n\n00:00:01.500 --> 00:00:03.000\nThis is a test clip\n"
	page := `<!DOCTYPE html>
<html><head><meta charset="utf-8">
<title>` + SampleTitle + `</title>
<meta property="og:title" content="` + SampleTitle + `">
<meta name="description" content="` + SampleDescription + `">
<meta property="og:description" content="` + SampleDescription + `">
</head><body>
<video controls width="320">
<source src="` + SampleMP4 + `" type="video/mp4">
<track kind="subtitles" src="` + SampleVTT + `" srclang="en" label="English">
</video>
</body></html>
`
	if err := os.WriteFile(filepath.Join(dir, SampleVTT), []byte(vtt), 0o644); err != nil {
		return err
	}
	// The page is written last: its presence marks a complete sample set.
	return os.WriteFile(filepath.Join(dir, SamplePage), []byte(page), 0o644)
}

// SampleFeedXML is an RSS podcast feed whose episodes are the sample clip
// under base (the sample server's URL), each with its own enclosure URL
// (the query string tells them apart; the file server ignores it), so a
// batch can be tried on the dev stack.
func SampleFeedXML(base string, episodes int) string {
	var items string
	for i := 1; i <= episodes; i++ {
		u := html.EscapeString(fmt.Sprintf("%s/%s?episode=%d", base, SampleMP4, i))
		items += fmt.Sprintf(`<item><title>Sample Episode %d</title><guid>riptide-sample-%d</guid>`+
			`<enclosure url="%s" type="video/mp4"/></item>`, i, i, u)
	}
	return `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Riptide Sample Show</title>` +
		items + `</channel></rss>`
}
