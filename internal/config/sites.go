package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Sites configures what keeps real sites working (issue #17): cookie jars,
// upstream proxies, per-site rate control and yt-dlp options. Embedded in
// Config, so its settings have short names.
type Sites struct {
	// CookiesDir holds cookie jars (Netscape cookies.txt) named by site
	// domain: <dir>/youtube.com.txt for every tenant,
	// <dir>/<tenant>/youtube.com.txt for one. Empty: no cookies.
	CookiesDir string `envconfig:"COOKIES_DIR"`
	// CookiesReload is how often the directory is checked for changes.
	CookiesReload time.Duration `envconfig:"COOKIES_RELOAD" default:"30s"`
	// CookiesExpiringWithin reports a jar "expiring" this long before a
	// sign-in cookie expires.
	CookiesExpiringWithin time.Duration `envconfig:"COOKIES_EXPIRING_WITHIN" default:"72h"`
	// CookiesProbes maps a jar's domain to a URL that answers 2xx only
	// while its cookies are signed in: domain=url, comma separated.
	CookiesProbes []string `envconfig:"COOKIES_PROBES"`
	// CookiesProbeEvery is how often each probe runs.
	CookiesProbeEvery time.Duration `envconfig:"COOKIES_PROBE_EVERY" default:"1h"`
	// AlertWebhookURL receives a POST (signed like job webhooks) when a
	// cookie jar turns expired, stale or invalid.
	AlertWebhookURL string `envconfig:"ALERT_WEBHOOK_URL"`

	// UpstreamProxies are the proxies (http://, https://, socks5://, with
	// user:password@ when they need it) that carry downloads behind the
	// network guard, comma separated. Empty: downloads go out directly.
	UpstreamProxies []string `envconfig:"UPSTREAM_PROXIES"`
	// UpstreamProxySites limits sites to some proxies: domain=0|2 (indexes
	// into UpstreamProxies), comma separated.
	UpstreamProxySites []string `envconfig:"UPSTREAM_PROXY_SITES"`
	// UpstreamProxyRest is how long a failing proxy is left alone.
	UpstreamProxyRest time.Duration `envconfig:"UPSTREAM_PROXY_REST" default:"10m"`

	// SiteRequestsPerMinute bounds downloads started per site and worker:
	// domain=N, or *=N for every site, comma separated. Empty: no bound.
	SiteRequestsPerMinute []string `envconfig:"SITE_REQUESTS_PER_MINUTE"`
	// SiteBackoff is the first cooldown of a site that rate-limits or
	// bot-checks riptide; it doubles while the site keeps doing so, up to
	// SiteBackoffMax.
	SiteBackoff    time.Duration `envconfig:"SITE_BACKOFF" default:"1m"`
	SiteBackoffMax time.Duration `envconfig:"SITE_BACKOFF_MAX" default:"30m"`

	// YtdlpExtractorArgs are yt-dlp --extractor-args values, one per
	// extractor, separated by a space ("youtube:player_client=default,mweb").
	// (A string, not a list: the values hold commas.)
	YtdlpExtractorArgs string `envconfig:"YTDLP_EXTRACTOR_ARGS"`
	// YtdlpFormatSort is yt-dlp's -S (e.g. res:1080,vcodec:h264).
	YtdlpFormatSort string `envconfig:"YTDLP_FORMAT_SORT"`
	// YtdlpImpersonate is yt-dlp's --impersonate target (needs curl_cffi).
	YtdlpImpersonate string `envconfig:"YTDLP_IMPERSONATE"`
}

// ExtractorArgs splits YtdlpExtractorArgs.
func (s Sites) ExtractorArgs() []string { return strings.Fields(s.YtdlpExtractorArgs) }

// Probes parses CookiesProbes.
func (s Sites) Probes() (map[string]string, error) {
	out := map[string]string{}
	for _, p := range s.CookiesProbes {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		d, u, ok := strings.Cut(p, "=")
		if !ok || d == "" || !(strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) {
			return nil, fmt.Errorf("%s_COOKIES_PROBES: %q is not domain=http(s)://url", Prefix, p)
		}
		out[strings.ToLower(strings.TrimSpace(d))] = u
	}
	return out, nil
}

// RequestsPerMinute parses SiteRequestsPerMinute.
func (s Sites) RequestsPerMinute() (map[string]float64, error) {
	out := map[string]float64{}
	for _, p := range s.SiteRequestsPerMinute {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		d, n, ok := strings.Cut(p, "=")
		v, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
		if !ok || d == "" || err != nil || v <= 0 {
			return nil, fmt.Errorf("%s_SITE_REQUESTS_PER_MINUTE: %q is not domain=N (N > 0)", Prefix, p)
		}
		out[strings.ToLower(strings.TrimSpace(d))] = v
	}
	return out, nil
}

func (s Sites) check() error {
	if _, err := s.Probes(); err != nil {
		return err
	}
	if _, err := s.RequestsPerMinute(); err != nil {
		return err
	}
	if s.SiteBackoff <= 0 || s.SiteBackoffMax < s.SiteBackoff {
		return fmt.Errorf("%s_SITE_BACKOFF must be positive and %s_SITE_BACKOFF_MAX at least as long", Prefix, Prefix)
	}
	if s.CookiesReload < 0 || s.CookiesProbeEvery < 0 || s.UpstreamProxyRest < 0 {
		return fmt.Errorf("%s_COOKIES_RELOAD, %s_COOKIES_PROBE_EVERY and %s_UPSTREAM_PROXY_REST must not be negative", Prefix, Prefix, Prefix)
	}
	return nil
}
