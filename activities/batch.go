package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mmcdole/gofeed"
	"github.com/riptide-dev/riptide/internal/sources"
	"github.com/riptide-dev/riptide/workflows"
)

// ManifestStore keeps batch manifests: the episode list of a batch lives in
// one JSON object, never in workflow history. *storage.Store satisfies it.
type ManifestStore interface {
	PutObject(ctx context.Context, key string, body []byte, contentType string) error
	GetObject(ctx context.Context, key string) ([]byte, error)
}

// Limits of what one episode carries, so a page of episodes stays small in
// the workflow history whatever a feed holds.
const (
	maxFeedBytes         = 64 << 20
	maxEpisodeTitle      = 500
	maxEpisodeDesc       = 2000
	maxEpisodesPerSource = 100_000
	feedProbeTimeout     = time.Minute
)

// Manifest is the stored episode list of a batch.
type Manifest struct {
	ShowURL  string              `json:"show_url"`
	Source   string              `json:"source"`
	Episodes []workflows.Episode `json:"episodes"`
}

// ResolveBatch lists the episodes of a show, playlist or feed URL and
// stores them as the batch's manifest. It is idempotent: a retry lists the
// source again and overwrites the same object.
func (a *Activities) ResolveBatch(ctx context.Context, in workflows.ResolveBatchInput) (*workflows.ResolveBatchResult, error) {
	if a.Manifests == nil {
		return nil, permanent(workflows.ErrTypeInvalidInput, "this worker has no manifest store")
	}
	m, err := a.resolve(ctx, in.ShowURL)
	if err != nil {
		return nil, err
	}
	if len(m.Episodes) > maxEpisodesPerSource {
		return nil, permanent(workflows.ErrTypeInvalidInput, "%s lists %d episodes; at most %d fit in a batch",
			in.ShowURL, len(m.Episodes), maxEpisodesPerSource)
	}
	body, err := json.Marshal(m)
	if err != nil {
		return nil, permanent(workflows.ErrTypeInvalidInput, "encoding manifest: %v", err)
	}
	key := workflows.ManifestKey(in.BatchID)
	if err := a.Manifests.PutObject(ctx, key, body, "application/json"); err != nil {
		return nil, technical(err, "storing manifest: %v", err)
	}
	a.manifests().put(key, m)
	return &workflows.ResolveBatchResult{ManifestKey: key, Total: len(m.Episodes), Source: m.Source}, nil
}

// BatchEpisodes returns up to Limit episodes of a manifest from Offset.
func (a *Activities) BatchEpisodes(ctx context.Context, in workflows.BatchEpisodesInput) ([]workflows.Episode, error) {
	if in.Offset < 0 || in.Limit <= 0 {
		return nil, permanent(workflows.ErrTypeInvalidInput, "offset %d and limit %d", in.Offset, in.Limit)
	}
	m, err := a.loadManifest(ctx, in.ManifestKey)
	if err != nil {
		return nil, err
	}
	if in.Offset >= len(m.Episodes) {
		return nil, nil
	}
	return m.Episodes[in.Offset:min(in.Offset+in.Limit, len(m.Episodes))], nil
}

func (a *Activities) loadManifest(ctx context.Context, key string) (*Manifest, error) {
	if m := a.manifests().get(key); m != nil {
		return m, nil
	}
	if a.Manifests == nil {
		return nil, permanent(workflows.ErrTypeInvalidInput, "this worker has no manifest store")
	}
	body, err := a.Manifests.GetObject(ctx, key)
	if err != nil {
		return nil, technical(err, "reading manifest %s: %v", key, err)
	}
	var m Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, permanent(workflows.ErrTypeInvalidInput, "manifest %s is not valid: %v", key, err)
	}
	a.manifests().put(key, &m)
	return &m, nil
}

// resolve picks the lister: a feed when the URL or the answer's content
// type says so, yt-dlp for everything else (playlists, channels).
func (a *Activities) resolve(ctx context.Context, showURL string) (*Manifest, error) {
	if id, ok := sources.SpotifyShowID(showURL); ok {
		return a.spotifyManifest(ctx, showURL, id)
	}
	if sources.IsSpotifyURL(showURL) {
		return nil, permanent(workflows.ErrTypeUnsupported, "%s is not a Spotify show URL (https://open.spotify.com/show/<id>)", showURL)
	}
	if !sources.IsPlaylistHost(showURL) {
		feed, err := a.fetchFeed(ctx, showURL)
		if err != nil {
			return nil, err
		}
		if feed != nil {
			return feedManifest(showURL, feed)
		}
	}
	return a.ytdlpPlaylist(ctx, showURL)
}

// fetchFeed GETs u and parses it when it is a feed. It returns nil, nil
// when u answers with something else, so yt-dlp gets its turn.
func (a *Activities) fetchFeed(ctx context.Context, u string) (*gofeed.Feed, error) {
	ctx, cancel := context.WithTimeout(ctx, feedProbeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, permanent(workflows.ErrTypeInvalidInput, "show_url %q: %v", u, err)
	}
	req.Header.Set("Accept", "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5")
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return nil, technical(err, "fetching %s: %v", u, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, permanent(workflows.ErrTypeNotFound, "HTTP %s fetching %s", resp.Status, u)
	case resp.StatusCode >= 400:
		return nil, technical(fmt.Errorf("status %d", resp.StatusCode), "HTTP %s fetching %s", resp.Status, u)
	}
	if !sources.LooksLikeFeedURL(u) && !sources.IsFeedContentType(resp.Header.Get("Content-Type")) {
		// Peek: many servers label feeds text/plain or octet-stream.
		head := make([]byte, 512)
		n, _ := io.ReadFull(resp.Body, head)
		if !looksLikeFeedBody(head[:n]) {
			return nil, nil
		}
		return parseFeed(io.MultiReader(bytes.NewReader(head[:n]), resp.Body), u)
	}
	return parseFeed(resp.Body, u)
}

