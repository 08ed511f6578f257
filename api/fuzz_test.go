package api

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/riptide-dev/riptide/internal/formats"
	"github.com/riptide-dev/riptide/internal/netguard"
)

// FuzzDecodeJobRequest: any body either becomes a 4xx naming what is wrong,
// or a job input that passes every check again on its own.
func FuzzDecodeJobRequest(f *testing.F) {
	for _, s := range []string{
		`{"url":"https://example.com/v"}`,
		`{"url":"https://example.com/v","webhook_url":"https://h.example/x","folder":"a/b","format":"mkv","enable_progress_webhook":true,"download_subtitles":true}`,
		`{"url":"http://127.0.0.1/"}`, `{"url":"http://[::ffff:a9fe:a9fe]/"}`, `{"folder":"../x","url":"https://e.x/"}`,
		`{"url":"https://example.com/v","audio_only":true,"max_resolution":"720p","filename":"a.mkv","download_thumbnail":true,"clip_start":"00:00:01.5","clip_end":9,"max_duration":60}`,
		`{"url":"https://e.x/","format":"opus","max_resolution":1080,"filename":"..","clip_end":0,"max_duration":1.5}`,
		`{"url":"https://e.x/","audio_only":true,"format":"mov","filename":"a\u202e","clip_start":"99:99:99","max_resolution":1e400}`,
		`{"url":"https://e.x/","max_resolution":"best","clip_start":"90","clip_end":"01:30:00.25"}`,
		`{"url":"https://e.x/","max_resolution":"720","clip_start":"01:30","clip_end":"00:60"}`,
		`{"url":"https://e.x/","video_codec":"copy","audio_codec":"aac","paused":false,"live_recording":true,"storage":{}}`,
		`{"url":5}`, `null`, `[]`, `{"url":"https://e.x/"} x`, "{\"url\":\"https://e.x/\u202e\"}", `{"url":"http://0x7f.1/"}`,
	} {
		f.Add([]byte(s))
	}
	guard := netguard.New(nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		in, e := decodeJobRequest(bytes.NewReader(body), guard)
		if e != nil {
			if e.Status < 400 || e.Status >= 500 || e.Code == "" || e.Message == "" {
				t.Fatalf("bad error %+v", e)
			}
			return
		}
		if in.URL == "" || checkURL("url", in.URL, guard) != nil {
			t.Fatalf("accepted url %q", in.URL)
		}
		if in.WebhookURL != "" && checkURL("webhook_url", in.WebhookURL, guard) != nil {
			t.Fatalf("accepted webhook_url %q", in.WebhookURL)
		}
		if folder, e := cleanFolder(in.Folder); e != nil || folder != in.Folder {
			t.Fatalf("accepted folder %q", in.Folder)
		}
		if !slices.Contains(formats.Names(), in.Format) {
			t.Fatalf("accepted format %q", in.Format)
		}
		o := in.JobOptions
		if o.MaxHeight != 0 && !slices.Contains(resolutions, o.MaxHeight) {
			t.Fatalf("accepted max height %d", o.MaxHeight)
		}
		if o.Filename != "" {
			if name, e := cleanFilename(o.Filename, in.Format, in.Folder); e != nil || name != o.Filename ||
				!strings.HasSuffix(strings.ToLower(name), "."+in.Format) || strings.ContainsAny(name, `/\`) || strings.Contains(name, "..") {
				t.Fatalf("accepted filename %q for format %s", o.Filename, in.Format)
			}
		}
		if o.ClipStart < 0 || o.ClipStart > maxSeconds || o.ClipEnd < 0 || o.ClipEnd > maxSeconds || (o.ClipEnd != 0 && o.ClipEnd <= o.ClipStart) {
			t.Fatalf("accepted clip %g-%g", o.ClipStart, o.ClipEnd)
		}
		if o.MaxDuration < 0 || o.MaxDuration > maxSeconds {
			t.Fatalf("accepted max duration %d", o.MaxDuration)
		}
	})
}

// FuzzParseClipTimeString: an accepted clip time string is one of the three
// documented forms, and reads as a whole number of milliseconds or less in
// [0, 1000 days).
func FuzzParseClipTimeString(f *testing.F) {
	for _, s := range []string{"90", "90.5", "01:30", "1:30.25", "01:02:03", "01:02:03.5", "00:60", "1:2:3:4", "-1", "9e1", "", "."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := parseClipTimeString(s)
		if !ok {
			return
		}
		if strings.Count(s, ":") > 2 || strings.ContainsFunc(s, func(r rune) bool { return !strings.ContainsRune("0123456789:.", r) }) {
			t.Fatalf("accepted %q", s)
		}
		if v < 0 || v >= 1000*24*3600 {
			t.Fatalf("%q read as %g", s, v)
		}
	})
}

// FuzzCleanFolder: an accepted folder is a relative key prefix that cannot
// climb out of, or disguise, its place in the bucket.
func FuzzCleanFolder(f *testing.F) {
	for _, s := range []string{"", "a", "a/", "a/b", "../x", "a/../b", "/abs", `a\b`, "a//b", "é/ü", "a\u202eb", ".", "a/."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, e := cleanFolder(s)
		if e != nil {
			if e.Field != "folder" || e.Status != 400 {
				t.Fatalf("bad error %+v", e)
			}
			return
		}
		if got == "" {
			if s != "" {
				t.Fatalf("%q cleaned to nothing", s)
			}
			return
		}
		if strings.HasPrefix(got, "/") || strings.HasSuffix(got, "/") || strings.Contains(got, `\`) ||
			strings.ContainsFunc(got, func(r rune) bool { return unicode.IsControl(r) || invisible(r) }) {
			t.Fatalf("%q cleaned to %q", s, got)
		}
		for seg := range strings.SplitSeq(got, "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("%q cleaned to %q", s, got)
			}
		}
	})
}
