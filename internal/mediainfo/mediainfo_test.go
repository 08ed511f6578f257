package mediainfo

import "testing"

func TestContainerOf(t *testing.T) {
	const isoBMFF = "mov,mp4,m4a,3gp,3g2,mj2"
	for _, tc := range []struct {
		format, brand, ext string
		codecs             []string
		want               string
	}{
		{isoBMFF, "isom", "mp4", []string{"h264", "aac"}, "mp4"},
		{isoBMFF, "mp42", "bin", []string{"h264"}, "mp4"},
		{isoBMFF, "qt  ", "mov", []string{"prores"}, "mov"},
		{isoBMFF, "M4A ", "m4a", []string{"aac"}, "m4a"},
		{isoBMFF, "3gp4", "mp4", []string{"h263"}, ""}, // 3GP is not MP4
		{isoBMFF, "", "mp4", []string{"h264"}, ""},     // no brand: not certain
		{"matroska,webm", "", "mkv", []string{"h264", "aac"}, "mkv"},
		{"matroska,webm", "", "webm", []string{"vp9", "opus"}, "webm"},
		{"matroska,webm", "", "webm", []string{"h264", "opus"}, ""}, // not a valid WebM
		{"matroska,webm", "", "bin", []string{"vp9"}, ""},
		{"mp3", "", "mp3", []string{"mp3"}, "mp3"},
		{"avi", "", "avi", []string{"mpeg4"}, ""},
	} {
		codecs := map[string]bool{}
		for _, c := range tc.codecs {
			codecs[c] = true
		}
		if got := ContainerOf(tc.format, tc.brand, tc.ext, codecs); got != tc.want {
			t.Errorf("ContainerOf(%q, %q, %q, %v) = %q, want %q", tc.format, tc.brand, tc.ext, tc.codecs, got, tc.want)
		}
	}
}

func TestNormalizeDate(t *testing.T) {
	for in, want := range map[string]string{
		"2021-04-05":                "2021-04-05T00:00:00Z",
		"20210405":                  "2021-04-05T00:00:00Z",
		"2021-04-05T10:20:30+02:00": "2021-04-05T08:20:30Z",
		"2021-04-05T10:20:30.5Z":    "2021-04-05T10:20:30Z",
		"2021-04-05 10:20:30":       "2021-04-05T10:20:30Z",
		"2021":                      "",
		"last tuesday":              "",
		"":                          "",
	} {
		if got := NormalizeDate(in); got != want {
			t.Errorf("NormalizeDate(%q) = %q, want %q", in, got, want)
		}
	}
}