func parseFeed(r io.Reader, u string) (*gofeed.Feed, error) {
	feed, err := gofeed.NewParser().Parse(io.LimitReader(r, maxFeedBytes))
	if err != nil {
		return nil, permanent(workflows.ErrTypeUnsupported, "%s is not a readable RSS or Atom feed: %v", u, err)
	}
	return feed, nil
}

// feedManifest makes one episode per enclosure, oldest items keep feed order.
func feedManifest(showURL string, feed *gofeed.Feed) (*Manifest, error) {
	m := &Manifest{ShowURL: showURL, Source: "feed"}
	base, _ := url.Parse(showURL)
	for _, it := range feed.Items {
		date := ""
		switch {
		case it.PublishedParsed != nil:
			date = it.PublishedParsed.UTC().Format(time.RFC3339)
		case it.UpdatedParsed != nil:
			date = it.UpdatedParsed.UTC().Format(time.RFC3339)
		}
		desc := it.Description
		if desc == "" && it.ITunesExt != nil {
			desc = it.ITunesExt.Summary
		}
		for _, enc := range it.Enclosures {
			if enc == nil || strings.TrimSpace(enc.URL) == "" {
				continue
			}
			ref, err := url.Parse(strings.TrimSpace(enc.URL))
			if err != nil {
				continue
			}
			if base != nil {
				ref = base.ResolveReference(ref)
			}
			if ref.Scheme != "http" && ref.Scheme != "https" {
				continue
			}
			m.Episodes = append(m.Episodes, workflows.Episode{
				URL:         ref.String(),
				Title:       truncate(strings.TrimSpace(it.Title), maxEpisodeTitle),
				Description: truncate(strings.TrimSpace(desc), maxEpisodeDesc),
				ReleaseDate: date,
			})
		}
	}
	return m, nil
}

// ytdlpPlaylist lists a playlist or channel with yt-dlp without resolving
// each entry (--flat-playlist).
func (a *Activities) ytdlpPlaylist(ctx context.Context, showURL string) (*Manifest, error) {
	var raw bytes.Buffer
	err := a.runYtdlp(ctx, &raw, func() workflows.Progress { return workflows.Progress{} },
		"--ignore-config", "--flat-playlist", "--yes-playlist", "-J", "--", showURL)
	if err != nil {
		return nil, err
	}
	var info ytdlpPlaylistInfo
	if err := json.Unmarshal(raw.Bytes(), &info); err != nil {
		return nil, technical(err, "yt-dlp printed unreadable JSON: %v", err)
	}
	m := &Manifest{ShowURL: showURL, Source: "ytdlp"}
	info.collect(m, 0)
	if info.Type != "playlist" && info.Type != "multi_video" && len(m.Episodes) == 0 {
		return nil, permanent(workflows.ErrTypeUnsupported, "%s is a single item, not a show, playlist or feed", showURL)
	}
	return m, nil
}

// ytdlpPlaylistInfo is the part of yt-dlp's flat playlist JSON riptide uses.
// Channels nest playlists (videos, shorts, ...) one level deep.
type ytdlpPlaylistInfo struct {
	Type        string              `json:"_type"`
	URL         string              `json:"url"`
	WebpageURL  string              `json:"webpage_url"`
	Title       string              `json:"title"`
	Description string              `json:"description"`
	UploadDate  string              `json:"upload_date"`
	Timestamp   float64             `json:"timestamp"`
	Entries     []ytdlpPlaylistInfo `json:"entries"`
}

func (p *ytdlpPlaylistInfo) collect(m *Manifest, depth int) {
	for i := range p.Entries {
		e := &p.Entries[i]
		if len(e.Entries) > 0 && depth < 2 {
			e.collect(m, depth+1)
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
			date = normalizeDate(e.UploadDate)
		}
		m.Episodes = append(m.Episodes, workflows.Episode{
			URL: u, Title: truncate(e.Title, maxEpisodeTitle),
			Description: truncate(e.Description, maxEpisodeDesc), ReleaseDate: date,
		})
	}
}

func looksLikeFeedBody(b []byte) bool {
	s := strings.ToLower(string(b))
	return strings.Contains(s, "<rss") || strings.Contains(s, "<feed") || strings.Contains(s, "<rdf:rdf")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}

// manifestCache keeps the last few manifests a worker read, so paging
// through a 10,000-episode batch does not fetch the object once per page.
type manifestCache struct {
	mu    sync.Mutex
	keys  []string
	items map[string]*Manifest
}

const manifestCacheSize = 8

func (a *Activities) manifests() *manifestCache {
	a.cacheOnce.Do(func() { a.cache = &manifestCache{items: map[string]*Manifest{}} })
	return a.cache
}

func (c *manifestCache) get(key string) *Manifest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.items[key]
}

func (c *manifestCache) put(key string, m *Manifest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[key]; !ok {
		c.keys = append(c.keys, key)
	}
	c.items[key] = m
	for len(c.keys) > manifestCacheSize {
		delete(c.items, c.keys[0])
		c.keys = c.keys[1:]
	}
}
