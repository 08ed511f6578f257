package sources

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSpotifyURLs(t *testing.T) {
	for raw, want := range map[string]string{
		"https://open.spotify.com/show/4rOoJ6Egrf8K2IrywzwOMk":                "show 4rOoJ6Egrf8K2IrywzwOMk",
		"https://open.spotify.com/show/4rOoJ6Egrf8K2IrywzwOMk?si=abc&nd=1":    "show 4rOoJ6Egrf8K2IrywzwOMk",
		"https://open.spotify.com/intl-de/show/4rOoJ6Egrf8K2IrywzwOMk":        "show 4rOoJ6Egrf8K2IrywzwOMk",
		"https://open.spotify.com/episode/329nSfeZ5vRoJooKsZh9kH":             "episode 329nSfeZ5vRoJooKsZh9kH",
		"https://OPEN.spotify.com/intl-pt-BR/episode/329nSfeZ5vRoJooKsZh9kH/": "episode 329nSfeZ5vRoJooKsZh9kH",
		"https://open.spotify.com/track/329nSfeZ5vRoJooKsZh9kH":               "",
		"https://open.spotify.com/show/../episode/x":                          "",
		"https://example.com/show/4rOoJ6Egrf8K2IrywzwOMk":                     "",
		"ftp://open.spotify.com/show/4rOoJ6Egrf8K2IrywzwOMk":                  "",
	} {
		kind, id, ok := spotifyID(raw)
		got := ""
		if ok {
			got = kind + " " + id
		}
		require.Equal(t, want, got, raw)
	}
}

func TestSourceDetection(t *testing.T) {
	for u, want := range map[string]bool{
		"https://www.youtube.com/playlist?list=PL1": true,
		"https://youtube.com/@channel":              true,
		"https://www.youtube.com/channel/UC1":       true,
		"https://www.youtube.com/watch?v=x":         false,
		"https://example.com/feed.xml":              false,
	} {
		if got := IsPlaylistHost(u); got != want {
			t.Errorf("IsPlaylistHost(%q) = %v", u, got)
		}
	}
	for u, want := range map[string]bool{
		"https://example.com/feed.xml":     true,
		"https://example.com/show.rss":     true,
		"https://example.com/podcast/feed": true,
		"https://feeds.example.com/abc":    true,
		"https://example.com/watch?v=1":    false,
		"https://example.com/ep.mp3":       false,
	} {
		if got := LooksLikeFeedURL(u); got != want {
			t.Errorf("LooksLikeFeedURL(%q) = %v", u, got)
		}
	}
}

func TestIsFeedContentType(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/rss+xml; charset=utf-8": true,
		"text/xml":                           true,
		"application/atom+xml":               true,
		"text/html":                          false,
		"":                                   false,
	} {
		require.Equal(t, want, IsFeedContentType(ct), ct)
	}
}
