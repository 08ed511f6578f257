// Package spotifytest serves a fake Spotify Web API for tests.
package spotifytest

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

	"github.com/riptide-dev/riptide/internal/spotify"
)

// Fake serves the Web API endpoints riptide calls: the token
// endpoint and a show's episodes (50 a page, with next links), on loopback.
type Fake struct {
	mu       sync.Mutex
	episodes []map[string]any
	calls    int
	token    string
	// Tokens counts the tokens handed out; Requests lists every request
	// as "METHOD URL".
	Tokens   int
	Requests []string
	// ExpireAfter makes the current token answer 401 after this many
	// API calls; Throttle makes the next n API calls answer 429.
	ExpireAfter int
	Throttle    int
	Server      *httptest.Server
}

// New starts a Fake with n episodes (every tenth hosted outside
// Spotify) for show "show1" in market SE, closed when the test ends.
func New(t testing.TB, n int) *Fake {
	f := &Fake{}
	for i := range n {
		ep := map[string]any{"id": fmt.Sprintf("ep%03d", i), "name": fmt.Sprintf("Episode %d", i),
			"release_date": "2026-01-19", "release_date_precision": "day", "is_externally_hosted": i%10 == 9}
		f.episodes = append(f.episodes, ep)
	}
	f.Server = httptest.NewServer(f)
	t.Cleanup(f.Server.Close)
	return f
}

func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Requests = append(f.Requests, r.Method+" "+r.URL.String())
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/api/token" {
		id, secret, ok := r.BasicAuth()
		_ = r.ParseForm()
		if !ok || id != "cid" || secret != "csecret" || r.PostForm.Get("grant_type") != "client_credentials" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"Invalid client"}`))
			return
		}
		f.Tokens++
		f.token = "tok" + strconv.Itoa(f.Tokens)
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
	if f.ExpireAfter > 0 && f.calls > f.ExpireAfter {
		f.ExpireAfter = 0
		f.token = "expired"
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"status":401,"message":"The access token expired"}}`))
		return
	}
	if f.Throttle > 0 {
		f.Throttle--
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
		next = fmt.Sprintf("%s/v1/shows/show1/episodes?offset=%d&limit=%d&market=SE", f.Server.URL, end, limit)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"items": items, "next": next, "total": len(f.episodes), "offset": offset, "limit": limit})
}

// Client is a client of f with its credentials, which never sleeps.
func (f *Fake) Client() *spotify.Client {
	return &spotify.Client{ClientID: "cid", ClientSecret: "csecret", APIURL: f.Server.URL, AccountsURL: f.Server.URL,
		Market: "SE", HTTP: f.Server.Client(), Sleep: func(context.Context, time.Duration) error { return nil }}
}
