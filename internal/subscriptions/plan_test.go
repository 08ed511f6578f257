package subscriptions

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/workflows"
)

const subID = "0b7f6a4e-2a5c-4c59-9d59-0d3d8c8f1a11"

func ep(i int) workflows.Episode {
	return workflows.Episode{
		URL: fmt.Sprintf("https://feed.example/ep/%d.mp3", i), GUID: fmt.Sprintf("guid-%d", i),
		Title: fmt.Sprintf("Episode %d", i), ReleaseDate: fmt.Sprintf("2026-01-%02dT06:00:00Z", i+1),
	}
}

// listing is a feed of n episodes, newest first.
func listing(n int) []workflows.Episode {
	var eps []workflows.Episode
	for i := n - 1; i >= 0; i-- {
		eps = append(eps, ep(i))
	}
	return eps
}

func titles(eps []workflows.Episode) []string {
	var out []string
	for _, e := range eps {
		out = append(out, e.Title)
	}
	return out
}

func TestIdentity(t *testing.T) {
	require.Equal(t, "guid:g", Identity(workflows.Episode{GUID: "g", URL: "https://x.example/a.mp3"}))
	require.Equal(t, "url:https://x.example/a.mp3", Identity(workflows.Episode{URL: "https://x.example/a.mp3"}))
	require.Equal(t, "video:Youtube:abc", Identity(workflows.Episode{VideoID: "Youtube:abc", URL: "https://www.youtube.com/watch?v=abc"}))
	require.Equal(t, "spotify:4rOoJ6Egrf8K2IrywzwOMk", Identity(workflows.Episode{URL: "https://open.spotify.com/episode/4rOoJ6Egrf8K2IrywzwOMk"}))
	// The job ID is the subscription's and the identity's, nothing else.
	a := workflows.SubscriptionEpisodeJobID(subID, "guid:g")
	require.Equal(t, a, workflows.SubscriptionEpisodeJobID(subID, "guid:g"))
	require.NotEqual(t, a, workflows.SubscriptionEpisodeJobID(subID, "guid:h"))
	require.NotEqual(t, a, workflows.SubscriptionEpisodeJobID("1b7f6a4e-2a5c-4c59-9d59-0d3d8c8f1a11", "guid:g"))
}

func TestNewEpisodesOnlyAndStableJobIDs(t *testing.T) {
	p1 := Make(listing(2), Seen{}, Options{SubscriptionID: subID, First: true, Backfill: Backfill{Mode: "all"}})
	require.Len(t, p1.New, 2)
	require.Equal(t, 2, p1.Seen.Episodes)
	p2 := Make(listing(5), p1.Seen, Options{SubscriptionID: subID})
	require.Equal(t, []string{"Episode 4", "Episode 3", "Episode 2"}, titles(p2.New))
	require.Equal(t, 2, p2.Skipped)
	require.Equal(t, 5, p2.Seen.Episodes)
	// Planned again (a retried sweep on the same base): the same job IDs.
	again := Make(listing(5), p1.Seen, Options{SubscriptionID: subID})
	for i := range again.New {
		require.Equal(t, p2.New[i].JobID, again.New[i].JobID)
	}
	// Unchanged feed: nothing new, seen set unchanged.
	p3 := Make(listing(5), p2.Seen, Options{SubscriptionID: subID})
	require.Empty(t, p3.New)
	require.False(t, p3.Changed)
	_, d2, _ := p2.Seen.Encode()
	_, d3, _ := p3.Seen.Encode()
	require.Equal(t, d2, d3)
}

func TestRemovedEpisodeThatReturnsIsSeen(t *testing.T) {
	p := Make(listing(3), Seen{}, Options{SubscriptionID: subID, First: true, Backfill: Backfill{Mode: "all"}})
	p = Make(listing(1), p.Seen, Options{SubscriptionID: subID})
	require.Empty(t, p.New)
	p = Make(listing(3), p.Seen, Options{SubscriptionID: subID})
	require.Empty(t, p.New, "episodes removed and back are not downloaded again")
}

