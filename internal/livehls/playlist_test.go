package livehls

import (
	"errors"
	"net/url"
	"testing"
)

var base, _ = url.Parse("https://cdn.example/live/master.m3u8?token=1")

func TestParseMaster(t *testing.T) {
	doc := `#EXTM3U
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English, main",DEFAULT=YES,URI="audio/en.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2",AUDIO="aud"
360.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=1280x720,AUDIO="aud"
720.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=5000000,RESOLUTION=1920x1080
https://other.example/1080.m3u8
`
	master, media, err := Parse(base, []byte(doc))
	if err != nil || media != nil || master == nil || len(master.Variants) != 3 {
		t.Fatalf("master %+v media %+v err %v", master, media, err)
	}
	for _, c := range []struct {
		max  int
		want string
	}{
		{0, "https://other.example/1080.m3u8"},
		{720, "https://cdn.example/live/720.m3u8"},
		{240, "https://cdn.example/live/360.m3u8"}, // none fits: the smallest
	} {
		if got := master.PickVariant(c.max).URI.String(); got != c.want {
			t.Errorf("PickVariant(%d) = %s, want %s", c.max, got, c.want)
		}
	}
	v := master.PickVariant(720)
	if a := master.AudioFor(v); a == nil || a.String() != "https://cdn.example/live/audio/en.m3u8" {
		t.Errorf("AudioFor = %v", a)
	}
	if a := master.AudioFor(master.PickVariant(0)); a != nil {
		t.Errorf("AudioFor(variant without group) = %v", a)
	}
}

func TestParseVerticalVariant(t *testing.T) {
	doc := "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=9,RESOLUTION=1080x1920\nv.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=720x1280\ns.m3u8\n"
	master, _, err := Parse(base, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if got := master.PickVariant(1080).URI.Path; got != "/live/v.m3u8" {
		t.Fatalf("a 1080x1920 variant is 1080 on its shorter side; got %s", got)
	}
}

func TestParseMedia(t *testing.T) {
	doc := `#EXTM3U
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:41
#EXT-X-PLAYLIST-TYPE:EVENT
#EXT-X-KEY:METHOD=NONE
#EXTINF:2.002,
a.ts
#EXTINF:1.5,title
b.ts
`
	_, m, err := Parse(base, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if !m.Live() || m.TargetDuration != 2 || len(m.Segments) != 2 || m.Segments[1].Seq != 42 ||
		m.Segments[1].Duration != 1.5 || m.Segments[0].URI.String() != "https://cdn.example/live/a.ts" {
		t.Fatalf("%+v", m)
	}
	_, m, _ = Parse(base, []byte(doc+"#EXT-X-ENDLIST\n"))
	if m.Live() {
		t.Fatal("a playlist with ENDLIST is not live")
	}
	_, m, _ = Parse(base, []byte("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:2,\na.ts\n"))
	if m.Live() {
		t.Fatal("a VOD playlist is not live")
	}
}

func TestParseRefuses(t *testing.T) {
	for name, doc := range map[string]string{
		"encrypted":      "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-KEY:METHOD=AES-128,URI=\"k\"\n#EXTINF:2,\na.ts\n",
		"byte ranges":    "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n#EXT-X-BYTERANGE:100@0\na.ts\n",
		"changing map":   "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI=\"i1.mp4\"\n#EXTINF:2,\na.m4s\n#EXT-X-MAP:URI=\"i2.mp4\"\n#EXTINF:2,\nb.m4s\n",
		"other scheme":   "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nfile:///etc/passwd\n",
		"not a playlist": "<html>",
	} {
		_, _, err := Parse(base, []byte(doc))
		if _, ok := errors.AsType[*UnsupportedError](err); !ok && !(name == "not a playlist" && errors.Is(err, ErrNotPlaylist)) {
			t.Errorf("%s: err %v", name, err)
		}
	}
}
