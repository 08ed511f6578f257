//go:build integration

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/riptide-dev/riptide/api"
	"github.com/riptide-dev/riptide/internal/app"
	"github.com/riptide-dev/riptide/internal/config"
	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/workflows"
)

// forwardProxy is an upstream proxy of the operator's: CONNECT tunnels
// (what the guard asks of an upstream), recording each target; status,
// when not 200, is all it ever answers.
type forwardProxy struct {
	status int
	mu     sync.Mutex
	asked  []string
}

func (p *forwardProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.asked = append(p.asked, r.Method+" "+r.Host)
	p.mu.Unlock()
	if p.status != http.StatusOK {
		http.Error(w, "slow down", p.status)
		return
	}
	if r.Method != http.MethodConnect {
		http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
		return
	}
	up, err := net.Dial("tcp", r.Host)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	c, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		up.Close()
		return
	}
	_, _ = io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	go func() { _, _ = io.Copy(up, buf); up.Close() }()
	_, _ = io.Copy(c, up)
	c.Close()
}

func (p *forwardProxy) targets() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.asked...)
}

const siteCookie = "sid-e2e-0123456789abcdef"

// cookieSite serves the sample page and clip only to a visitor with the
// right SID cookie; anyone else gets YouTube's bot check with a 429.
func cookieSite(media string) http.Handler {
	files := http.FileServer(http.Dir(media))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("SID"); err != nil || c.Value != siteCookie {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, "<html><body>Sign in to confirm you’re not a bot</body></html>")
			return
		}
		files.ServeHTTP(w, r)
	})
}

