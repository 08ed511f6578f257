// Package sitelimit is riptide's per-site rate control on a worker: a
// token bucket per site (the operator's requests-per-minute budget) and a
// cooldown that a rate-limited answer (yt-dlp's bot check, a 429) starts
// and doubles while the site keeps answering so.
//
// Why on the worker, not in a Temporal entity workflow per site: a site
// limits by source address, and each worker (or each upstream proxy it
// picks) is its own address, so a worker-wide budget is the unit the site
// actually counts; an entity workflow would add a round trip and history
// events to every job and one hot workflow per site, to share a limit the
// site does not share. What must survive a worker (the backoff of one job)
// rides in the activity's retry: the RateLimited error carries
// NextRetryDelay, so Temporal holds the retry for the cooldown on any
// worker.
package sitelimit

import (
	"context"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/publicsuffix"
)

// Site is the registrable domain of a URL host ("www.youtube.com" and
// "m.youtube.com" are "youtube.com"); an IP address is itself.
func Site(host string) string {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if net.ParseIP(strings.Trim(host, "[]")) != nil {
		return strings.Trim(host, "[]")
	}
	if d, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return d
	}
	return host
}

// Limiter holds every site's bucket and cooldown.
type Limiter struct {
	// PerMinute is the requests-per-minute budget of each site (a map
	// from site to budget; "*" for every other site). 0 or missing: none.
	PerMinute map[string]float64
	// Backoff is the first cooldown after a rate-limited answer; each
	// further one doubles it up to MaxBackoff.
	Backoff, MaxBackoff time.Duration

	mu    sync.Mutex
	sites map[string]*site
}

type site struct {
	tokens   float64
	filled   time.Time
	strikes  int
	coolTill time.Time
}

func (l *Limiter) get(s string) *site {
	if l.sites == nil {
		l.sites = map[string]*site{}
	}
	st := l.sites[s]
	if st == nil {
		st = &site{tokens: 1, filled: time.Now().Add(-time.Hour)}
		l.sites[s] = st
	}
	return st
}

func (l *Limiter) rate(s string) float64 {
	if r, ok := l.PerMinute[s]; ok {
		return r
	}
	return l.PerMinute["*"]
}

// Reserve takes a token for a request to site s and says how long to wait
// before making it: the cooldown's rest, or the bucket's refill.
func (l *Limiter) Reserve(s string) time.Duration {
	if l == nil {
		return 0
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.get(s)
	wait := max(0, st.coolTill.Sub(now))
	if r := l.rate(s); r > 0 {
		burst := max(1, r/10)
		st.tokens = min(burst, st.tokens+now.Sub(st.filled).Minutes()*r)
		st.filled = now
		st.tokens--
		if st.tokens < 0 {
			wait = max(wait, time.Duration(-st.tokens/r*float64(time.Minute)))
		}
	}
	return wait
}

// Cooldown is how long site s is still cooling down.
func (l *Limiter) Cooldown(s string) time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return max(0, time.Until(l.get(s).coolTill))
}

// Strike records a rate-limited answer from site s and returns the
// cooldown it starts: Backoff, doubled for each strike since the site last
// answered well, at most MaxBackoff.
func (l *Limiter) Strike(s string) time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.get(s)
	d := l.Backoff
	for range st.strikes {
		d *= 2
		if d >= l.MaxBackoff {
			break
		}
	}
	d = min(d, l.MaxBackoff)
	st.strikes++
	if till := time.Now().Add(d); till.After(st.coolTill) {
		st.coolTill = till
	}
	return d
}

// OK records a good answer from site s: the next strike starts over.
func (l *Limiter) OK(s string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.get(s).strikes = 0
}

// Wait sleeps for d, calling tick every interval (the activity's
// heartbeat), unless ctx ends first.
func Wait(ctx context.Context, d, interval time.Duration, tick func()) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	k := time.NewTicker(interval)
	defer k.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		case <-k.C:
			tick()
		}
	}
}
