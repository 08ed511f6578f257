// Package subscriptions holds the pure parts of subscriptions (issue #16):
// episode identities, the seen set, backfill and the sweep's plan.
package subscriptions

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/riptide-dev/riptide/internal/sources"
	"github.com/riptide-dev/riptide/workflows"
)

// Identity prefixes. A seen set holds each listed episode's identity and,
// for feed items, its enclosure URL too ("url:..."), so an item whose GUID
// changes while its enclosure stays is recognised.
const (
	guidPrefix    = "guid:"
	urlPrefix     = "url:"
	spotifyPrefix = "spotify:"
	videoPrefix   = "video:"
)

// Identity is an episode's identity: the feed item's GUID, else its
// enclosure URL; the episode ID for Spotify; the extractor and video ID
// for yt-dlp playlists and channels (else, for the generic extractor, the
// video's URL).
func Identity(ep workflows.Episode) string {
	if ep.GUID != "" {
		return guidPrefix + ep.GUID
	}
	if ep.VideoID != "" {
		return videoPrefix + ep.VideoID
	}
	if id, ok := sources.SpotifyEpisodeID(ep.URL); ok {
		return spotifyPrefix + id
	}
	return urlPrefix + ep.URL
}

// Backfill is a parsed backfill value.
type Backfill struct {
	Mode   string // "all", "none", "latest", "since"
	Latest int
	Since  time.Time
}

// MaxLatest bounds latest:N.
const MaxLatest = 100_000

// ParseBackfill reads "all" | "none" | "latest:N" | "since:YYYY-MM-DD";
// empty is "all".
func ParseBackfill(s string) (Backfill, error) {
	switch {
	case s == "" || s == workflows.BackfillAll:
		return Backfill{Mode: "all"}, nil
	case s == workflows.BackfillNone:
		return Backfill{Mode: "none"}, nil
	case strings.HasPrefix(s, "latest:"):
		n, err := strconv.Atoi(strings.TrimPrefix(s, "latest:"))
		if err != nil || n < 1 || n > MaxLatest {
			return Backfill{}, fmt.Errorf("latest:N needs N between 1 and %d", MaxLatest)
		}
		return Backfill{Mode: "latest", Latest: n}, nil
	case strings.HasPrefix(s, "since:"):
		t, err := time.Parse(time.DateOnly, strings.TrimPrefix(s, "since:"))
		if err != nil {
			return Backfill{}, fmt.Errorf("since: needs a date as YYYY-MM-DD")
		}
		return Backfill{Mode: "since", Since: t}, nil
	}
	return Backfill{}, fmt.Errorf(`backfill must be "all", "none", "latest:N" or "since:YYYY-MM-DD"`)
}

// Seen is the stored seen set.
type Seen struct {
	Identities []string `json:"identities"`
	// Episodes counts the distinct episodes ever listed (Identities also
	// holds feed items' enclosure URLs).
	Episodes int `json:"episodes"`
}

// Encode is the stored form (sorted, so equal sets are equal bytes) and
// its SHA-256.
func (s Seen) Encode() (body []byte, digest string, err error) {
	ids := slices.Clone(s.Identities)
	sort.Strings(ids)
	ids = slices.Compact(ids)
	body, err = json.Marshal(Seen{Identities: ids, Episodes: s.Episodes})
	sum := sha256.Sum256(body)
	return body, hex.EncodeToString(sum[:]), err
}

// Options tune a plan.
type Options struct {
	SubscriptionID string
	// First: the subscription's first planned sweep; Backfill applies.
	First    bool
	Backfill Backfill
	// Redownload: a feed item whose GUID was seen under another enclosure
	// URL is new again.
	Redownload bool
	// Filename, when set, is each episode's filename with its short job
	// ID (workflows.EpisodeFilename).
	Filename string
}

// Plan is a sweep's plan.
type Plan struct {
	New     []workflows.Episode
	Skipped int
	Seen    Seen
	Changed bool
}

// Make plans a sweep: which of the listed episodes are new (each with its
// job ID), and the seen set afterwards (the old one and everything listed:
// an episode removed from the source stays seen, so it is not downloaded
// again if it comes back).
func Make(listed []workflows.Episode, seen Seen, o Options) Plan {
	set := make(map[string]bool, len(seen.Identities)+2*len(listed))
	for _, id := range seen.Identities {
		set[id] = true
	}
	before := len(set)
	var p Plan
	candidates := make([]workflows.Episode, 0, len(listed))
	thisListing := map[string]bool{}
	for _, ep := range listed {
		id := Identity(ep)
		urlKey := urlPrefix + ep.URL
		isNew := !set[id] && !set[urlKey]
		if set[id] && !set[urlKey] && ep.GUID != "" && o.Redownload {
			// Same GUID, new enclosure, and the subscription asked for it.
			isNew = true
			id = id + "|" + urlKey
		}
		if thisListing[id] {
			// One item with several enclosures: each is its own episode.
			id = id + "|" + urlKey
			isNew = isNew && !set[id]
		}
		thisListing[id] = true
		if !isNew {
			continue
		}
		{
			ep.JobID = workflows.SubscriptionEpisodeJobID(o.SubscriptionID, id)
			if o.Filename != "" {
				ep.Filename = workflows.EpisodeFilename(o.Filename, ep.JobID)
			}
			candidates = append(candidates, ep)
		}
	}
	if o.First {
		candidates = backfill(candidates, o.Backfill)
	}
	p.New = candidates
	p.Skipped = len(listed) - len(p.New)
	p.Seen.Episodes = seen.Episodes
	for id := range thisListing {
		if !set[id] {
			p.Seen.Episodes++
		}
	}
	for _, ep := range listed {
		set[Identity(ep)] = true
		set[urlPrefix+ep.URL] = true
	}
	for id := range thisListing {
		set[id] = true
	}
	p.Changed = len(set) != before
	p.Seen.Identities = make([]string, 0, len(set))
	for id := range set {
		p.Seen.Identities = append(p.Seen.Identities, id)
	}
	sort.Strings(p.Seen.Identities)
	return p
}

// backfill keeps what the first sweep downloads of eps (the new episodes,
// in listing order).
func backfill(eps []workflows.Episode, b Backfill) []workflows.Episode {
	switch b.Mode {
	case "none":
		return nil
	case "latest":
		if len(eps) <= b.Latest {
			return eps
		}
		order := slices.Clone(eps)
		if allDated(order) {
			// Newest first by release date; the listing's order breaks ties.
			sort.SliceStable(order, func(i, j int) bool { return releaseTime(order[i]).After(releaseTime(order[j])) })
		}
		// Without dates: the listing's order, newest first as feeds and
		// channels list.
		return order[:b.Latest]
	case "since":
		var out []workflows.Episode
		for _, ep := range eps {
			// An episode without a date cannot be shown recent: not
			// downloaded (it is seen all the same).
			if t := releaseTime(ep); !t.IsZero() && !t.Before(b.Since) {
				out = append(out, ep)
			}
		}
		return out
	}
	return eps
}

func allDated(eps []workflows.Episode) bool {
	for _, ep := range eps {
		if releaseTime(ep).IsZero() {
			return false
		}
	}
	return true
}

func releaseTime(ep workflows.Episode) time.Time {
	t, err := time.Parse(time.RFC3339, ep.ReleaseDate)
	if err != nil {
		return time.Time{}
	}
	return t
}
