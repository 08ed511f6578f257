package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riptide-dev/riptide/workflows"
	"go.temporal.io/sdk/testsuite"
)

// TestListingsBoundConcurrentListings runs eight listings at once on a
// worker allowing two: the feed server never sees more than two of them
// at a time, and every listing still completes.
func TestListingsBoundConcurrentListings(t *testing.T) {
	var inflight, most atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		// Long enough for the listings to overlap if nothing stops them;
		// no assertion depends on it.
		time.Sleep(20 * time.Millisecond)
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprint(w, testRSS)
	}))
	defer srv.Close()
	acts := &Activities{HTTP: http.DefaultClient, Manifests: &manifestMem{}, Ytdlp: "/nonexistent/yt-dlp",
		Listings: NewListings(2)}

	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestActivityEnvironment()
			env.RegisterActivity(acts)
			_, errs[i] = env.ExecuteActivity(acts.ResolveBatch,
				workflows.ResolveBatchInput{BatchID: fmt.Sprintf("b%d", i), ShowURL: srv.URL + "/feed"})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("listing %d: %v", i, err)
		}
	}
	if got := most.Load(); got > 2 {
		t.Errorf("%d listings ran at once, want at most 2", got)
	}
}

func TestListingsWaitForASlotOrTheContext(t *testing.T) {
	l := NewListings(1)
	release, err := l.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("acquire with every slot taken and a canceled context: %v", err)
	}
	release()
	release2, err := l.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	release2()
	var none *Listings
	r, err := none.acquire(ctx)
	if err != nil {
		t.Fatalf("a nil Listings bounds nothing: %v", err)
	}
	r()
}

// TestResolveBatchRefusesAnOversizedFeed lists a feed over the worker's
// feed size limit: refused for good, saying so, not "unexpected EOF".
func TestResolveBatchRefusesAnOversizedFeed(t *testing.T) {
	item := `<item><title>E</title><description>` + strings.Repeat("x", 64<<10) +
		`</description><enclosure url="https://cdn.example/e.mp3" type="audio/mpeg"/></item>`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprint(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title>`)
		for range 40 { // 2.5 MiB
			if _, err := fmt.Fprint(w, item); err != nil {
				return
			}
		}
		fmt.Fprint(w, `</channel></rss>`)
	}))
	defer srv.Close()
	env, store, acts := resolveEnv(t)
	acts.MaxFeedBytes = 2 << 20
	_, err := env.ExecuteActivity(acts.ResolveBatch, workflows.ResolveBatchInput{BatchID: "big", ShowURL: srv.URL + "/feed"})
	appErr := assertAppError(t, err, workflows.ErrTypeInvalidInput, false)
	if !strings.Contains(appErr.Message(), "is over 2 MiB") {
		t.Errorf("error %q does not give the limit", appErr.Message())
	}
	if len(store.objs) != 0 {
		t.Errorf("a manifest was stored: %v", store.objs)
	}
}
