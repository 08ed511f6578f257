package segdl

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/riptide-dev/riptide/workflows"
)

const mpdBase = "https://cdn.example/show/ep1/manifest.mpd"

func parseMPD(t *testing.T, doc string) *Manifest {
	t.Helper()
	m, err := ParseMPD(mustURL(t, mpdBase), []byte(doc))
	require.NoError(t, err)
	return m
}

func parts(t *testing.T, r Representation) []Part {
	t.Helper()
	ps, err := r.Parts()
	require.NoError(t, err)
	return ps
}

func partURLs(t *testing.T, r Representation) []string {
	t.Helper()
	var out []string
	for _, p := range parts(t, r) {
		out = append(out, p.URL.String())
	}
	return out
}

// parseAndList parses doc and lists every stream's parts: the first error.
func parseAndList(t *testing.T, doc string) error {
	t.Helper()
	m, err := ParseMPD(mustURL(t, mpdBase), []byte(doc))
	if err != nil {
		return err
	}
	for _, r := range append(m.Video, m.Audio...) {
		if _, err := r.Parts(); err != nil {
			return err
		}
	}
	return nil
}

// TestParseMPDTimelineTemplate: ffmpeg's shape — a SegmentTemplate per
// representation with a SegmentTimeline (t, d, r), $RepresentationID$ and
// a padded $Number$ — expands to the init segment and every segment.
func TestParseMPDTimelineTemplate(t *testing.T) {
	m := parseMPD(t, `<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT0H0M9.0S">
 <Period id="0" start="PT0.0S">
  <AdaptationSet id="0" contentType="video">
   <Representation id="0" mimeType="video/mp4" codecs="avc1.640028" bandwidth="900000" width="1280" height="720">
    <SegmentTemplate timescale="1000" initialization="init-stream$RepresentationID$.m4s" media="chunk-stream$RepresentationID$-$Number%05d$.m4s" startNumber="1">
     <SegmentTimeline><S t="0" d="2000" r="3"/><S d="1000"/></SegmentTimeline>
    </SegmentTemplate>
   </Representation>
  </AdaptationSet>
  <AdaptationSet id="1" contentType="audio">
   <Representation id="1" mimeType="audio/mp4" codecs="mp4a.40.2" bandwidth="128000">
    <SegmentTemplate timescale="48000" initialization="init-stream$RepresentationID$.m4s" media="a/$Time$.m4s">
     <SegmentTimeline><S t="0" d="96000" r="-1"/></SegmentTimeline>
    </SegmentTemplate>
   </Representation>
  </AdaptationSet>
  <AdaptationSet id="2" mimeType="text/vtt"><Representation id="s" bandwidth="1"><BaseURL>subs.vtt</BaseURL></Representation></AdaptationSet>
 </Period>
</MPD>`)
	require.Equal(t, 9.0, m.Duration)
	require.Len(t, m.Video, 1)
	require.Len(t, m.Audio, 1, "the subtitle stream is left out")
	require.True(t, m.Text, "the manifest has subtitles")
	v := m.Video[0]
	require.Equal(t, "mp4", v.Ext)
	require.Equal(t, []string{
		"https://cdn.example/show/ep1/init-stream0.m4s",
		"https://cdn.example/show/ep1/chunk-stream0-00001.m4s",
		"https://cdn.example/show/ep1/chunk-stream0-00002.m4s",
		"https://cdn.example/show/ep1/chunk-stream0-00003.m4s",
		"https://cdn.example/show/ep1/chunk-stream0-00004.m4s",
		"https://cdn.example/show/ep1/chunk-stream0-00005.m4s",
	}, partURLs(t, v))
	a := m.Audio[0]
	require.Equal(t, "m4a", a.Ext)
	// r="-1" repeats to the period's end: 9 s of 2 s segments is 5.
	require.Equal(t, []string{
		"https://cdn.example/show/ep1/init-stream1.m4s",
		"https://cdn.example/show/ep1/a/0.m4s",
		"https://cdn.example/show/ep1/a/96000.m4s",
		"https://cdn.example/show/ep1/a/192000.m4s",
		"https://cdn.example/show/ep1/a/288000.m4s",
		"https://cdn.example/show/ep1/a/384000.m4s",
	}, partURLs(t, a))
}

