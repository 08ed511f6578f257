package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/riptide-dev/riptide/internal/cookies"
	"github.com/riptide-dev/riptide/internal/failure"
	"github.com/riptide-dev/riptide/internal/heartbeat"
	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/internal/proxypool"
	"github.com/riptide-dev/riptide/internal/sitelimit"
	"github.com/riptide-dev/riptide/workflows"
)

// Sites is what a download needs to keep real sites working: the
// operator's cookie jars and upstream proxies, the per-site limiter and
// yt-dlp options. The zero value uses none of them.
type Sites struct {
	Cookies *cookies.Store
	Proxies *proxypool.Pool
	// Guard and GuardProxy chain the upstream proxies behind the network
	// guard: the native downloader's transport and yt-dlp's proxy URL.
	Guard      *netguard.Guard
	GuardProxy *netguard.Proxy
	Limiter    *sitelimit.Limiter
	// YtdlpOptions are the operator's yt-dlp arguments (ytdlp.Options).
	YtdlpOptions []string
	// MaxInlineWait is the longest a download waits in the activity for
	// its site's cooldown or bucket; a longer wait fails the attempt with
	// the wait as its NextRetryDelay. 0: a minute.
	MaxInlineWait time.Duration

	// Transports caches a transport per upstream proxy (name ->
	// *http.Transport); nil: a new one per attempt.
	Transports *sync.Map
}

// siteNet is one download attempt's way to its site.
type siteNet struct {
	site        string
	http        *http.Client
	ytdlpProxy  string
	cookiesPath string
	proxy       *proxypool.Proxy
}

type siteNetKey struct{}

func siteNetOf(ctx context.Context) *siteNet {
	sn, _ := ctx.Value(siteNetKey{}).(*siteNet)
	return sn
}

// httpFor is the HTTP client of the attempt (its jar and proxy), else the
// worker's.
func (a *Activities) httpFor(ctx context.Context) *http.Client {
	if sn := siteNetOf(ctx); sn != nil && sn.http != nil {
		return sn.http
	}
	return a.HTTP
}

// prepareSite waits for the site's limiter, picks the attempt's upstream
// proxy (not the previous attempt's), and gives the attempt the tenant's
// cookie jar for the URL's host: a private copy in dir for yt-dlp, a
// cookie jar for the native downloader. done removes the copy. Without
// limit (a metadata lookup, which a client waits for) the limiter is not
// consulted.
func (a *Activities) prepareSite(ctx context.Context, dir string, u *url.URL, tenant string, limit bool) (context.Context, func(), error) {
	s := &a.Sites
	host := u.Hostname()
	sn := &siteNet{site: sitelimit.Site(host), http: a.HTTP, ytdlpProxy: a.YtdlpProxy}
	done := func() {}
	var prev workflows.Progress
	if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &prev)
	}
	if !limit {
		// No wait.
	} else if wait := s.Limiter.Reserve(sn.site); wait > 0 {
		maxWait := s.MaxInlineWait
		if maxWait == 0 {
			maxWait = time.Minute
		}
		if wait > maxWait {
			return ctx, done, failure.RateLimited(nil, wait, "%s is rate-limiting riptide; waiting %s before the next try", sn.site, wait.Round(time.Second))
		}
		if err := sitelimit.Wait(ctx, wait, heartbeat.Interval, func() {
			if activity.IsActivity(ctx) {
				activity.RecordHeartbeat(ctx, prev)
			}
		}); err != nil {
			return ctx, done, err
		}
	}
	if up := s.Proxies.Pick(host, prev.Proxy); up != nil {
		sn.proxy = up
		ctx = heartbeat.WithProxy(ctx, up.Name)
		if activity.IsActivity(ctx) {
			// At once, so a retry knows which proxy this attempt took
			// even if it fails before its first progress.
			p := prev
			p.Proxy = up.Name
			activity.RecordHeartbeat(ctx, p)
		}
		if s.GuardProxy != nil {
			sn.ytdlpProxy = s.GuardProxy.URLVia(up.Name)
		}
	}
	if tenant == "" {
		tenant = workflows.DefaultTenant
	}
	jar := s.Cookies.Lookup(tenant, host)
	if sn.proxy != nil || jar != nil {
		c := *a.HTTP
		if sn.proxy != nil && s.Guard != nil {
			c.Transport = s.transportVia(sn.proxy)
		}
		if jar != nil {
			c.Jar = jar.CookieJar()
		}
		sn.http = &c
	}
	if jar != nil {
		path, err := jar.WriteCopy(dir)
		if err != nil {
			return ctx, done, technical(err, "copying cookie jar %s: %v", jar.Name(), err)
		}
		sn.cookiesPath = path
		done = func() { _ = os.Remove(path) }
	}
	if (jar != nil || sn.proxy != nil) && activity.IsActivity(ctx) {
		proxy := ""
		if sn.proxy != nil {
			proxy = sn.proxy.Name
		}
		jarName := ""
		if jar != nil {
			jarName = jar.Name()
		}
		activity.GetLogger(ctx).Info("Download through site settings", "site", sn.site, "cookie_jar", jarName, "proxy", proxy)
	}
	return context.WithValue(ctx, siteNetKey{}, sn), done, nil
}

func (s *Sites) transportVia(p *proxypool.Proxy) *http.Transport {
	if s.Transports == nil {
		return s.Guard.TransportVia(p)
	}
	if t, ok := s.Transports.Load(p.Name); ok {
		return t.(*http.Transport)
	}
	t, _ := s.Transports.LoadOrStore(p.Name, s.Guard.TransportVia(p))
	return t.(*http.Transport)
}

// siteOutcome tells the limiter and the proxy pool how the attempt went,
// and gives a RateLimited failure the site's cooldown as its retry delay;
// on the last attempt its message says riptide gave up.
func (a *Activities) siteOutcome(ctx context.Context, err error) error {
	sn := siteNetOf(ctx)
	if sn == nil {
		return err
	}
	if err == nil {
		a.Sites.Limiter.OK(sn.site)
		return nil
	}
	appErr, ok := errors.AsType[*temporal.ApplicationError](err)
	if !ok || appErr.Type() != workflows.ErrTypeRateLimited {
		return err
	}
	sn.proxy.Fail() // nil-safe
	delay := a.Sites.Limiter.Strike(sn.site)
	msg := appErr.Message()
	if sn.proxy != nil {
		msg = fmt.Sprintf("%s (through upstream proxy %s)", msg, sn.proxy.Name)
	}
	if activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		if rp := info.RetryPolicy; rp != nil && rp.MaximumAttempts > 0 && info.Attempt >= rp.MaximumAttempts {
			return temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("%s kept rate-limiting or bot-checking riptide; gave up after %d attempts: %s", sn.site, info.Attempt, msg),
				workflows.ErrTypeRateLimited, errors.Unwrap(appErr))
		}
	}
	return failure.RateLimited(errors.Unwrap(appErr), delay, "%s", msg)
}
