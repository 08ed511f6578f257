package activities

import (
	"context"
	"mime"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/riptide-dev/riptide/internal/sources"
	"github.com/riptide-dev/riptide/workflows"
	"go.temporal.io/sdk/activity"
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
func (a *Activities) Download(ctx context.Context, in workflows.DownloadInput) (*workflows.DownloadResult, error) {
	// jobDir keeps only the base name; these would make it the work
	// directory itself or its parent, which Cleanup then deletes.
	key := jobKey(in.JobID)
	switch key {
	case ".", "..", string(filepath.Separator):
		return nil, permanent(workflows.ErrTypeInvalidInput, "invalid job ID %q", in.JobID)
	}
	defer a.Holds.use(key)()
	if err := a.Holds.acquire(ctx, key); err != nil {
		return nil, err
	}
	res, err := a.download(ctx, in)
	if err != nil {
		if isFinal(ctx, err) {
			// The workflow cannot tell which worker to clean up after a
			// failed download, so the download does.
			_ = a.removeJobDir(in.JobID)
		} else {
			// The partial file stays for a retry that lands here (the
			// HTTP downloader resumes it); SweepWorkDir removes it if none
			// does. It holds no room meanwhile.
			a.Holds.release(key)
		}
		return nil, err
	}
	res.HostQueue = a.HostQueue
	res.NeedsMux = muxNeeded(workflows.MuxInput{
		Inputs: res.Files, Format: in.Format, Media: res.Media, ClipStart: in.ClipStart, ClipEnd: in.ClipEnd,
		Thumbnail: in.Thumbnail, ThumbnailPath: res.Thumbnail,
	})
	return res, nil
}

func (a *Activities) download(ctx context.Context, in workflows.DownloadInput) (*workflows.DownloadResult, error) {
	u, err := url.Parse(in.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, permanent(workflows.ErrTypeInvalidInput, "not an http(s) URL: %q", in.URL)
	}
	if id, ok := sources.SpotifyEpisodeID(in.URL); ok {
		// Never downloadable: the outcome is the skip (or lookup) error.
		return nil, a.spotifyEpisodeOutcome(ctx, id)
	}
	dir := a.jobDir(in.JobID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, technical(err, "creating job directory: %v", err)
	}
	if err := a.ensureDiskSpace(dir, 0); err != nil {
		return nil, err
	}
	if a.isDirectMedia(ctx, u) {
		return a.downloadDirect(ctx, dir, u, in.MaxDuration)
	}
	return a.downloadYtdlp(ctx, dir, in)
}

// downloadDirect fetches a media file natively. With a duration limit, it
// asks ffprobe how long the media is first (reading only its headers), and
// the downloaded file again when the headers did not say.
func (a *Activities) downloadDirect(ctx context.Context, dir string, u *url.URL, maxDuration int) (*workflows.DownloadResult, error) {
	known := false
	if maxDuration > 0 {
		d := a.probeURLDuration(ctx, u)
		if err := checkDuration(d, maxDuration); err != nil {
			return nil, err
		}
		known = d > 0
	}
	res, err := a.downloadHTTP(ctx, dir, u)
	if err != nil || maxDuration == 0 || known {
		return res, err
	}
	var d float64
	if res.Media != nil {
		d = res.Media.Duration // probed already
	}
	if err := checkDuration(d, maxDuration); err != nil {
		return nil, err
	}
	return res, nil
}

// probeURLDuration is the duration in seconds ffprobe reads from the media
// at u, 0 when it cannot tell. ffprobe connects on its own, so it only runs
// through the worker's guarded proxy, and only over HTTP(S).
func (a *Activities) probeURLDuration(ctx context.Context, u *url.URL) float64 {
	if a.YtdlpProxy == "" || a.Ffprobe == "" {
		return 0
	}
	// A slow server must not cost the activity its heartbeat. Repeat the
	// previous attempt's progress: a partial download resumes from it.
	var prev workflows.Progress
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &prev)
	}
	stop := heartbeatEvery(ctx, heartbeatInterval, func() workflows.Progress { return prev })
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, a.Ffprobe, "-v", "error",
		"-protocol_whitelist", "http,https,tcp,tls", "-http_proxy", a.YtdlpProxy,
		"-show_entries", "format=duration", "-of", "default=noprint_wrappers=1:nokey=1", "--", u.String()).Output()
	if err != nil {
		return 0
	}
	secs, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil || !(secs > 0) {
		return 0
	}
	return secs
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
