// Package spotify is a client of the Spotify Web API with client
// credentials: it lists a show's episodes and looks up one episode.
package spotify

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

	"github.com/riptide-dev/riptide/internal/failure"
	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/internal/retryafter"
	"github.com/riptide-dev/riptide/internal/textcut"
	"github.com/riptide-dev/riptide/workflows"
)

const (
	pageSize = 50
	// maxRetryAfter is the longest 429 wait done inside one
	// activity attempt; a longer one fails the attempt, and Temporal's
	// retry policy waits instead.
	maxRetryAfter = time.Minute
	maxAttempts   = 5
	// tokenSlack renews a token this long before it expires.
	tokenSlack = time.Minute
	bodyLimit  = 8 << 20
)

// Client lists Spotify shows and looks up episodes through the
// Spotify Web API with client credentials. Its token is shared by every
// activity of the worker and renewed before it expires or on a 401.
type Client struct {
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

// Episode is the part of the Web API's (simplified) episode object riptide
// uses.
type Episode struct {
	ID                   string `json:"id"`
	Name                 string `json:"name"`
	ReleaseDate          string `json:"release_date"`
	ReleaseDatePrecision string `json:"release_date_precision"`
	IsExternallyHosted   bool   `json:"is_externally_hosted"`
}

type page struct {
	Items []*Episode `json:"items"`
	Next  *string    `json:"next"`
	Total int        `json:"total"`
}

// ReleaseDate turns a release date of the given precision ("day",
// "month", "year") into RFC 3339 at midnight UTC of its first day.
func ReleaseDate(date, precision string) string {
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
// links, and fails for a show of more than limit episodes. Unavailable
// episodes come back as null items and are left out.
func (c *Client) ShowEpisodes(ctx context.Context, showID string, limit int) ([]Episode, error) {
	q := url.Values{"limit": {strconv.Itoa(pageSize)}, "offset": {"0"}}
	if c.Market != "" {
		q.Set("market", c.Market)
	}
	next := strings.TrimRight(c.APIURL, "/") + "/v1/shows/" + url.PathEscape(showID) + "/episodes?" + q.Encode()
	var out []Episode
	for pages := 0; next != ""; pages++ {
		if pages > limit/pageSize {
			return nil, failure.Permanent(workflows.ErrTypeInvalidInput, "Spotify show %s has more than %d episodes", showID, limit)
		}
		if !c.sameOrigin(next) {
			// The token must not leave the configured API host.
			return nil, failure.Permanent(workflows.ErrTypeUnsupported, "Spotify paging link %q leaves %s", next, c.APIURL)
		}
		var page page
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
func (c *Client) Episode(ctx context.Context, id string) (*Episode, error) {
	u := strings.TrimRight(c.APIURL, "/") + "/v1/episodes/" + url.PathEscape(id)
	if c.Market != "" {
		u += "?market=" + url.QueryEscape(c.Market)
	}
	var ep Episode
	if err := c.get(ctx, u, &ep); err != nil {
		return nil, err
	}
	return &ep, nil
}

func (c *Client) sameOrigin(raw string) bool {
	u, err1 := url.Parse(raw)
	base, err2 := url.Parse(c.APIURL)
	return err1 == nil && err2 == nil && u.Scheme == base.Scheme && u.Host == base.Host
}

// get GETs a Web API URL into out: a 401 renews the token once, a 429
// waits for its Retry-After, within maxAttempts requests.
func (c *Client) get(ctx context.Context, u string, out any) error {
	renewed := false
	for attempt := 1; ; attempt++ {
		tok, err := c.accessToken(ctx)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return failure.Permanent(workflows.ErrTypeInvalidInput, "Spotify URL %q: %v", u, err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		resp, err := c.HTTP.Do(req)
		if err != nil {
			if netguard.IsBlocked(err) {
				return failure.Permanent(workflows.ErrTypeBlockedAddress, "Spotify Web API: %v", err)
			}
			return failure.Technical(err, "Spotify Web API: %v", err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, bodyLimit))
		resp.Body.Close()
		if err != nil {
			return failure.Technical(err, "Spotify Web API: reading answer: %v", err)
		}
		switch {
		case resp.StatusCode == http.StatusOK:
			if err := json.Unmarshal(body, out); err != nil {
				return failure.Technical(err, "Spotify Web API answered unreadable JSON: %v", err)
			}
			return nil
		case resp.StatusCode == http.StatusUnauthorized && !renewed:
			renewed = true
			c.forget(tok)
			continue
		case resp.StatusCode == http.StatusTooManyRequests && attempt < maxAttempts:
			wait := retryafter.Parse(resp.Header.Get("Retry-After"), time.Now())
			if wait == 0 {
				wait = time.Second
			}
			if wait > maxRetryAfter {
				return failure.Technical(fmt.Errorf("status 429"), "Spotify Web API rate limit: retry after %q", resp.Header.Get("Retry-After"))
			}
			if err := c.sleep(ctx, wait); err != nil {
				return failure.Technical(err, "Spotify Web API: %v", err)
			}
			continue
		case resp.StatusCode == http.StatusNotFound:
			return failure.Permanent(workflows.ErrTypeNotFound, "Spotify has no such show or episode in market %s (%s)", c.Market, message(body))
		case resp.StatusCode == http.StatusBadRequest:
			return failure.Permanent(workflows.ErrTypeInvalidInput, "Spotify Web API refused the request: %s", message(body))
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return failure.Permanent(workflows.ErrTypeInvalidInput, "Spotify Web API refused the credentials (HTTP %d): %s", resp.StatusCode, message(body))
		default:
			return failure.Technical(fmt.Errorf("status %d", resp.StatusCode), "Spotify Web API answered HTTP %d: %s", resp.StatusCode, message(body))
		}
	}
}

// accessToken returns the cached token, or gets a new one.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && time.Now().Before(c.expires) {
		return c.token, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.AccountsURL, "/")+"/api/token",
		strings.NewReader(form.Encode()))
	if err != nil {
		return "", failure.Permanent(workflows.ErrTypeInvalidInput, "Spotify accounts URL: %v", err)
	}
	req.SetBasicAuth(c.ClientID, c.ClientSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if netguard.IsBlocked(err) {
			return "", failure.Permanent(workflows.ErrTypeBlockedAddress, "Spotify token: %v", err)
		}
		return "", failure.Technical(err, "Spotify token: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized:
		// invalid_client: wrong id or secret; retrying will not help.
		return "", failure.Permanent(workflows.ErrTypeInvalidInput, "Spotify refused the client credentials (HTTP %d): %s", resp.StatusCode, message(body))
	case resp.StatusCode != http.StatusOK:
		return "", failure.Technical(fmt.Errorf("status %d", resp.StatusCode), "Spotify token: HTTP %d", resp.StatusCode)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		return "", failure.Technical(fmt.Errorf("no access_token"), "Spotify token: unreadable answer")
	}
	c.token = tok.AccessToken
	c.expires = time.Now().Add(time.Duration(tok.ExpiresIn)*time.Second - tokenSlack)
	return c.token, nil
}

// forget drops tok unless another request already replaced it.
func (c *Client) forget(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == tok {
		c.token = ""
	}
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
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

// message is the error message of a Web API answer, or its start.
func message(body []byte) string {
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
	return textcut.Truncate(strings.TrimSpace(string(body)), 200)
}
