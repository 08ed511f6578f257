package worker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/riptide-dev/riptide/activities"
	"github.com/riptide-dev/riptide/internal/config"
	"github.com/riptide-dev/riptide/internal/cookies"
	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/internal/proxypool"
	"github.com/riptide-dev/riptide/internal/sitelimit"
	"github.com/riptide-dev/riptide/internal/webhook"
	"github.com/riptide-dev/riptide/internal/ytdlp"
)

// AlertEventType is the type of the alert webhook's event for a cookie jar
// that turned expired, stale or invalid.
const AlertEventType = "cookie_jar_unhealthy"

// OpenCookies opens the cookie jars of the settings (nil when none are
// configured), probing through the guard and alerting through alert
// (nil: no alerts). The API opens the same directory for /healthz.
func OpenCookies(cfg *config.Config, guard *netguard.Guard, alert func(cookies.Status)) (*cookies.Store, error) {
	if cfg.Sites.CookiesDir == "" {
		return nil, nil
	}
	probes, err := cfg.Sites.Probes()
	if err != nil {
		return nil, err
	}
	var client *http.Client
	if guard != nil && len(probes) > 0 {
		client = &http.Client{Transport: guard.Transport(), Timeout: 30 * time.Second}
	}
	return cookies.Open(cookies.Options{
		Dir: cfg.Sites.CookiesDir, ExpiringWithin: cfg.Sites.CookiesExpiringWithin, Reload: cfg.Sites.CookiesReload,
		Probes: probes, ProbeEvery: cfg.Sites.CookiesProbeEvery, ProbeClient: client, OnBad: alert, Logger: slog.Default(),
	})
}

// newSites builds the downloads' cookie jars, upstream proxies, per-site
// limiter and yt-dlp options; stop ends the jars' reloading.
func newSites(cfg *config.Config, guard *netguard.Guard, proxy *netguard.Proxy, signer *webhook.Signer, hooks *http.Client) (activities.Sites, func(), error) {
	s := cfg.Sites
	opts := ytdlp.Options{ExtractorArgs: s.ExtractorArgs(), FormatSort: s.YtdlpFormatSort, Impersonate: s.YtdlpImpersonate}
	if err := opts.Validate(); err != nil {
		return activities.Sites{}, nil, fmt.Errorf("yt-dlp options: %w", err)
	}
	if err := ytdlp.CheckImpersonate(context.Background(), cfg.Media.YtdlpPath, opts.Impersonate); err != nil {
		return activities.Sites{}, nil, fmt.Errorf("%s_YTDLP_IMPERSONATE: %w", config.Prefix, err)
	}
	pool, err := proxypool.Parse(s.UpstreamProxies, s.UpstreamProxySites, s.UpstreamProxyRest)
	if err != nil {
		return activities.Sites{}, nil, fmt.Errorf("%s_UPSTREAM_PROXIES: %w", config.Prefix, err)
	}
	if pool.Len() > 0 {
		proxy.SetUpstreams(func(name string) netguard.Upstream {
			if p := pool.ByName(name); p != nil {
				return p
			}
			return nil
		})
	}
	rates, err := s.RequestsPerMinute()
	if err != nil {
		return activities.Sites{}, nil, err
	}
	var alert func(cookies.Status)
	if s.AlertWebhookURL != "" {
		alert = func(st cookies.Status) { sendAlert(hooks, signer, s.AlertWebhookURL, st) }
	}
	jars, err := OpenCookies(cfg, guard, alert)
	if err != nil {
		return activities.Sites{}, nil, err
	}
	return activities.Sites{
		Cookies: jars, Proxies: pool, Guard: guard, GuardProxy: proxy,
		Limiter:      &sitelimit.Limiter{PerMinute: rates, Backoff: s.SiteBackoff, MaxBackoff: s.SiteBackoffMax},
		YtdlpOptions: opts.Args(), Transports: &sync.Map{},
	}, jars.Close, nil
}

// sendAlert posts a jar's status (never its cookies) to the alert webhook,
// signed like job webhooks (Standard Webhooks headers).
func sendAlert(c *http.Client, signer *webhook.Signer, url string, st cookies.Status) {
	var id [12]byte
	_, _ = rand.Read(id[:])
	body, _ := json.Marshal(map[string]any{"type": AlertEventType, "timestamp": time.Now().UTC().Format(time.RFC3339), "data": st})
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		slog.Error("Alert webhook URL is invalid", "error", err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	signer.SetHeaders(req.Header, "alert_"+hex.EncodeToString(id[:]), time.Now(), body)
	resp, err := c.Do(req)
	if err != nil {
		slog.Warn("Alert webhook not delivered", "jar", st.Name, "state", st.State, "error", err)
		return
	}
	resp.Body.Close()
	slog.Info("Alert webhook delivered", "jar", st.Name, "state", st.State, "status", resp.StatusCode)
}

// sitesCollector exports the jars' and proxies' health.
type sitesCollector struct {
	s                            *activities.Sites
	jarState, jarExpiry          *prometheus.Desc
	proxyUp, proxyFail, proxyLat *prometheus.Desc
}

func registerSiteMetrics(reg *prometheus.Registry, s *activities.Sites) {
	if reg == nil {
		return
	}
	reg.MustRegister(&sitesCollector{
		s:         s,
		jarState:  prometheus.NewDesc("riptide_cookie_jar_state", "Each cookie jar's state (1 for its current one).", []string{"jar", "state"}, nil),
		jarExpiry: prometheus.NewDesc("riptide_cookie_jar_auth_expiry_timestamp_seconds", "Earliest expiry of a jar's sign-in cookies.", []string{"jar"}, nil),
		proxyUp:   prometheus.NewDesc("riptide_upstream_proxy_resting", "1 while an upstream proxy rests after failures.", []string{"proxy", "host"}, nil),
		proxyFail: prometheus.NewDesc("riptide_upstream_proxy_failures_total", "Failed connections or rate limits through an upstream proxy.", []string{"proxy", "host"}, nil),
		proxyLat:  prometheus.NewDesc("riptide_upstream_proxy_connect_seconds", "Moving average of an upstream proxy's connection set-up time.", []string{"proxy", "host"}, nil),
	})
}

func (c *sitesCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.jarState, c.jarExpiry, c.proxyUp, c.proxyFail, c.proxyLat} {
		ch <- d
	}
}

func (c *sitesCollector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.s.Cookies.Statuses() {
		for _, state := range []string{cookies.StateOK, cookies.StateExpiring, cookies.StateExpired, cookies.StateStale, cookies.StateInvalid} {
			v := 0.0
			if st.State == state {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.jarState, prometheus.GaugeValue, v, st.Name, state)
		}
		if st.AuthExpires != nil {
			ch <- prometheus.MustNewConstMetric(c.jarExpiry, prometheus.GaugeValue, float64(st.AuthExpires.Unix()), st.Name)
		}
	}
	for _, p := range c.s.Proxies.Statuses() {
		resting := 0.0
		if p.Resting {
			resting = 1
		}
		ch <- prometheus.MustNewConstMetric(c.proxyUp, prometheus.GaugeValue, resting, p.Name, p.Host)
		ch <- prometheus.MustNewConstMetric(c.proxyFail, prometheus.CounterValue, float64(p.Failures), p.Name, p.Host)
		ch <- prometheus.MustNewConstMetric(c.proxyLat, prometheus.GaugeValue, p.LatencyMS/1000, p.Name, p.Host)
	}
}
