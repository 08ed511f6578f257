//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/activities"
	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/workflows"
)

// spotifyEpisodes is the size of the fake Spotify show: more than one page
// of 50, so the resolver pages.
const spotifyEpisodes = 60

// fakeSpotify is a stand-in for the Spotify Web API and accounts service on
// loopback, serving what riptide calls: POST /api/token, GET
// /v1/shows/{id}/episodes (pages with next links) and GET /v1/episodes/{id}.
// Every tenth episode is externally hosted; the first page answers 429 once.
type fakeSpotify struct {
	mu        sync.Mutex
	base      string
	throttled bool
	tokens    int
	pages     int
}

func (f *fakeSpotify) episode(i int) map[string]any {
	return map[string]any{"id": fmt.Sprintf("e2eEp%03d", i), "name": fmt.Sprintf("Spotify Episode %d", i),
		"description": "not used", "release_date": fmt.Sprintf("2025-12-%02d", 1+i%28), "release_date_precision": "day",
		"is_externally_hosted": i%10 == 9, "type": "episode"}
}

func (f *fakeSpotify) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/api/token" {
		id, secret, ok := r.BasicAuth()
		if !ok || id != stack.cfg.Spotify.ClientID || secret != stack.cfg.Spotify.ClientSecret {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		f.tokens++
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "e2e-token", "token_type": "Bearer", "expires_in": 3600})
		return
	}
	if r.Header.Get("Authorization") != "Bearer e2e-token" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if id, ok := strings.CutPrefix(r.URL.Path, "/v1/episodes/"); ok {
		var i int
		if _, err := fmt.Sscanf(id, "e2eEp%03d", &i); err != nil || i >= spotifyEpisodes {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(f.episode(i))
		return
	}
	if r.URL.Path != "/v1/shows/e2eShow/episodes" {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if !f.throttled {
		f.throttled = true
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	f.pages++
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	end := min(offset+limit, spotifyEpisodes)
	items := []any{}
	for i := offset; i < end; i++ {
		items = append(items, f.episode(i))
	}
	var next any
	if end < spotifyEpisodes {
		next = fmt.Sprintf("%s/v1/shows/e2eShow/episodes?offset=%d&limit=%d&market=%s", f.base, end, limit, r.URL.Query().Get("market"))
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"items": items, "next": next, "total": spotifyEpisodes})
}

// TestSpotifyShowBatchSkipsEveryEpisode runs a 60-episode Spotify show,
// listed from the fake Web API (two pages, a 429 on the way), through the
// HTTP API: every episode ends Skipped with a job_skipped webhook (the
// hosted service's reason for Spotify-hosted ones), nothing is stored, and
// batch_completed comes once with every episode counted failed. A Spotify
// episode URL sent alone to POST /jobs is skipped the same way.
func TestSpotifyShowBatchSkipsEveryEpisode(t *testing.T) {
	requireStack(t)
	ctx := context.Background()
	base := batchAPI(t)
	hooks := &receiver{}
	hookSrv := serve(hooks)
	defer hookSrv.Close()
	folder := "e2e/spotify-" + uuid.NewString()[:8]

	created := post(t, base, "/jobs", map[string]any{"url": "https://open.spotify.com/intl-de/show/e2eShow?si=x",
		"webhook_url": hookSrv.URL + "/hook", "folder": folder})
	batchID, _ := created["batch_id"].(string)
	require.NotEmpty(t, batchID, "a show URL starts a batch: %v", created)
	require.Equal(t, float64(spotifyEpisodes), created["total_episodes"], "%v", created)

	b := waitBatchCompleted(t, hooks, 4*time.Minute)
	require.Equal(t, batchID, b["batch_id"])
	require.Equal(t, "finished", b["status"])
	require.Equal(t, float64(spotifyEpisodes), b["total_episodes"])
	require.Equal(t, float64(0), b["completed_episodes"])
	require.Equal(t, float64(spotifyEpisodes), b["failed_episodes"])
	stack.spotify.mu.Lock()
	require.GreaterOrEqual(t, stack.spotify.pages, 2, "the show was paged")
	stack.spotify.mu.Unlock()

	for i := range spotifyEpisodes {
		jobID := workflows.EpisodeJobID(batchID, i)
		var terminal []delivery
		for _, d := range hooks.forJob(jobID) {
			if d.Body["type"] != "progress" {
				terminal = append(terminal, d)
			}
		}
		require.Len(t, terminal, 1, "episode %d", i)
		d := terminal[0]
		require.Equal(t, "job_skipped", d.Body["type"], "episode %d: %v", i, d.Body)
		require.Equal(t, "skipped", d.Body["status"])
		require.Equal(t, fmt.Sprintf("https://open.spotify.com/episode/e2eEp%03d", i), d.Body["url"])
		want := activities.SpotifySkipReason
		if i%10 == 9 {
			want = activities.SpotifyExternalSkipReason
		}
		require.Equal(t, want, d.Body["reason"], "episode %d", i)
		v, err := jobs.Get(ctx, stack.temporal, jobID)
		require.NoError(t, err)
		require.Equal(t, workflows.StatusSkipped, v.Status)
	}
	require.Empty(t, listSizes(t, folder+"/"), "nothing downloaded")
	// One episode alone: the same outcome as in the batch.
	one := post(t, base, "/jobs", map[string]any{"url": "https://open.spotify.com/episode/e2eEp001?si=y", "webhook_url": hookSrv.URL + "/hook"})
	jobID, _ := one["job_id"].(string)
	require.NotEmpty(t, jobID, "an episode URL is a job: %v", one)
	d := hooks.waitTerminal(t, jobID, time.Minute)
	require.Equal(t, "job_skipped", d.Body["type"])
	require.Equal(t, activities.SpotifySkipReason, d.Body["reason"])
}
