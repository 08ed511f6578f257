package spotify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/riptide-dev/riptide/internal/failure/failuretest"
	"github.com/riptide-dev/riptide/internal/spotify"
	"github.com/riptide-dev/riptide/internal/spotify/spotifytest"
	"github.com/riptide-dev/riptide/workflows"
	"github.com/stretchr/testify/require"
)

// limit is the show size the clients are allowed here.
const limit = 100_000

func TestSpotifyReleaseDate(t *testing.T) {
	require.Equal(t, "2026-01-19T00:00:00Z", spotify.ReleaseDate("2026-01-19", "day"))
	require.Equal(t, "2026-03-01T00:00:00Z", spotify.ReleaseDate("2026-03", "month"))
	require.Equal(t, "1981-01-01T00:00:00Z", spotify.ReleaseDate("1981", "year"))
	require.Equal(t, "", spotify.ReleaseDate("soon", "day"))
}

func TestSpotifyRenewsTokenOn401AndWaitsOn429(t *testing.T) {
	f := spotifytest.New(t, 120)
	f.ExpireAfter = 1
	f.Throttle = 0
	c := f.Client()
	var waited []time.Duration
	c.Sleep = func(_ context.Context, d time.Duration) error { waited = append(waited, d); return nil }
	eps, err := c.ShowEpisodes(context.Background(), "show1", limit)
	require.NoError(t, err)
	require.Len(t, eps, 119)
	require.Equal(t, 2, f.Tokens, "the expired token was renewed once")

	f.Throttle = 2
	eps, err = c.ShowEpisodes(context.Background(), "show1", limit)
	require.NoError(t, err)
	require.Len(t, eps, 119)
	require.Equal(t, []time.Duration{2 * time.Second, 2 * time.Second}, waited, "Retry-After honoured")
	require.Equal(t, 2, f.Tokens, "the cached token was reused")
}

func TestSpotifyErrors(t *testing.T) {
	f := spotifytest.New(t, 3)
	ctx := context.Background()

	_, err := f.Client().ShowEpisodes(ctx, "nope", limit)
	require.Equal(t, workflows.ErrTypeNotFound, failuretest.Type(t, err))

	c := f.Client()
	c.ClientSecret = "wrong"
	_, err = c.ShowEpisodes(ctx, "show1", limit)
	require.Equal(t, workflows.ErrTypeInvalidInput, failuretest.Type(t, err))
	require.Contains(t, err.Error(), "client credentials")

	f.Throttle = spotify.MaxAttempts
	_, err = f.Client().ShowEpisodes(ctx, "show1", limit)
	require.Equal(t, workflows.ErrTypeTechnical, failuretest.Type(t, err), "429 past the attempts is retried by Temporal")

	f.Throttle = 0
	c = f.Client()
	c.APIURL = "http://127.0.0.1:1"
	_, err = c.ShowEpisodes(ctx, "show1", limit)
	require.Equal(t, workflows.ErrTypeTechnical, failuretest.Type(t, err))
}

func TestSpotifyFollowsNoLinkOffItsHost(t *testing.T) {
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("token sent off the API host: %s", r.Header.Get("Authorization"))
	}))
	defer evil.Close()
	f := spotifytest.New(t, 60)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/token" {
			f.ServeHTTP(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"items": []any{map[string]any{"id": "a"}}, "next": evil.URL + "/v1/x"})
	}))
	defer api.Close()
	c := f.Client()
	c.APIURL = api.URL
	_, err := c.ShowEpisodes(context.Background(), "show1", limit)
	require.Equal(t, workflows.ErrTypeUnsupported, failuretest.Type(t, err))
}
