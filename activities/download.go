package activities

import (
	"context"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// heartbeatInterval is how often the downloaders report progress. A var so
// tests can shorten it.
var heartbeatInterval = time.Second

// headTimeout bounds the HEAD request that sniffs a URL's content type.
const headTimeout = 15 * time.Second

// directMediaExts are the URL path extensions fetched natively without
// asking the server first.
var directMediaExts = map[string]bool{
	".mp4": true, ".m4v": true, ".mkv": true, ".webm": true, ".mov": true,
	".m4a": true, ".mp3": true, ".ogg": true, ".oga": true, ".opus": true,
	".wav": true, ".flac": true, ".aac": true,
}

// manifestTypes are playlist formats served under audio/ or video/ types.
// They need yt-dlp to fetch their segments; the application/ manifest types
// (vnd.apple.mpegurl, x-mpegurl, dash+xml) never look like media anyway.
var manifestTypes = map[string]bool{
	"audio/mpegurl":           true,
	"audio/x-mpegurl":         true,
	"video/vnd.mpeg.dash.mpd": true,
}

// Download fetches the media at in.URL into the job directory: natively when
// the URL is a media file, otherwise through yt-dlp.
func (a *Activities) Download(ctx context.Context, in DownloadInput) (*DownloadResult, error) {
	u, err := url.Parse(in.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, permanent(ErrTypeInvalidInput, "not an http(s) URL: %q", in.URL)
	}
	if id, ok := SpotifyEpisodeID(in.URL); ok {
		// Never downloadable: the outcome is the skip (or lookup) error.
		return nil, a.spotifyEpisodeOutcome(ctx, id)
	}
	// jobDir keeps only the base name; these would make it the work
	// directory itself or its parent, which Cleanup then deletes.
	switch filepath.Base(in.JobID) {
	case ".", "..", string(filepath.Separator):
		return nil, permanent(ErrTypeInvalidInput, "invalid job ID %q", in.JobID)
	}
	dir := a.jobDir(in.JobID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, technical(err, "creating job directory: %v", err)
	}
	if err := a.ensureDiskSpace(dir, 0); err != nil {
		return nil, err
	}
	if a.isDirectMedia(ctx, u) {
		return a.downloadHTTP(ctx, dir, u)
	}
	return a.downloadYtdlp(ctx, dir, in)
}

// isDirectMedia tells whether u names a media file rather than a web page or
// a streaming manifest.
func (a *Activities) isDirectMedia(ctx context.Context, u *url.URL) bool {
	switch ext := strings.ToLower(path.Ext(u.Path)); {
	case directMediaExts[ext]:
		return true
	case ext == ".m3u8" || ext == ".mpd":
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, headTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u.String(), nil)
	if err != nil {
		return false
	}
	resp, err := a.HTTP.Do(req)
	if err != nil {
		// yt-dlp fetches the URL again and reports what went wrong in words
		// classifyYtdlpError understands.
		return false
	}
	resp.Body.Close()
	return resp.StatusCode/100 == 2 && isMediaType(resp.Header.Get("Content-Type"))
}

// isMediaType tells whether a Content-Type is audio or video content.
func isMediaType(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || manifestTypes[mt] {
		return false
	}
	return strings.HasPrefix(mt, "video/") || strings.HasPrefix(mt, "audio/")
}
