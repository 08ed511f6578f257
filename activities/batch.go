package activities

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/riptide-dev/riptide/internal/feeds"
	"github.com/riptide-dev/riptide/internal/metaclean"
	"github.com/riptide-dev/riptide/internal/sources"
	"github.com/riptide-dev/riptide/workflows"
)

// ManifestStore keeps batch manifests: the episode list of a batch lives in
// one JSON object, never in workflow history. *storage.Store satisfies it.
type ManifestStore interface {
	PutObject(ctx context.Context, key string, body []byte, contentType string) error
	GetObject(ctx context.Context, key string) ([]byte, error)
	// Keys and Delete let a sweep remove the seen sets no one reads.
	Keys(ctx context.Context, prefix string, limit int) ([]string, error)
	Delete(ctx context.Context, key string) error
}

// maxEpisodesPerSource bounds a batch. What one episode carries is bounded
// by metaclean's limits, as every job's metadata, so a page of episodes
// stays small in the workflow history whatever a feed holds.
const maxEpisodesPerSource = 100_000

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
	release, err := a.Listings.acquire(ctx)
	if err != nil {
		return nil, err
	}
	m, err := a.resolve(ctx, in.ShowURL)
	release()
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

// resolve lists the episodes of showURL and shortens what each carries to
// the manifest's limits.
func (a *Activities) resolve(ctx context.Context, showURL string) (*Manifest, error) {
	m, err := a.list(ctx, showURL)
	if err != nil {
		return nil, err
	}
	for i := range m.Episodes {
		e := &m.Episodes[i]
		// The episode's metadata becomes its job's (the workflow prefers
		// it to the media's tags): cleaned as Download cleans every job's.
		e.Title, e.Description = metaclean.Title(e.Title), metaclean.Description(e.Description)
	}
	return m, nil
}

// list picks the lister: a feed when the URL or the answer's content type
// says so, yt-dlp for everything else (playlists, channels).
func (a *Activities) list(ctx context.Context, showURL string) (*Manifest, error) {
	if id, ok := sources.SpotifyShowID(showURL); ok {
		return a.spotifyManifest(ctx, showURL, id)
	}
	if sources.IsSpotifyURL(showURL) {
		return nil, permanent(workflows.ErrTypeUnsupported, "%s is not a Spotify show URL (https://open.spotify.com/show/<id>)", showURL)
	}
	if !sources.IsPlaylistHost(showURL) {
		feed, err := feeds.Fetch(ctx, a.HTTP, showURL, feeds.Limits{MaxBytes: a.MaxFeedBytes, MaxItems: maxEpisodesPerSource})
		if err != nil {
			return nil, err
		}
		if feed != nil {
			return &Manifest{ShowURL: showURL, Source: "feed", Episodes: feeds.Episodes(showURL, feed)}, nil
		}
	}
	eps, err := a.ytdlp().Playlist(ctx, showURL, maxEpisodesPerSource)
	if err != nil {
		return nil, err
	}
	return &Manifest{ShowURL: showURL, Source: "ytdlp", Episodes: eps}, nil
}

// Listings bounds the batch listings one worker runs at once: each holds
// a feed document (up to its byte limit) or a playlist's episodes (up to
// maxEpisodesPerSource) in memory, and a yt-dlp listing is a process of
// its own. A nil *Listings does not bound them.
type Listings struct{ slots chan struct{} }

// NewListings allows n listings at once (n < 1: one).
func NewListings(n int) *Listings {
	return &Listings{slots: make(chan struct{}, max(n, 1))}
}

// acquire waits for a slot, or for ctx; release gives the slot back.
func (l *Listings) acquire(ctx context.Context) (release func(), err error) {
	if l == nil {
		return func() {}, nil
	}
	select {
	case l.slots <- struct{}{}:
		return func() { <-l.slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
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
