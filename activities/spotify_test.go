package activities

import (
	"context"
	"testing"

	"github.com/riptide-dev/riptide/internal/failure/failuretest"
	"github.com/riptide-dev/riptide/internal/spotify/spotifytest"
	"github.com/riptide-dev/riptide/workflows"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

func TestSpotifyShowPagesThroughEveryEpisode(t *testing.T) {
	f := spotifytest.New(t, 123)
	a := &Activities{Spotify: f.Client()}
	m, err := a.spotifyManifest(context.Background(), "https://open.spotify.com/show/show1?si=x", "show1")
	require.NoError(t, err)
	require.Equal(t, "spotify", m.Source)
	require.Len(t, m.Episodes, 122, "every page read; the null item left out")
	require.Equal(t, workflows.Episode{URL: "https://open.spotify.com/episode/ep000", Title: "Episode 0",
		ReleaseDate: "2026-01-19T00:00:00Z"}, m.Episodes[0])
	require.Equal(t, "https://open.spotify.com/episode/ep122", m.Episodes[121].URL)
	require.Empty(t, m.Episodes[5].Description, "description is null for Spotify")
	require.Equal(t, 1, f.Tokens, "one token for every page")
	require.Len(t, f.Requests, 4, "token + 3 pages: %v", f.Requests)
	require.Contains(t, f.Requests[1], "limit=50")
}

// TestSpotifyEpisodeJobsAreSkipped: a Spotify episode is never downloaded;
// Spotify-hosted ones get the hosted service's reason word for word.
func TestSpotifyEpisodeJobsAreSkipped(t *testing.T) {
	f := spotifytest.New(t, 20)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	a := &Activities{Spotify: f.Client(), WorkDir: t.TempDir()}
	env.RegisterActivity(a)
	run := func(u string) error {
		_, err := env.ExecuteActivity(a.Download, workflows.DownloadInput{JobID: "j1", URL: u})
		return err
	}
	err := run("https://open.spotify.com/episode/ep001?si=1")
	require.Equal(t, workflows.ErrTypeDRMProtected, failuretest.Type(t, err))
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.Equal(t, SpotifySkipReason, appErr.Message())

	err = run("https://open.spotify.com/episode/ep009")
	require.Equal(t, workflows.ErrTypeDRMProtected, failuretest.Type(t, err))
	require.ErrorAs(t, err, &appErr)
	require.Equal(t, SpotifyExternalSkipReason, appErr.Message())

	require.Equal(t, workflows.ErrTypeNotFound, failuretest.Type(t, run("https://open.spotify.com/episode/missing")))

	a2 := &Activities{WorkDir: t.TempDir()}
	env2 := s.NewTestActivityEnvironment()
	env2.RegisterActivity(a2)
	_, err = env2.ExecuteActivity(a2.Download, workflows.DownloadInput{JobID: "j1", URL: "https://open.spotify.com/episode/ep001"})
	require.Equal(t, workflows.ErrTypeInvalidInput, failuretest.Type(t, err))
	require.Contains(t, err.Error(), "RIPTIDE_SPOTIFY_CLIENT_SECRET")
}

// TestSpotifyShowsNeedCredentials: without a client, a Spotify show fails
// clearly, and an episode URL is no show.
func TestSpotifyShowsNeedCredentials(t *testing.T) {
	ctx := context.Background()
	a := &Activities{}
	_, err := a.resolve(ctx, "https://open.spotify.com/show/show1")
	require.Equal(t, workflows.ErrTypeInvalidInput, failuretest.Type(t, err))
	require.Contains(t, err.Error(), "RIPTIDE_SPOTIFY_CLIENT_ID")
	_, err = a.resolve(ctx, "https://open.spotify.com/episode/ep001")
	require.Equal(t, workflows.ErrTypeUnsupported, failuretest.Type(t, err), "an episode is not a show")
}
