package httpget

import (
	"context"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

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

// mediaTypeExts names the files of common media types; mime's own table
// varies by system and lists several extensions for some of them.
var mediaTypeExts = map[string]string{
	"video/mp4":        "mp4",
	"video/x-m4v":      "m4v",
	"video/x-matroska": "mkv",
	"video/webm":       "webm",
	"video/quicktime":  "mov",
	"video/mp2t":       "ts",
	"audio/mp4":        "m4a",
	"audio/x-m4a":      "m4a",
	"audio/mpeg":       "mp3",
	"audio/ogg":        "ogg",
	"audio/opus":       "opus",
	"audio/webm":       "webm",
	"audio/wav":        "wav",
	"audio/x-wav":      "wav",
	"audio/wave":       "wav",
	"audio/flac":       "flac",
	"audio/x-flac":     "flac",
	"audio/aac":        "aac",
}

// IsMedia tells whether u names a media file rather than a web page or a
// streaming manifest: by its extension, else by the Content-Type client's
// HEAD request gets.
func IsMedia(ctx context.Context, client *http.Client, u *url.URL) bool {
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
	resp, err := client.Do(req)
	if err != nil {
		// yt-dlp fetches the URL again and reports what went wrong in words
		// internal/ytdlp understands.
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

// fileExt picks the extension of the downloaded file: the URL's when it is a
// known media one (a page like watch.php can serve video/mp4), else one for
// the Content-Type, else "bin".
func fileExt(u *url.URL, contentType string) string {
	if ext := strings.ToLower(path.Ext(u.Path)); directMediaExts[ext] {
		return ext[1:]
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "bin"
	}
	if ext, ok := mediaTypeExts[mt]; ok {
		return ext
	}
	if exts, _ := mime.ExtensionsByType(mt); len(exts) > 0 {
		return exts[0][1:]
	}
	return "bin"
}
