package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/internal/sources"
	"github.com/riptide-dev/riptide/workflows"
)

// SpotifySkipReason is the hosted service's reason for skipping a
// Spotify-hosted episode, word for word: clients may match on it.
const SpotifySkipReason = "Audio-only Spotify episode (DRM protected) - skipped. This episode contains only audio which is Widevine-encrypted and cannot be downloaded."

// SpotifyExternalSkipReason is the reason for an episode Spotify serves from
// its publisher's host: not DRM protected, but the Web API does not say
// where the audio is, so riptide cannot fetch it honestly from Spotify.
const SpotifyExternalSkipReason = "Spotify episode hosted outside Spotify - skipped. The Spotify Web API does not reveal its audio URL; submit the podcast's RSS feed to download it."

const (
	spotifyPageSize = 50
	// spotifyMaxRetryAfter is the longest 429 wait done inside one
	// activity attempt; a longer one fails the attempt, and Temporal's
	// retry policy waits instead.
	spotifyMaxRetryAfter = time.Minute
	spotifyMaxAttempts   = 5
	// spotifyTokenSlack renews a token this long before it expires.
	spotifyTokenSlack = time.Minute
	spotifyBodyLimit  = 8 << 20
)

// SpotifyClient lists Spotify shows and looks up episodes through the
// Spotify Web API with client credentials. Its token is shared by every
// activity of the worker and renewed before it expires or on a 401.
type SpotifyClient struct {
	ClientID, ClientSecret string
	// APIURL and AccountsURL are the base URLs of the Web API and of the
	// accounts service (https://api.spotify.com, https://accounts.spotify.com).
	APIURL, AccountsURL string
	// Market is the ISO 3166-1 country whose catalogue is read.
	Market string
	// HTTP dials through the network guard like every other client.
	HTTP *http.Client
	// Sleep waits for a Retry-After; nil: a timer bound to ctx.
	Sleep func(ctx context.Context, d time.Duration) error

	mu      sync.Mutex
	token   string
	expires time.Time
}

// spotifyEpisode is the part of the Web API's (simplified) episode object
// riptide uses.
type spotifyEpisode struct {
	ID                   string `json:"id"`
	Name                 string `json:"name"`
	ReleaseDate          string `json:"release_date"`
	ReleaseDatePrecision string `json:"release_date_precision"`
	IsExternallyHosted   bool   `json:"is_externally_hosted"`
}

type spotifyPage struct {
	Items []*spotifyEpisode `json:"items"`
	Next  *string           `json:"next"`
	Total int               `json:"total"`
}

var errSpotifyNotConfigured = permanent(workflows.ErrTypeInvalidInput,
	"Spotify URLs need Spotify Web API credentials: set RIPTIDE_SPOTIFY_CLIENT_ID and RIPTIDE_SPOTIFY_CLIENT_SECRET on the worker")