// TestSitesCookiesProxiesAndRateLimits is issue #17's scenario on one
// worker with two upstream proxies, the first always answering 429, and a
// cookie jar for 127.0.0.1: a job there succeeds through the healthy proxy
// after the sick one's 429, with the jar's cookie; the same page on
// "localhost" (no jar) is bot-checked until the backoff budget is spent
// and fails RateLimited; a URL at a forbidden address is refused by the
// guard although the healthy proxy could reach it; an expired jar turns
// /healthz to warning and posts the signed alert.
func TestSitesCookiesProxiesAndRateLimits(t *testing.T) {
	requireStack(t)
	t.Parallel()
	sick := &forwardProxy{status: http.StatusTooManyRequests}
	healthy := &forwardProxy{status: http.StatusOK}
	sickSrv, healthySrv := serve(sick), serve(healthy)
	defer sickSrv.Close()
	defer healthySrv.Close()
	site := serve(cookieSite(stack.mediaDir))
	defer site.Close()
	alerts := &receiver{}
	alertSrv := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("webhook-signature") == "" {
			http.Error(w, "unsigned", http.StatusUnauthorized)
			return
		}
		alerts.ServeHTTP(w, r)
	}))
	defer alertSrv.Close()

	jars := t.TempDir()
	future, past := time.Now().Add(1000*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
	require.NoError(t, os.WriteFile(filepath.Join(jars, "127.0.0.1.txt"),
		fmt.Appendf(nil, "# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t%d\tSID\t%s\n", future, siteCookie), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(jars, "expired.example.txt"),
		fmt.Appendf(nil, ".expired.example\tTRUE\t/\tTRUE\t%d\tSID\tstale-secret\n", past), 0o600))

	cfg := ownWorker(t, "sites", func(c *config.Config) {
		// 127.0.0.2 stays forbidden: the "internal" address.
		c.AllowPrivateNetworks = []string{"127.0.0.1"}
		c.Sites.UpstreamProxies = []string{sickSrv.URL, "http://user:proxy-pass-e2e@" + strings.TrimPrefix(healthySrv.URL, "http://")}
		c.Sites.UpstreamProxyRest = time.Second
		c.Sites.CookiesDir = jars
		c.Sites.CookiesReload = 200 * time.Millisecond
		c.Sites.CookiesExpiringWithin = time.Hour
		c.Sites.AlertWebhookURL = alertSrv.URL + "/alert"
		c.Sites.SiteBackoff, c.Sites.SiteBackoffMax = time.Second, 2*time.Second
	})

	start := func(u string) string {
		id := uuid.NewString()
		_, err := jobs.Start(context.Background(), stack.temporal, cfg.Temporal.TaskQueue, workflows.JobInput{
			JobID: id, URL: u, Folder: "e2e/sites", WebhookURL: stack.hookURL,
		})
		require.NoError(t, err)
		return id
	}

	// With the jar: the first attempt takes the sick proxy (the pool's
	// first), the retry the healthy one.
	withJar := start(site.URL + "/" + devstack.SamplePage)
	job := waitDone(t, withJar)
	require.Equal(t, "Completed", job["status"], "%v", job)
	require.NotEmpty(t, sick.targets(), "the first attempt went through the sick proxy")
	require.NotEmpty(t, healthy.targets())
	for _, target := range append(sick.targets(), healthy.targets()...) {
		require.True(t, strings.HasPrefix(target, "CONNECT 127.0.0.1:"), "the upstream is given the checked address: %s", target)
	}
	// The retried attempt's failure is the last_failure of the started
	// event that the activity's completion records.
	last := lastFailures(t, withJar)
	require.NotEmpty(t, last)
	require.Contains(t, last[0], "Too Many Requests")
	require.Contains(t, last[0], "p0", "the failure names the proxy it went through")
	requireNoSecretInHistory(t, withJar, siteCookie, "proxy-pass-e2e")

	// Without a jar (localhost is another host): bot-checked on every
	// attempt, with the site's backoff between them, then job_failed.
	noJar := start(strings.Replace(site.URL, "127.0.0.1", "localhost", 1) + "/" + devstack.SamplePage)
	job = waitDone(t, noJar)
	require.Equal(t, "Failed", job["status"], "%v", job)
	msg, _ := job["error"].(string)
	require.Contains(t, msg, "gave up after 5 attempts", msg)
	require.Contains(t, msg, "localhost")
	hook := stack.hooks.waitTerminal(t, noJar, jobTimeout)
	require.Equal(t, "job_failed", hook.Body["type"])
	failures := activityFailures(t, noJar)
	require.Len(t, failures, 1, "one final failure; the retries before it are the activity's")

	// A forbidden address, which the healthy proxy would happily reach.
	internalLn, err := net.Listen("tcp", "127.0.0.2:0")
	require.NoError(t, err)
	defer internalLn.Close()
	var internalConns sync.WaitGroup
	accepted := make(chan struct{}, 1)
	internalConns.Go(func() {
		if c, err := internalLn.Accept(); err == nil {
			accepted <- struct{}{}
			c.Close()
		}
	})
	before := len(healthy.targets()) + len(sick.targets())
	blocked := start("http://" + internalLn.Addr().String() + "/" + devstack.SamplePage)
	job = waitDone(t, blocked)
	require.Equal(t, "Failed", job["status"], "%v", job)
	require.Equal(t, netguard.MsgSourceBlocked, job["error"])
	require.Equal(t, before, len(healthy.targets())+len(sick.targets()), "no proxy was asked for the forbidden address")
	select {
	case <-accepted:
		t.Fatal("the forbidden address was reached")
	default:
	}
	internalLn.Close()
	internalConns.Wait()

	// The expired jar: the alert, signed, naming the jar and not its
	// cookie; /healthz of an API reading the same directory says warning.
	require.Eventually(t, func() bool {
		alerts.mu.Lock()
		defer alerts.mu.Unlock()
		return len(alerts.got) > 0
	}, 30*time.Second, 100*time.Millisecond)
	alerts.mu.Lock()
	alert := alerts.got[0]
	alerts.mu.Unlock()
	require.Equal(t, "cookie_jar_unhealthy", alert.Body["type"])
	data := alert.Body["data"].(map[string]any)
	require.Equal(t, "expired.example", data["name"])
	require.Equal(t, "expired", data["state"])
	require.NotContains(t, string(alert.Raw), "stale-secret")

	a, err := app.New(context.Background(), cfg, io.Discard)
	require.NoError(t, err)
	defer a.Close()
	h, err := api.New(a)
	require.NoError(t, err)
	apiSrv := serve(h)
	defer apiSrv.Close()
	resp, err := http.Get(apiSrv.URL + "/healthz")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Contains(t, string(body), `"status":"warning"`)
	require.Contains(t, string(body), `"name":"expired.example"`)
	require.NotContains(t, string(body), siteCookie)
	require.NotContains(t, string(body), "stale-secret")
}

// lastFailures are the failures of the job's retried activity attempts
// (the last_failure of each ActivityTaskStarted).
func lastFailures(t *testing.T, jobID string) []string {
	t.Helper()
	it := stack.temporal.GetWorkflowHistory(context.Background(), workflows.JobWorkflowID(jobID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var out []string
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && a.GetLastFailure() != nil {
			out = append(out, failureChain(decodedFailure(a.GetLastFailure())))
		}
	}
	return out
}

// requireNoSecretInHistory: no event of the job's history carries the
// secrets, even decrypted (the leak test checks the ciphertext side).
func requireNoSecretInHistory(t *testing.T, jobID string, secrets ...string) {
	t.Helper()
	it := stack.temporal.GetWorkflowHistory(context.Background(), workflows.JobWorkflowID(jobID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if stack.codec != nil {
			require.NoError(t, stack.codec.DecodeMessage(context.Background(), ev))
		}
		text := ev.String()
		for _, s := range secrets {
			require.NotContains(t, text, s, "event %d", ev.GetEventId())
		}
	}
}