// TestParseMPDNumberedTemplateAndBaseURLs: a numbered template on the
// adaptation set (duration, startNumber) that a representation completes,
// $Bandwidth$, $$, and BaseURLs nested from the MPD down.
func TestParseMPDNumberedTemplateAndBaseURLs(t *testing.T) {
	m := parseMPD(t, `<MPD type="static" mediaPresentationDuration="PT7S">
 <BaseURL>https://media.example/root/</BaseURL>
 <Period><BaseURL>p1/</BaseURL>
  <AdaptationSet mimeType="video/webm" width="640" height="360">
   <SegmentTemplate timescale="10" duration="20" startNumber="5" media="$RepresentationID$/$Bandwidth$-$Number%03d$$$.webm"/>
   <Representation id="lo" bandwidth="300000"><SegmentTemplate initialization="$RepresentationID$/init.webm"/></Representation>
   <Representation id="hi" bandwidth="900000" width="1920" height="1080"><BaseURL>/abs/</BaseURL>
    <SegmentTemplate initialization="$RepresentationID$/init.webm"/></Representation>
  </AdaptationSet>
 </Period>
</MPD>`)
	require.Len(t, m.Video, 2)
	lo, hi := m.Video[0], m.Video[1]
	require.Equal(t, "webm", lo.Ext)
	require.Equal(t, 640, lo.Width)
	// 7 s of 2 s segments: 4, numbered from 5.
	require.Equal(t, []string{
		"https://media.example/root/p1/lo/init.webm",
		"https://media.example/root/p1/lo/300000-005$.webm",
		"https://media.example/root/p1/lo/300000-006$.webm",
		"https://media.example/root/p1/lo/300000-007$.webm",
		"https://media.example/root/p1/lo/300000-008$.webm",
	}, partURLs(t, lo))
	require.Equal(t, "https://media.example/abs/hi/init.webm", parts(t, hi)[0].URL.String())
	require.Equal(t, 1080, hi.Height)
}

// TestParseMPDSegmentListAndSingleFile: a SegmentList with byte ranges
// into one file, and a stream that is one whole file (SegmentBase).
func TestParseMPDSegmentListAndSingleFile(t *testing.T) {
	m := parseMPD(t, `<MPD type="static" mediaPresentationDuration="PT4S"><Period>
 <AdaptationSet mimeType="video/mp4">
  <Representation id="v" bandwidth="1" width="320" height="240"><BaseURL>v.mp4</BaseURL>
   <SegmentList><Initialization range="0-799"/>
    <SegmentURL mediaRange="800-1999"/><SegmentURL mediaRange="2000-2999"/></SegmentList>
  </Representation>
 </AdaptationSet>
 <AdaptationSet mimeType="audio/mp4">
  <Representation id="a" bandwidth="1"><BaseURL>https://other.example/a.m4a</BaseURL><SegmentBase indexRange="0-99"/></Representation>
 </AdaptationSet>
</Period></MPD>`)
	require.False(t, m.Text)
	v := parts(t, m.Video[0])
	require.Len(t, v, 3)
	for i, want := range [][2]int64{{0, 800}, {800, 1200}, {2000, 1000}} {
		require.Equal(t, "https://cdn.example/show/ep1/v.mp4", v[i].URL.String())
		require.Equal(t, want, [2]int64{v[i].Offset, v[i].Length}, "part %d", i)
	}
	a := parts(t, m.Audio[0])
	require.Len(t, a, 1)
	require.Equal(t, "https://other.example/a.m4a", a[0].URL.String())
	require.Zero(t, a[0].Length, "the whole file")
}

