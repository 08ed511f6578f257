package ytdlp

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"time"

	"github.com/riptide-dev/riptide/internal/failure"
	"github.com/riptide-dev/riptide/internal/mediainfo"
	"github.com/riptide-dev/riptide/workflows"
)

// Playlist lists the entries of a playlist or channel without resolving
// each one (--flat-playlist). Titles and descriptions are as yt-dlp gives
// them, not shortened.
func (r Runner) Playlist(ctx context.Context, showURL string) ([]workflows.Episode, error) {
	var raw bytes.Buffer
	err := r.Run(ctx, &raw, noProgress,
		"--ignore-config", "--flat-playlist", "--yes-playlist", "-J", "--", showURL)
	if err != nil {
		return nil, err
	}
	var info playlistInfo
	if err := json.Unmarshal(raw.Bytes(), &info); err != nil {
		return nil, failure.Technical(err, "yt-dlp printed unreadable JSON: %v", err)
	}
	var eps []workflows.Episode
	info.collect(&eps, 0)
	if info.Type != "playlist" && info.Type != "multi_video" && len(eps) == 0 {
		return nil, failure.Permanent(workflows.ErrTypeUnsupported, "%s is a single item, not a show, playlist or feed", showURL)
	}
	return eps, nil
}

// playlistInfo is the part of yt-dlp's flat playlist JSON riptide uses.
// Channels nest playlists (videos, shorts, ...) one level deep.
type playlistInfo struct {
	Type        string         `json:"_type"`
	URL         string         `json:"url"`
	WebpageURL  string         `json:"webpage_url"`
	Title       string         `json:"title"`
	Description string         `json:"description"`
	UploadDate  string         `json:"upload_date"`
	Timestamp   float64        `json:"timestamp"`
	Entries     []playlistInfo `json:"entries"`
}

func (p *playlistInfo) collect(eps *[]workflows.Episode, depth int) {
	for i := range p.Entries {
		e := &p.Entries[i]
		if len(e.Entries) > 0 && depth < 2 {
			e.collect(eps, depth+1)
			continue
		}
		u := e.URL
		if e.WebpageURL != "" {
			u = e.WebpageURL
		}
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") {
			continue
		}
		date := ""
		if e.Timestamp > 0 {
			date = time.Unix(int64(e.Timestamp), 0).UTC().Format(time.RFC3339)
		} else {
			date = mediainfo.NormalizeDate(e.UploadDate)
		}
		*eps = append(*eps, workflows.Episode{URL: u, Title: e.Title, Description: e.Description, ReleaseDate: date})
	}
}
