package activities

import (
	"context"
	"strings"

	"github.com/riptide-dev/riptide/internal/sources"
	"github.com/riptide-dev/riptide/internal/spotify"
	"github.com/riptide-dev/riptide/workflows"
)

// SpotifySkipReason is the hosted service's reason for skipping a
// Spotify-hosted episode, word for word: clients may match on it.
const SpotifySkipReason = "Audio-only Spotify episode (DRM protected) - skipped. This episode contains only audio which is Widevine-encrypted and cannot be downloaded."

// SpotifyExternalSkipReason is the reason for an episode Spotify serves from
// its publisher's host: not DRM protected, but the Web API does not say
// where the audio is, so riptide cannot fetch it honestly from Spotify.
const SpotifyExternalSkipReason = "Spotify episode hosted outside Spotify - skipped. The Spotify Web API does not reveal its audio URL; submit the podcast's RSS feed to download it."

// SpotifyClient is the worker's Spotify Web API client.
type SpotifyClient = spotify.Client

var errSpotifyNotConfigured = permanent(workflows.ErrTypeInvalidInput,
	"Spotify URLs need Spotify Web API credentials: set RIPTIDE_SPOTIFY_CLIENT_ID and RIPTIDE_SPOTIFY_CLIENT_SECRET on the worker")

// spotifyManifest lists every episode of a show, 50 at a time.
func (a *Activities) spotifyManifest(ctx context.Context, showURL, showID string) (*Manifest, error) {
	if a.Spotify == nil {
		return nil, errSpotifyNotConfigured
	}
	eps, err := a.Spotify.ShowEpisodes(ctx, showID, maxEpisodesPerSource)
	if err != nil {
		return nil, err
	}
	m := &Manifest{ShowURL: showURL, Source: "spotify", Episodes: make([]workflows.Episode, 0, len(eps))}
	for _, e := range eps {
		// The hosted service sends description null for Spotify.
		m.Episodes = append(m.Episodes, workflows.Episode{
			URL:         sources.SpotifyEpisodeURL(e.ID),
			Title:       strings.TrimSpace(e.Name),
			ReleaseDate: spotify.ReleaseDate(e.ReleaseDate, e.ReleaseDatePrecision),
		})
	}
	return m, nil
}

// spotifyEpisodeOutcome decides what a Spotify episode job becomes. None
// can be downloaded: Spotify-hosted audio (and video) is Widevine
// encrypted, and for episodes hosted elsewhere the Web API does not give
// the audio's URL. So every one is skipped, with the hosted service's
// reason where it is true.
func (a *Activities) spotifyEpisodeOutcome(ctx context.Context, id string) error {
	if a.Spotify == nil {
		return errSpotifyNotConfigured
	}
	ep, err := a.Spotify.Episode(ctx, id)
	if err != nil {
		return err
	}
	if ep.IsExternallyHosted {
		return permanent(workflows.ErrTypeDRMProtected, "%s", SpotifyExternalSkipReason)
	}
	return permanent(workflows.ErrTypeDRMProtected, "%s", SpotifySkipReason)
}