// TestParseMPDLeavesToYtdlpWhatItDoesNotRead: live, multi-period, DRM,
// unknown template identifiers and malformed XML go to yt-dlp.
func TestParseMPDLeavesToYtdlpWhatItDoesNotRead(t *testing.T) {
	rep := `<Representation id="v" mimeType="video/mp4" bandwidth="1"><SegmentTemplate media="$Number$.m4s" duration="1"/></Representation>`
	for name, doc := range map[string]string{
		"live":      `<MPD type="dynamic"><Period><AdaptationSet>` + rep + `</AdaptationSet></Period></MPD>`,
		"periods":   `<MPD type="static" mediaPresentationDuration="PT2S"><Period duration="PT1S"><AdaptationSet>` + rep + `</AdaptationSet></Period><Period duration="PT1S"><AdaptationSet>` + rep + `</AdaptationSet></Period></MPD>`,
		"drm":       `<MPD type="static" mediaPresentationDuration="PT2S"><Period><AdaptationSet><ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011"/>` + rep + `</AdaptationSet></Period></MPD>`,
		"unknown $": `<MPD type="static" mediaPresentationDuration="PT2S"><Period><AdaptationSet><Representation id="v" mimeType="video/mp4" bandwidth="1"><SegmentTemplate media="$SubNumber$.m4s" duration="1"/></Representation></AdaptationSet></Period></MPD>`,
		"no length": `<MPD type="static"><Period><AdaptationSet>` + rep + `</AdaptationSet></Period></MPD>`,
		"nothing":   `<MPD type="static" mediaPresentationDuration="PT2S"><Period><AdaptationSet mimeType="text/vtt"><Representation id="s"><BaseURL>s.vtt</BaseURL></Representation></AdaptationSet></Period></MPD>`,
		"not xml":   `#EXTM3U`,
		"html":      `<html><body>not a manifest</body></html>`,
	} {
		err := parseAndList(t, doc)
		require.True(t, IsNotNative(err), "%s: %v", name, err)
	}
}

// TestParseMPDRefusesHostileManifests: a timeline that repeats a billion
// times fails clearly (before any memory goes to it), as does a stream
// named by a scheme riptide never fetches.
func TestParseMPDRefusesHostileManifests(t *testing.T) {
	for name, doc := range map[string]string{
		"repeats": `<MPD type="static" mediaPresentationDuration="PT2S"><Period><AdaptationSet><Representation id="v" mimeType="video/mp4" bandwidth="1">
<SegmentTemplate media="$Number$.m4s"><SegmentTimeline><S t="0" d="1" r="1000000000"/></SegmentTimeline></SegmentTemplate></Representation></AdaptationSet></Period></MPD>`,
		"file scheme": `<MPD type="static" mediaPresentationDuration="PT2S"><BaseURL>file:///etc/</BaseURL><Period><AdaptationSet><Representation id="v" mimeType="video/mp4" bandwidth="1"><BaseURL>passwd</BaseURL></Representation></AdaptationSet></Period></MPD>`,
	} {
		err := parseAndList(t, doc)
		require.Error(t, err, name)
		require.False(t, IsNotNative(err), "%s goes to yt-dlp: %v", name, err)
		appErr, ok := err.(*temporal.ApplicationError)
		require.True(t, ok, "%s: %T %v", name, err, err)
		require.Equal(t, workflows.ErrTypeUnsupported, appErr.Type(), name)
		require.True(t, appErr.NonRetryable(), name)
	}
}

