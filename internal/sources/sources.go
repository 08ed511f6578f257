// Package sources classifies source URLs by their text alone: Spotify shows
// and episodes, YouTube playlists and channels, feed-looking paths and
// feed content types. It does no I/O, so the API can check a request with
// the same rules the worker lists it by.
package sources

import (
	"mime"
	"net/url"
	"path"
	"regexp"
	"strings"
)

var spotifyPathRE = regexp.MustCompile(`^/(?:intl-[a-zA-Z_-]+/)?(show|episode)/([0-9A-Za-z]{1,64})/?$`)

// spotifyID returns the kind ("show" or "episode") and ID of an
// open.spotify.com URL, with or without query string and intl-xx segment.
func spotifyID(raw string) (kind, id string, ok bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || strings.ToLower(u.Hostname()) != "open.spotify.com" {
		return "", "", false
	}
	m := spotifyPathRE.FindStringSubmatch(u.Path)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// SpotifyShowID returns the show ID of a Spotify show URL.
func SpotifyShowID(raw string) (string, bool) {
	kind, id, ok := spotifyID(raw)
	return id, ok && kind == "show"
}

// SpotifyEpisodeID returns the episode ID of a Spotify episode URL.
func SpotifyEpisodeID(raw string) (string, bool) {
	kind, id, ok := spotifyID(raw)
	return id, ok && kind == "episode"
}

// IsSpotifyURL reports open.spotify.com URLs, which need Spotify credentials.
func IsSpotifyURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && strings.ToLower(u.Hostname()) == "open.spotify.com"
}

// SpotifyEpisodeURL is the public URL of an episode.
func SpotifyEpisodeURL(id string) string { return "https://open.spotify.com/episode/" + id }

// IsPlaylistHost reports URLs that are listed with yt-dlp without asking
// the server first: YouTube playlists and channels.
func IsPlaylistHost(u string) bool {
	pu, err := url.Parse(u)
	if err != nil {
		return false
	}
	host := strings.TrimPrefix(strings.ToLower(pu.Hostname()), "www.")
	host = strings.TrimPrefix(host, "m.")
	if host != "youtube.com" && host != "music.youtube.com" {
		return false
	}
	p := pu.Path
	return p == "/playlist" || strings.HasPrefix(p, "/@") || strings.HasPrefix(p, "/channel/") ||
		strings.HasPrefix(p, "/c/") || strings.HasPrefix(p, "/user/")
}

// LooksLikeFeedURL reports URLs whose path names a feed.
func LooksLikeFeedURL(u string) bool {
	pu, err := url.Parse(u)
	if err != nil {
		return false
	}
	p := strings.ToLower(pu.Path)
	switch path.Ext(p) {
	case ".rss", ".atom", ".xml":
		return true
	}
	base := path.Base(p)
	return base == "feed" || base == "rss" || base == "atom" || strings.HasPrefix(pu.Hostname(), "feeds.")
}

// IsFeedContentType reports the Content-Types RSS and Atom feeds are served
// with.
func IsFeedContentType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch mt {
	case "application/rss+xml", "application/atom+xml", "application/xml", "text/xml", "application/x-rss+xml":
		return true
	}
	return false
}
