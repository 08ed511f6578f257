package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/riptide-dev/riptide/workflows"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// fakeSpotify serves the Web API endpoints riptide calls: the token
// endpoint and a show's episodes (50 a page, with next links), on loopback.
type fakeSpotify struct {
	mu       sync.Mutex
	episodes []map[string]any
	tokens   int
	// expireAfter makes the current token answer 401 after this many
	// API calls; throttle makes the next n API calls answer 429.
	expireAfter int
	throttle    int
	calls       int
	token       string
	requests    []string
	srv         *httptest.Server
}

func newFakeSpotify(t *testing.T, n int) *fakeSpotify {
	f := &fakeSpotify{}
	for i := range n {
		ep := map[string]any{"id": fmt.Sprintf("ep%03d", i), "name": fmt.Sprintf("Episode %d", i),
			"release_date": "2026-01-19", "release_date_precision": "day", "is_externally_hosted": i%10 == 9}
		f.episodes = append(f.episodes, ep)
	}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSpotify) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.String())
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/api/token" {
		id, secret, ok := r.BasicAuth()
		_ = r.ParseForm()
		if !ok || id != "cid" || secret != "csecret" || r.PostForm.Get("grant_type") != "client_credentials" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"Invalid client"}`))
			return
		}
		f.tokens++
		f.token = "tok" + strconv.Itoa(f.tokens)
		f.calls = 0
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": f.token, "token_type": "Bearer", "expires_in": 3600})
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"status":401,"message":"Invalid access token"}}`))
		return
	}
	f.calls++
	if f.expireAfter > 0 && f.calls > f.expireAfter {
		f.expireAfter = 0
		f.token = "expired"
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"status":401,"message":"The access token expired"}}`))
		return
	}
	if f.throttle > 0 {
		f.throttle--
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	var id string
	if _, err := fmt.Sscanf(r.URL.Path, "/v1/episodes/%s", &id); err == nil {
		for _, ep := range f.episodes {
			if ep["id"] == id {
				_ = json.NewEncoder(w).Encode(ep)
				return
			}
		}
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"status":404,"message":"Non existing id"}}`))
		return
	}
	if r.URL.Path != "/v1/shows/show1/episodes" || r.URL.Query().Get("market") != "SE" {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"status":404,"message":"Non existing id"}}`))
		return
	}
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit < 1 || limit > 50 {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	end := min(offset+limit, len(f.episodes))
	items := []any{}
	for i := offset; i < end; i++ {
		items = append(items, f.episodes[i])
	}
	if offset == 0 && len(items) > 1 {
		items[1] = nil // an episode unavailable in the market
	}
	var next any
	if end < len(f.episodes) {
		next = fmt.Sprintf("%s/v1/shows/show1/episodes?offset=%d&limit=%d&market=SE", f.srv.URL, end, limit)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"items": items, "next": next, "total": len(f.episodes), "offset": offset, "limit": limit})
}

func (f *fakeSpotify) client() *SpotifyClient {
	return &SpotifyClient{ClientID: "cid", ClientSecret: "csecret", APIURL: f.srv.URL, AccountsURL: f.srv.URL,
		Market: "SE", HTTP: f.srv.Client(), Sleep: func(context.Context, time.Duration) error { return nil }}
}

func errType(t *testing.T, err error) string {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	return appErr.Type()
}

func TestSpotifyReleaseDate(t *testing.T) {
	require.Equal(t, "2026-01-19T00:00:00Z", spotifyReleaseDate("2026-01-19", "day"))
	require.Equal(t, "2026-03-01T00:00:00Z", spotifyReleaseDate("2026-03", "month"))
	require.Equal(t, "1981-01-01T00:00:00Z", spotifyReleaseDate("1981", "year"))
	require.Equal(t, "", spotifyReleaseDate("soon", "day"))
}

func TestSpotifyShowPagesThroughEveryEpisode(t *testing.T) {
	f := newFakeSpotify(t, 123)
	a := &Activities{Spotify: f.client()}
	m, err := a.spotifyManifest(context.Background(), "https://open.spotify.com/show/show1?si=x", "show1")
	require.NoError(t, err)
	require.Equal(t, "spotify", m.Source)
	require.Len(t, m.Episodes, 122, "every page read; the null item left out")
	require.Equal(t, workflows.Episode{URL: "https://open.spotify.com/episode/ep000", Title: "Episode 0",
		ReleaseDate: "2026-01-19T00:00:00Z"}, m.Episodes[0])
	require.Equal(t, "https://open.spotify.com/episode/ep122", m.Episodes[121].URL)
	require.Empty(t, m.Episodes[5].Description, "description is null for Spotify")
	require.Equal(t, 1, f.tokens, "one token for every page")
	require.Len(t, f.requests, 4, "token + 3 pages: %v", f.requests)
	require.Contains(t, f.requests[1], "limit=50")
}

func TestSpotifyRenewsTokenOn401AndWaitsOn429(t *testing.T) {
	f := newFakeSpotify(t, 120)
	f.expireAfter = 1
	f.throttle = 0
	c := f.client()
	var waited []time.Duration
	c.Sleep = func(_ context.Context, d time.Duration) error { waited = append(waited, d); return nil }
	eps, err := c.ShowEpisodes(context.Background(), "show1")
	require.NoError(t, err)
	require.Len(t, eps, 119)
	require.Equal(t, 2, f.tokens, "the expired token was renewed once")

	f.throttle = 2
	eps, err = c.ShowEpisodes(context.Background(), "show1")
	require.NoError(t, err)
	require.Len(t, eps, 119)
	require.Equal(t, []time.Duration{2 * time.Second, 2 * time.Second}, waited, "Retry-After honoured")
	require.Equal(t, 2, f.tokens, "the cached token was reused")
}

func TestSpotifyErrors(t *testing.T) {
	f := newFakeSpotify(t, 3)
	ctx := context.Background()

	_, err := f.client().ShowEpisodes(ctx, "nope")
	require.Equal(t, workflows.ErrTypeNotFound, errType(t, err))

	c := f.client()
	c.ClientSecret = "wrong"
	_, err = c.ShowEpisodes(ctx, "show1")
	require.Equal(t, workflows.ErrTypeInvalidInput, errType(t, err))
	require.Contains(t, err.Error(), "client credentials")

	f.throttle = spotifyMaxAttempts
	_, err = f.client().ShowEpisodes(ctx, "show1")
	require.Equal(t, workflows.ErrTypeTechnical, errType(t, err), "429 past the attempts is retried by Temporal")

	f.throttle = 0
	c = f.client()
	c.APIURL = "http://127.0.0.1:1"
	_, err = c.ShowEpisodes(ctx, "show1")
	require.Equal(t, workflows.ErrTypeTechnical, errType(t, err))

	a := &Activities{}
	_, err = a.resolve(ctx, "https://open.spotify.com/show/show1")
	require.Equal(t, workflows.ErrTypeInvalidInput, errType(t, err))
	require.Contains(t, err.Error(), "RIPTIDE_SPOTIFY_CLIENT_ID")
	_, err = a.resolve(ctx, "https://open.spotify.com/episode/ep001")
	require.Equal(t, workflows.ErrTypeUnsupported, errType(t, err), "an episode is not a show")
}

func TestSpotifyFollowsNoLinkOffItsHost(t *testing.T) {
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("token sent off the API host: %s", r.Header.Get("Authorization"))
	}))
	defer evil.Close()
	f := newFakeSpotify(t, 60)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/token" {
			f.ServeHTTP(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"items": []any{map[string]any{"id": "a"}}, "next": evil.URL + "/v1/x"})
	}))
	defer api.Close()
	c := f.client()
	c.APIURL = api.URL
	_, err := c.ShowEpisodes(context.Background(), "show1")
	require.Equal(t, workflows.ErrTypeUnsupported, errType(t, err))
}

// TestSpotifyEpisodeJobsAreSkipped: a Spotify episode is never downloaded;
// Spotify-hosted ones get the hosted service's reason word for word.
func TestSpotifyEpisodeJobsAreSkipped(t *testing.T) {
	f := newFakeSpotify(t, 20)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	a := &Activities{Spotify: f.client(), WorkDir: t.TempDir()}
	env.RegisterActivity(a)
	run := func(u string) error {
		_, err := env.ExecuteActivity(a.Download, workflows.DownloadInput{JobID: "j1", URL: u})
		return err
	}
	err := run("https://open.spotify.com/episode/ep001?si=1")
	require.Equal(t, workflows.ErrTypeDRMProtected, errType(t, err))
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.Equal(t, SpotifySkipReason, appErr.Message())

	err = run("https://open.spotify.com/episode/ep009")
	require.Equal(t, workflows.ErrTypeDRMProtected, errType(t, err))
	require.ErrorAs(t, err, &appErr)
	require.Equal(t, SpotifyExternalSkipReason, appErr.Message())

	require.Equal(t, workflows.ErrTypeNotFound, errType(t, run("https://open.spotify.com/episode/missing")))

	a2 := &Activities{WorkDir: t.TempDir()}
	env2 := s.NewTestActivityEnvironment()
	env2.RegisterActivity(a2)
	_, err = env2.ExecuteActivity(a2.Download, workflows.DownloadInput{JobID: "j1", URL: "https://open.spotify.com/episode/ep001"})
	require.Equal(t, workflows.ErrTypeInvalidInput, errType(t, err))
	require.Contains(t, err.Error(), "RIPTIDE_SPOTIFY_CLIENT_SECRET")
}