// spotifyManifest lists every episode of a show, 50 at a time.
func (a *Activities) spotifyManifest(ctx context.Context, showURL, showID string) (*Manifest, error) {
	if a.Spotify == nil {
		return nil, errSpotifyNotConfigured
	}
	eps, err := a.Spotify.ShowEpisodes(ctx, showID)
	if err != nil {
		return nil, err
	}
	m := &Manifest{ShowURL: showURL, Source: "spotify", Episodes: make([]workflows.Episode, 0, len(eps))}
	for _, e := range eps {
		// The hosted service sends description null for Spotify.
		m.Episodes = append(m.Episodes, workflows.Episode{
			URL:         sources.SpotifyEpisodeURL(e.ID),
			Title:       truncate(strings.TrimSpace(e.Name), maxEpisodeTitle),
			ReleaseDate: spotifyReleaseDate(e.ReleaseDate, e.ReleaseDatePrecision),
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

// spotifyReleaseDate turns a release date of the given precision ("day",
// "month", "year") into RFC 3339 at midnight UTC of its first day.
func spotifyReleaseDate(date, precision string) string {
	layout := map[string]string{"day": "2006-01-02", "month": "2006-01", "year": "2006"}[precision]
	if layout == "" {
		layout = "2006-01-02"
	}
	t, err := time.Parse(layout, date)
	if err != nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// ShowEpisodes returns every episode of a show, following the pages' next
// links. Unavailable episodes come back as null items and are left out.
func (c *SpotifyClient) ShowEpisodes(ctx context.Context, showID string) ([]spotifyEpisode, error) {
	q := url.Values{"limit": {strconv.Itoa(spotifyPageSize)}, "offset": {"0"}}
	if c.Market != "" {
		q.Set("market", c.Market)
	}
	next := strings.TrimRight(c.APIURL, "/") + "/v1/shows/" + url.PathEscape(showID) + "/episodes?" + q.Encode()
	var out []spotifyEpisode
	for pages := 0; next != ""; pages++ {
		if pages > maxEpisodesPerSource/spotifyPageSize {
			return nil, permanent(workflows.ErrTypeInvalidInput, "Spotify show %s has more than %d episodes", showID, maxEpisodesPerSource)
		}
		if !c.sameOrigin(next) {
			// The token must not leave the configured API host.
			return nil, permanent(workflows.ErrTypeUnsupported, "Spotify paging link %q leaves %s", next, c.APIURL)
		}
		var page spotifyPage
		if err := c.get(ctx, next, &page); err != nil {
			return nil, err
		}
		for _, e := range page.Items {
			if e != nil && e.ID != "" {
				out = append(out, *e)
			}
		}
		next = ""
		if page.Next != nil && len(page.Items) > 0 {
			next = *page.Next
		}
	}
	return out, nil
}

// Episode looks up one episode.
func (c *SpotifyClient) Episode(ctx context.Context, id string) (*spotifyEpisode, error) {
	u := strings.TrimRight(c.APIURL, "/") + "/v1/episodes/" + url.PathEscape(id)
	if c.Market != "" {
		u += "?market=" + url.QueryEscape(c.Market)
	}
	var ep spotifyEpisode
	if err := c.get(ctx, u, &ep); err != nil {
		return nil, err
	}
	return &ep, nil
}

func (c *SpotifyClient) sameOrigin(raw string) bool {
	u, err1 := url.Parse(raw)
	base, err2 := url.Parse(c.APIURL)
	return err1 == nil && err2 == nil && u.Scheme == base.Scheme && u.Host == base.Host
}

// get GETs a Web API URL into out: a 401 renews the token once, a 429
// waits for its Retry-After, within spotifyMaxAttempts requests.
func (c *SpotifyClient) get(ctx context.Context, u string, out any) error {
	renewed := false
	for attempt := 1; ; attempt++ {
		tok, err := c.accessToken(ctx)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return permanent(workflows.ErrTypeInvalidInput, "Spotify URL %q: %v", u, err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		resp, err := c.HTTP.Do(req)
		if err != nil {
			if netguard.IsBlocked(err) {
				return permanent(workflows.ErrTypeBlockedAddress, "Spotify Web API: %v", err)
			}
			return technical(err, "Spotify Web API: %v", err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, spotifyBodyLimit))
		resp.Body.Close()
		if err != nil {
			return technical(err, "Spotify Web API: reading answer: %v", err)
		}
		switch {
		case resp.StatusCode == http.StatusOK:
			if err := json.Unmarshal(body, out); err != nil {
				return technical(err, "Spotify Web API answered unreadable JSON: %v", err)
			}
			return nil
		case resp.StatusCode == http.StatusUnauthorized && !renewed:
			renewed = true
			c.forget(tok)
			continue
		case resp.StatusCode == http.StatusTooManyRequests && attempt < spotifyMaxAttempts:
			wait := retryAfter(resp.Header.Get("Retry-After"), time.Now())
			if wait == 0 {
				wait = time.Second
			}
			if wait > spotifyMaxRetryAfter {
				return technical(fmt.Errorf("status 429"), "Spotify Web API rate limit: retry after %q", resp.Header.Get("Retry-After"))
			}
			if err := c.sleep(ctx, wait); err != nil {
				return technical(err, "Spotify Web API: %v", err)
			}
			continue
		case resp.StatusCode == http.StatusNotFound:
			return permanent(workflows.ErrTypeNotFound, "Spotify has no such show or episode in market %s (%s)", c.Market, spotifyMessage(body))
		case resp.StatusCode == http.StatusBadRequest:
			return permanent(workflows.ErrTypeInvalidInput, "Spotify Web API refused the request: %s", spotifyMessage(body))
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return permanent(workflows.ErrTypeInvalidInput, "Spotify Web API refused the credentials (HTTP %d): %s", resp.StatusCode, spotifyMessage(body))
		default:
			return technical(fmt.Errorf("status %d", resp.StatusCode), "Spotify Web API answered HTTP %d: %s", resp.StatusCode, spotifyMessage(body))
		}
	}
}

// accessToken returns the cached token, or gets a new one.
func (c *SpotifyClient) accessToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && time.Now().Before(c.expires) {
		return c.token, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.AccountsURL, "/")+"/api/token",
		strings.NewReader(form.Encode()))
	if err != nil {
		return "", permanent(workflows.ErrTypeInvalidInput, "Spotify accounts URL: %v", err)
	}
	req.SetBasicAuth(c.ClientID, c.ClientSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if netguard.IsBlocked(err) {
			return "", permanent(workflows.ErrTypeBlockedAddress, "Spotify token: %v", err)
		}
		return "", technical(err, "Spotify token: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized:
		// invalid_client: wrong id or secret; retrying will not help.
		return "", permanent(workflows.ErrTypeInvalidInput, "Spotify refused the client credentials (HTTP %d): %s", resp.StatusCode, spotifyMessage(body))
	case resp.StatusCode != http.StatusOK:
		return "", technical(fmt.Errorf("status %d", resp.StatusCode), "Spotify token: HTTP %d", resp.StatusCode)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		return "", technical(fmt.Errorf("no access_token"), "Spotify token: unreadable answer")
	}
	c.token = tok.AccessToken
	c.expires = time.Now().Add(time.Duration(tok.ExpiresIn)*time.Second - spotifyTokenSlack)
	return c.token, nil
}

// forget drops tok unless another request already replaced it.
func (c *SpotifyClient) forget(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == tok {
		c.token = ""
	}
}

func (c *SpotifyClient) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// spotifyMessage is the error message of a Web API answer, or its start.
func spotifyMessage(body []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &e) == nil {
		if e.Error.Message != "" {
			return e.Error.Message
		}
		if e.Description != "" {
			return e.Description
		}
	}
	return truncate(strings.TrimSpace(string(body)), 200)
}
