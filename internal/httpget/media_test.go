package httpget

import "testing"

func TestIsMediaType(t *testing.T) {
	for ct, want := range map[string]bool{
		"video/mp4":                     true,
		"Audio/MPEG; charset=binary":    true,
		"audio/mpegurl":                 false,
		"application/vnd.apple.mpegurl": false,
		"application/x-mpegurl":         false,
		"application/dash+xml":          false,
		"text/html; charset=utf-8":      false,
		"":                              false,
	} {
		if got := isMediaType(ct); got != want {
			t.Errorf("isMediaType(%q) = %v, want %v", ct, got, want)
		}
	}
}

// requireTool returns the path of an external program, skipping the test
// when it is missing unless RIPTIDE_REQUIRE_INTEGRATION=1.
