package activities

import (
	"cmp"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path"
	"strings"

	"github.com/riptide-dev/riptide/internal/ffmpeg"
	"github.com/riptide-dev/riptide/internal/httpget"
	"github.com/riptide-dev/riptide/workflows"
	"go.temporal.io/sdk/activity"
)

// FetchMetadata describes the media at in.URL without downloading it
// (POST /metadata). A media file is probed natively (ffprobe reads its
// headers through the guarded proxy: cheaper than starting yt-dlp, and it
// knows the file's duration and frame size, which yt-dlp's generic
// extractor does not); anything else, or a file ffprobe cannot read, is
// asked of yt-dlp (-J --skip-download), in the sandbox and behind the
// proxy like a download's. A playlist or feed is refused: its items each
// have their own metadata.
func (a *Activities) FetchMetadata(ctx context.Context, in workflows.MetadataInput) (*workflows.Metadata, error) {
	u, err := url.Parse(in.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, permanent(workflows.ErrTypeInvalidInput, "not an http(s) URL: %q", in.URL)
	}
	// The operator's cookie jar and an upstream proxy, as for a download.
	if a.Sites.Cookies != nil || a.Sites.Proxies.Len() > 0 {
		if err := os.MkdirAll(a.WorkDir, 0o755); err != nil {
			return nil, technical(err, "creating the work directory: %v", err)
		}
		dir, err := os.MkdirTemp(a.WorkDir, "metadata-")
		if err != nil {
			return nil, technical(err, "creating a metadata directory: %v", err)
		}
		defer os.RemoveAll(dir)
		var done func()
		ctx, done, err = a.prepareSite(ctx, dir, u, "", false)
		defer done()
		if err != nil {
			return nil, err
		}
	}
	proxy := a.YtdlpProxy
	if sn := siteNetOf(ctx); sn != nil {
		proxy = sn.ytdlpProxy
	}
	if httpget.IsMedia(ctx, a.httpFor(ctx), u) && proxy != "" && a.Ffprobe != "" {
		m, err := ffmpeg.ProbeURL(ctx, a.Ffprobe, proxy, u.String())
		if err == nil {
			return directMetadata(u, m), nil
		}
		activity.GetLogger(ctx).Info("Native probe failed; asking yt-dlp", "error", err)
	}
	raw, err := a.ytdlpFor(ctx).Metadata(ctx, in.URL)
	if err != nil {
		return nil, err
	}
	return ytdlpMetadata(in.URL, raw)
}

// directMetadata is a probed media file's metadata, named as yt-dlp's
// generic extractor names a direct link's: the file's name is its ID and,
// without a title tag, its title.
func directMetadata(u *url.URL, m *ffmpeg.URLMedia) *workflows.Metadata {
	name := path.Base(u.Path)
	if n, err := url.PathUnescape(name); err == nil {
		name = n
	}
	stem := strings.TrimSuffix(name, path.Ext(name))
	if stem == "" || stem == "/" || stem == "." {
		stem = u.Hostname()
	}
	md := &workflows.Metadata{
		Title:       ptr(cmp.Or(m.Title, stem)),
		Extractor:   ptr("generic"),
		Description: ptr(m.Description),
		ID:          ptr(stem),
		WebpageURL:  ptr(u.String()),
		Source:      "http",
	}
	if m.Duration > 0 {
		md.Duration = &m.Duration
	}
	if m.Width > 0 && m.Height > 0 {
		md.Width, md.Height = &m.Width, &m.Height
	}
	if m.Size > 0 {
		md.FilesizeApprox = &m.Size
	}
	if len(m.Date) >= 10 { // RFC 3339: YYYY-MM-DD...
		d := strings.ReplaceAll(m.Date[:10], "-", "")
		md.UploadDate = &d
	}
	return md
}

