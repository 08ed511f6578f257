package activities

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/riptide-dev/riptide/internal/cookies"
	"github.com/riptide-dev/riptide/internal/failure"
	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/internal/proxypool"
	"github.com/riptide-dev/riptide/internal/sitelimit"
	"github.com/riptide-dev/riptide/workflows"
)

func TestPrepareSiteGivesTheAttemptItsJarAndProxy(t *testing.T) {
	jars := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(jars, "example.com.txt"), []byte(".example.com\tTRUE\t/\tFALSE\t0\tSID\tsecret\n"), 0o600))
	store, err := cookies.Open(cookies.Options{Dir: jars})
	require.NoError(t, err)
	defer store.Close()
	pool, err := proxypool.Parse([]string{"http://u:pw@proxy-a.invalid:3128", "socks5://proxy-b.invalid:1080"}, nil, time.Hour)
	require.NoError(t, err)
	g := netguard.New(nil)
	gp, err := netguard.StartProxy(g, nil)
	require.NoError(t, err)
	defer gp.Close()
	a := &Activities{HTTP: &http.Client{}, YtdlpProxy: gp.URL(), Sites: Sites{
		Cookies: store, Proxies: pool, Guard: g, GuardProxy: gp,
		Limiter: &sitelimit.Limiter{Backoff: time.Minute, MaxBackoff: time.Hour},
	}}
	dir := t.TempDir()
	u, _ := url.Parse("https://www.example.com/watch?v=1")
	ctx, done, err := a.prepareSite(context.Background(), dir, u, "", true)
	require.NoError(t, err)

	y := a.ytdlpFor(ctx)
	require.Equal(t, strings.Replace(gp.URL(), "http://", "http://p0:x@", 1), y.Proxy)
	require.NotContains(t, y.Proxy, "pw")
	fi, err := os.Stat(y.Cookies)
	require.NoError(t, err)
	require.Equal(t, dir, filepath.Dir(y.Cookies))
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	c := a.httpFor(ctx)
	require.NotSame(t, a.HTTP, c)
	require.Len(t, c.Jar.Cookies(u), 1)
	other, _ := url.Parse("https://example.org/")
	require.Empty(t, c.Jar.Cookies(other))

	// A rate-limited attempt rests its proxy and waits the site's cooldown.
	err = a.siteOutcome(ctx, failure.RateLimited(errors.New("exit status 1"), 0, "HTTP Error 429: Too Many Requests"))
	appErr, ok := errors.AsType[*temporal.ApplicationError](err)
	require.True(t, ok)
	require.Equal(t, workflows.ErrTypeRateLimited, appErr.Type())
	require.Equal(t, time.Minute, appErr.NextRetryDelay())
	require.Contains(t, appErr.Message(), "through upstream proxy p0")
	require.True(t, pool.Statuses()[0].Resting)
	// Another failure passes as it is.
	tech := failure.Technical(nil, "boom")
	require.Equal(t, tech, a.siteOutcome(ctx, tech))

	done()
	_, err = os.Stat(y.Cookies)
	require.True(t, os.IsNotExist(err), "the private copy is removed")

	// While the site cools down past the inline wait, the next attempt
	// ends at once with the rest of the cooldown as its delay.
	a.Sites.MaxInlineWait = time.Second
	_, done, err = a.prepareSite(context.Background(), dir, u, "", true)
	done()
	appErr, ok = errors.AsType[*temporal.ApplicationError](err)
	require.True(t, ok, "%v", err)
	require.Equal(t, workflows.ErrTypeRateLimited, appErr.Type())
	require.Greater(t, appErr.NextRetryDelay(), 50*time.Second)

	// No jar, no proxies: the worker's client and proxy.
	b := &Activities{HTTP: &http.Client{}, YtdlpProxy: gp.URL()}
	ctx, done, err = b.prepareSite(context.Background(), dir, u, "", true)
	require.NoError(t, err)
	defer done()
	require.Same(t, b.HTTP, b.httpFor(ctx))
	require.Equal(t, gp.URL(), b.ytdlpFor(ctx).Proxy)
	require.Empty(t, b.ytdlpFor(ctx).Cookies)
}

// TestRetryAvoidsThePreviousAttemptsProxy: the proxy an attempt took is
// its first heartbeat detail, and the next attempt takes another although
// the pool's turn would give it the same.
func TestRetryAvoidsThePreviousAttemptsProxy(t *testing.T) {
	pool, err := proxypool.Parse([]string{"http://a.invalid:1", "http://b.invalid:1"}, nil, time.Hour)
	require.NoError(t, err)
	a := &Activities{HTTP: &http.Client{}, Sites: Sites{Proxies: pool, Guard: netguard.New(nil)}}
	u, _ := url.Parse("https://example.com/v")
	dir := t.TempDir()
	pick := func(ctx context.Context) (string, error) {
		ctx, done, err := a.prepareSite(ctx, dir, u, "", true)
		defer done()
		if err != nil {
			return "", err
		}
		return siteNetOf(ctx).proxy.Name, nil
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(pick, activity.RegisterOptions{Name: "Pick"})
	val, err := env.ExecuteActivity("Pick")
	require.NoError(t, err)
	var first string
	require.NoError(t, val.Get(&first))
	require.Equal(t, "p0", first)

	env = s.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(pick, activity.RegisterOptions{Name: "Pick"})
	env.SetHeartbeatDetails(workflows.Progress{Bytes: 10, Proxy: "p1"})
	val, err = env.ExecuteActivity("Pick")
	require.NoError(t, err)
	var second string
	require.NoError(t, val.Get(&second))
	require.Equal(t, "p0", second, "the turn is p1's, but the previous attempt took p1")
}
