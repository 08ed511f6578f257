package ytdlp

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/riptide-dev/riptide/internal/failure"
	"github.com/riptide-dev/riptide/internal/formats"
	"github.com/riptide-dev/riptide/workflows"
)

// Info is the part of yt-dlp's info JSON riptide uses.
type Info struct {
	Type        string `json:"_type"`
	Title       string `json:"title"`
	Description string `json:"description"`
	// UploadDate is YYYYMMDD; the timestamps are Unix seconds, 0 if unknown.
	UploadDate       string  `json:"upload_date"`
	ReleaseTimestamp float64 `json:"release_timestamp"`
	Timestamp        float64 `json:"timestamp"`
	Extractor        string  `json:"extractor"`
	ExtractorKey     string  `json:"extractor_key"`
	IsLive           bool    `json:"is_live"`
	// LiveStatus is "is_live", "is_upcoming", "was_live", "post_live",
	// "not_live" or "" (unknown).
	LiveStatus string `json:"live_status"`
	// Duration is in seconds, 0 when unknown.
	Duration   float64           `json:"duration"`
	Thumbnail  string            `json:"thumbnail"`
	Thumbnails []json.RawMessage `json:"thumbnails"`
	// The selected format, with ID "video+audio" when there are two;
	// RequestedFormats then lists them, video first.
	Format
	RequestedFormats []Format                   `json:"requested_formats"`
	Subtitles        map[string]json.RawMessage `json:"subtitles"`
}

// Format is one format of the info JSON; sizes are 0 when unknown.
type Format struct {
	FormatID       string  `json:"format_id"`
	Filesize       float64 `json:"filesize"`
	FilesizeApprox float64 `json:"filesize_approx"`
	// URL, Protocol and HTTPHeaders say where the format's media is: a
	// live one is recorded from there natively (activities/live.go).
	URL         string            `json:"url,omitempty"`
	Protocol    string            `json:"protocol,omitempty"`
	HTTPHeaders map[string]string `json:"http_headers,omitempty"`
	// Ext is the file extension yt-dlp gives the format.
	Ext string `json:"ext,omitempty"`
	// Fragments and FragmentBaseURL are a DASH format's segments
	// (protocol http_dash_segments), as yt-dlp read them from the MPD.
	Fragments       []Fragment `json:"fragments,omitempty"`
	FragmentBaseURL string     `json:"fragment_base_url,omitempty"`
}

// Fragment is one segment of a DASH format: a URL, or a path relative to
// the format's FragmentBaseURL.
type Fragment struct {
	URL      string  `json:"url,omitempty"`
	Path     string  `json:"path,omitempty"`
	Duration float64 `json:"duration,omitempty"`
}

// Live tells whether the source is live now.
func (i *Info) Live() bool { return i.IsLive || i.LiveStatus == "is_live" }

// Upcoming tells whether the source is a stream that has not started.
func (i *Info) Upcoming() bool { return i.LiveStatus == "is_upcoming" }

// LiveFormats are the selected formats, video first, with where to
// record them from.
func (i *Info) LiveFormats() []Format {
	if len(i.RequestedFormats) > 0 {
		return i.RequestedFormats
	}
	if i.FormatID != "" {
		return []Format{i.Format}
	}
	return nil
}

// IsUpcomingError tells whether err is yt-dlp's refusal of a scheduled
// stream or premiere that has not started ("This live event will begin in
// 3 hours", "Premieres in 10 minutes").
func IsUpcomingError(err error) bool {
	if err == nil {
		return false
	}
	msg := strings.ToLower(err.Error())
	for _, m := range []string{"live event will begin", "premieres in", "is_upcoming", "waiting for the stream", "scheduled to start"} {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

// Info extracts url's info JSON with the formats selector picks, and
// returns it raw and parsed. --flat-playlist keeps a playlist URL from
// resolving every entry just to be refused.
//
// Before anything is downloaded, it refuses an info JSON that would have
// yt-dlp fetch anything but http(s) (CheckInfoURLs; Run checks url).
func (r Runner) Info(ctx context.Context, url, selector string) ([]byte, *Info, error) {
	var raw bytes.Buffer
	err := r.Run(ctx, &raw, noProgress,
		"--ignore-config", "--no-playlist", "--flat-playlist", "-J", "-f", selector, "--", url)
	if err != nil {
		return nil, nil, err
	}
	var info Info
	if err := json.Unmarshal(raw.Bytes(), &info); err != nil {
		return nil, nil, failure.Technical(err, "parsing yt-dlp's info JSON: %v", err)
	}
	if err := CheckInfoURLs(raw.Bytes()); err != nil {
		return nil, nil, err
	}
	return raw.Bytes(), &info, nil
}

// FormatSelector picks what yt-dlp downloads: the best video and audio
// (apart or together) whose shorter side is at most MaxHeight (so a
// 1080×1920 vertical rendition counts as 1080), or the best audio alone.
// Renditions of unknown size count as fitting (<=?), and when every
// rendition is larger than MaxHeight the smallest one is taken rather than
// failing the job.
//
// yt-dlp's filters compare a field with a constant only, and a "/" takes
// the first alternative that matches anything, so "shorter side <= N"
// (height <= N or width <= N) is split in three alternatives that cannot
// shadow a better rendition of the same orientation: landscape renditions
// whose height fits but width does not, then portrait ones whose width
// fits but height does not, then those that fit both ways (small, square,
// or of unknown size).
func FormatSelector(in workflows.DownloadInput) string {
	switch {
	case formats.IsAudio(in.Format):
		// A source without an audio-only format: its best combined one,
		// whose audio Mux keeps.
		return "ba/b"
	case in.MaxHeight > 0:
		n := in.MaxHeight
		fits := []string{
			fmt.Sprintf("[height<=%d][width>%d]", n, n),
			fmt.Sprintf("[width<=%d][height>%d]", n, n),
			fmt.Sprintf("[height<=?%d][width<=?%d]", n, n),
		}
		var alts []string
		for _, f := range fits {
			alts = append(alts, "bv*"+f+"+ba")
		}
		for _, f := range fits {
			alts = append(alts, "b"+f)
		}
		return strings.Join(append(alts, "wv*+ba", "w"), "/")
	}
	return "bv*+ba/b"
}

// Formats returns the IDs of the formats to download, video first, with
// their expected sizes (0 when unknown).
func (i *Info) Formats() (ids []string, sizes []int64) {
	fs := i.RequestedFormats
	if len(fs) == 0 && i.FormatID != "" {
		fs = []Format{i.Format}
	}
	for _, f := range fs {
		ids = append(ids, f.FormatID)
		sizes = append(sizes, byteCount(cmp.Or(f.Filesize, f.FilesizeApprox)))
	}
	return ids, sizes
}

// MediaTitle is the title of the media, without what an extractor added.
func (i *Info) MediaTitle() string {
	if i.Extractor == "html5" {
		// The HTML5 embed extractor numbers a page's videos as
		// "<page title> (n)"; riptide only ever takes a page with one.
		return strings.TrimSuffix(i.Title, " (1)")
	}
	return i.Title
}

// ReleaseDate is when the media came out, in RFC 3339, or "".
func (i *Info) ReleaseDate() string {
	for _, ts := range []float64{i.ReleaseTimestamp, i.Timestamp} {
		if ts > 0 {
			return time.Unix(int64(ts), 0).UTC().Format(time.RFC3339)
		}
	}
	if t, err := time.Parse("20060102", i.UploadDate); err == nil {
		return t.Format(time.RFC3339)
	}
	return ""
}