// TestManifestPick: the video under max_resolution's cap with the highest
// bandwidth (the smallest when none fits) plus the best audio; the audio
// alone for an audio format.
func TestManifestPick(t *testing.T) {
	m := &Manifest{
		Video: []Representation{{ID: "360", Height: 360, Width: 640, Bandwidth: 1}, {ID: "1080", Height: 1080, Width: 1920, Bandwidth: 5},
			{ID: "720", Height: 720, Width: 1280, Bandwidth: 3}, {ID: "vertical", Height: 1280, Width: 720, Bandwidth: 4}},
		Audio: []Representation{{ID: "lo", Bandwidth: 64}, {ID: "hi", Bandwidth: 128}},
	}
	ids := func(rs []Representation) (out []string) {
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	for _, c := range []struct {
		max   int
		audio bool
		want  []string
	}{
		{0, false, []string{"1080", "hi"}},
		{720, false, []string{"vertical", "hi"}},
		{480, false, []string{"360", "hi"}},
		{100, false, []string{"360", "hi"}},
		{0, true, []string{"hi"}},
	} {
		got, ok := m.Pick(c.max, c.audio)
		require.True(t, ok)
		require.Equal(t, c.want, ids(got), "max %d audio %v", c.max, c.audio)
	}
	_, ok := (&Manifest{Video: m.Video}).Pick(0, true)
	require.False(t, ok, "an audio format from a manifest without audio")
	got, ok := (&Manifest{Video: m.Video}).Pick(0, false)
	require.True(t, ok)
	require.Equal(t, []string{"1080"}, ids(got))
}

// TestLoadDASHReadsWhatFfmpegWrites: a manifest ffmpeg's dash muxer
// writes, served on loopback, names exactly the files ffmpeg wrote.
func TestLoadDASHReadsWhatFfmpegWrites(t *testing.T) {
	ff, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg not installed")
	}
	dir := t.TempDir()
	out, err := exec.Command(ff, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10",
		"-f", "lavfi", "-i", "sine=frequency=440", "-t", "7", "-c:v", "libx264", "-g", "10", "-c:a", "aac",
		"-f", "dash", "-seg_duration", "2", "-adaptation_sets", "id=0,streams=v id=1,streams=a",
		filepath.Join(dir, "stream.mpd")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	srv := loopback(t, http.FileServer(http.Dir(dir)))
	m, err := LoadDASH(context.Background(), http.DefaultClient, nil, mustURL(t, srv.URL+"/stream.mpd"))
	require.NoError(t, err)
	require.InDelta(t, 7.0, m.Duration, 0.2)
	written, err := filepath.Glob(filepath.Join(dir, "*.m4s"))
	require.NoError(t, err)
	var named []string
	for _, r := range append(m.Video, m.Audio...) {
		for _, p := range parts(t, r) {
			require.True(t, strings.HasPrefix(p.URL.String(), srv.URL+"/"), p.URL.String())
			named = append(named, filepath.Join(dir, strings.TrimPrefix(p.URL.Path, "/")))
		}
	}
	require.ElementsMatch(t, written, named)
	for _, f := range named {
		_, err := os.Stat(f)
		require.NoError(t, err)
	}
	require.Len(t, m.Video, 1)
	require.Len(t, m.Audio, 1)
	require.Equal(t, 120, m.Video[0].Height)
}

// TestParseMPDListsOnlyThePickedStreams: a 2 MiB manifest of 300 streams
// of 99,999 segments each (30 million parts, gigabytes if listed) parses
// in a few megabytes; only the two streams picked are listed.
func TestParseMPDListsOnlyThePickedStreams(t *testing.T) {
	var b strings.Builder
	b.WriteString(`<MPD type="static" mediaPresentationDuration="PT27H"><Period><AdaptationSet mimeType="video/mp4">`)
	for i := range 300 {
		fmt.Fprintf(&b, `<Representation id="v%d" bandwidth="%d" width="1280" height="720"><SegmentTemplate media="$RepresentationID$/$Number$.m4s"><SegmentTimeline><S t="0" d="1" r="99998"/></SegmentTimeline></SegmentTemplate></Representation>`, i, i)
	}
	b.WriteString(`</AdaptationSet><AdaptationSet mimeType="audio/mp4"><Representation id="a" bandwidth="1"><SegmentTemplate media="a/$Number$.m4s" duration="1"/></Representation></AdaptationSet></Period></MPD>`)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m, err := ParseMPD(mustURL(t, mpdBase), []byte(b.String()))
	require.NoError(t, err)
	runtime.ReadMemStats(&after)
	require.Len(t, m.Video, 300)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), "parsing allocated %d MiB", (after.TotalAlloc-before.TotalAlloc)>>20)
	picked, ok := m.Pick(0, false)
	require.True(t, ok)
	require.Equal(t, "v299", picked[0].ID)
	require.Len(t, parts(t, picked[0]), 99_999)
	require.Len(t, parts(t, picked[1]), 27*3600)
}