// ytdlpInfo is the part of yt-dlp's info JSON POST /metadata answers.
// Numbers are read as float64: yt-dlp writes some as integers or floats
// depending on the extractor.
type ytdlpInfo struct {
	Type       string   `json:"_type"`
	ID         string   `json:"id"`
	Title      string   `json:"title"`
	Duration   *float64 `json:"duration"`
	Width      *float64 `json:"width"`
	Height     *float64 `json:"height"`
	Extractor  string   `json:"extractor"`
	Uploader   string   `json:"uploader"`
	Thumbnail  string   `json:"thumbnail"`
	Thumbnails []struct {
		URL string `json:"url"`
	} `json:"thumbnails"`
	Description      string   `json:"description"`
	ViewCount        *float64 `json:"view_count"`
	LikeCount        *float64 `json:"like_count"`
	UploadDate       string   `json:"upload_date"`
	Filesize         *float64 `json:"filesize"`
	FilesizeApprox   *float64 `json:"filesize_approx"`
	WebpageURL       string   `json:"webpage_url"`
	IsLive           bool     `json:"is_live"`
	PlaylistCount    *float64 `json:"playlist_count"`
	RequestedFormats []struct {
		Filesize       *float64 `json:"filesize"`
		FilesizeApprox *float64 `json:"filesize_approx"`
	} `json:"requested_formats"`
}

func ytdlpMetadata(sourceURL string, raw []byte) (*workflows.Metadata, error) {
	var info ytdlpInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, technical(err, "parsing yt-dlp's info JSON: %v", err)
	}
	if info.Type == "playlist" || info.Type == "multi_video" {
		return nil, permanent(workflows.ErrTypeUnsupported,
			"%s is a playlist or feed, not a single video: POST /jobs or POST /batches downloads its episodes, and POST /metadata answers for each episode's URL", sourceURL)
	}
	if info.Extractor == "html5" {
		// As a download's title (ytdlp.Info.MediaTitle): the HTML5
		// extractor numbers a page's videos, and riptide takes one.
		info.Title = strings.TrimSuffix(info.Title, " (1)")
	}
	md := &workflows.Metadata{
		Title:       ptr(info.Title),
		Duration:    positive(info.Duration),
		Width:       count(info.Width),
		Height:      count(info.Height),
		Extractor:   ptr(info.Extractor),
		Uploader:    ptr(info.Uploader),
		Thumbnail:   ptr(info.Thumbnail),
		Description: ptr(info.Description),
		ViewCount:   count(info.ViewCount),
		LikeCount:   count(info.LikeCount),
		UploadDate:  ptr(info.UploadDate),
		ID:          ptr(info.ID),
		WebpageURL:  ptr(info.WebpageURL),
		IsLive:      info.IsLive,
		Source:      "ytdlp",
	}
	if md.Thumbnail == nil && len(info.Thumbnails) > 0 {
		// yt-dlp sorts thumbnails by preference, best last.
		md.Thumbnail = ptr(info.Thumbnails[len(info.Thumbnails)-1].URL)
	}
	md.FilesizeApprox = count(info.FilesizeApprox)
	if md.FilesizeApprox == nil {
		md.FilesizeApprox = count(info.Filesize)
	}
	if md.FilesizeApprox == nil && len(info.RequestedFormats) > 0 {
		var sum int64
		for _, f := range info.RequestedFormats {
			n := count(f.Filesize)
			if n == nil {
				n = count(f.FilesizeApprox)
			}
			if n == nil {
				sum = 0
				break
			}
			sum += *n
		}
		if sum > 0 {
			md.FilesizeApprox = &sum
		}
	}
	return md, nil
}

// maxCount bounds the numbers read from an info JSON (as fetch.go's
// byteCount does): a larger, negative or NaN one is unknown.
const maxCount = 1 << 53

func count(f *float64) *int64 {
	if f == nil || !(*f >= 0 && *f <= maxCount) {
		return nil
	}
	n := int64(*f)
	return &n
}

func positive(f *float64) *float64 {
	if f == nil || !(*f > 0 && *f <= maxCount) {
		return nil
	}
	return f
}

func ptr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