func TestGUIDAndEnclosureChanges(t *testing.T) {
	p := Make(listing(2), Seen{}, Options{SubscriptionID: subID, First: true, Backfill: Backfill{Mode: "all"}})
	changed := listing(2)
	changed[0].GUID = "new-guid"                          // same enclosure
	changed[1].URL = "https://cdn.example/moved/ep-0.mp3" // same GUID
	q := Make(changed, p.Seen, Options{SubscriptionID: subID})
	require.Empty(t, q.New, "GUID change with the same enclosure, enclosure change with the same GUID: seen")
	r := Make(changed, p.Seen, Options{SubscriptionID: subID, Redownload: true})
	require.Equal(t, []string{"Episode 0"}, titles(r.New), "the moved enclosure, when asked for")
	require.NotEqual(t, p.New[1].JobID, r.New[0].JobID, "a new job, not the first one's ID")
	// And only once.
	s := Make(changed, r.Seen, Options{SubscriptionID: subID, Redownload: true})
	require.Empty(t, s.New)
}

func TestSeveralEnclosuresOfOneItem(t *testing.T) {
	a, b := ep(0), ep(0)
	b.URL = "https://feed.example/ep/0-part2.mp3"
	p := Make([]workflows.Episode{a, b}, Seen{}, Options{SubscriptionID: subID, First: true, Backfill: Backfill{Mode: "all"}})
	require.Len(t, p.New, 2)
	require.NotEqual(t, p.New[0].JobID, p.New[1].JobID)
	require.Empty(t, Make([]workflows.Episode{a, b}, p.Seen, Options{SubscriptionID: subID}).New)
}

func TestBackfillVariants(t *testing.T) {
	for _, c := range []struct {
		backfill string
		want     []string
	}{
		{"all", []string{"Episode 3", "Episode 2", "Episode 1", "Episode 0"}},
		{"none", nil},
		{"latest:1", []string{"Episode 3"}},
		{"latest:2", []string{"Episode 3", "Episode 2"}},
		{"latest:10", []string{"Episode 3", "Episode 2", "Episode 1", "Episode 0"}},
		{"since:2026-01-03", []string{"Episode 3", "Episode 2"}},
		{"since:2027-01-01", nil},
	} {
		bf, err := ParseBackfill(c.backfill)
		require.NoError(t, err, c.backfill)
		p := Make(listing(4), Seen{}, Options{SubscriptionID: subID, First: true, Backfill: bf})
		require.Equal(t, c.want, titles(p.New), c.backfill)
		require.Equal(t, 4, p.Seen.Episodes, "%s: everything listed is seen", c.backfill)
		require.Equal(t, 4-len(c.want), p.Skipped, c.backfill)
		// Backfill applies to the first sweep only.
		next := Make(listing(5), p.Seen, Options{SubscriptionID: subID, Backfill: bf})
		require.Equal(t, []string{"Episode 4"}, titles(next.New), c.backfill)
	}
	// latest:N picks by date, whatever the listing's order.
	shuffled := []workflows.Episode{ep(1), ep(3), ep(0), ep(2)}
	p := Make(shuffled, Seen{}, Options{SubscriptionID: subID, First: true, Backfill: Backfill{Mode: "latest", Latest: 2}})
	require.Equal(t, []string{"Episode 3", "Episode 2"}, titles(p.New))
	for _, bad := range []string{"some", "latest:0", "latest:x", "since:2026-13-01", "since:"} {
		_, err := ParseBackfill(bad)
		require.Error(t, err, bad)
	}
}

// TestTenThousandEpisodes: a 10,000-episode back catalogue plans in one
// pass and its seen set stays small (it is one object in the bucket).
func TestTenThousandEpisodes(t *testing.T) {
	eps := listing(10_000)
	p := Make(eps, Seen{}, Options{SubscriptionID: subID, First: true, Backfill: Backfill{Mode: "all"}})
	require.Len(t, p.New, 10_000)
	body, _, err := p.Seen.Encode()
	require.NoError(t, err)
	require.Less(t, len(body), 2<<20, "seen set of 10,000 episodes")
	ids := map[string]bool{}
	for _, e := range p.New {
		ids[e.JobID] = true
	}
	require.Len(t, ids, 10_000)
	require.Empty(t, Make(eps, p.Seen, Options{SubscriptionID: subID}).New)
}
