package feeds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riptide-dev/riptide/workflows"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
)

// genFeed serves an RSS feed of n items, each padded with pad bytes of
// description, generated as it is written (the test holds none of it), and
// counts the bytes it got to send.
func genFeed(n, pad int, sent *atomic.Int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		write := func(s string) bool {
			k, err := io.WriteString(w, s)
			sent.Add(int64(k))
			return err == nil
		}
		if !write(`<?xml version="1.0"?><rss version="2.0"><channel><title>Huge</title>`) {
			return
		}
		desc := strings.Repeat("x", pad)
		for i := range n {
			if !write(fmt.Sprintf(`<item><title>E%d</title><description>%s</description><enclosure url="https://cdn.example/%d.mp3" type="audio/mpeg"/></item>`, i, desc, i)) {
				return
			}
		}
		write(`</channel></rss>`)
	}
}

// peakHeap samples the heap until stop is called and returns the largest
// HeapAlloc seen: a resource bound, whatever the machine's speed.
func peakHeap() (stop func() uint64) {
	runtime.GC()
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak.Load()
	}
}

func requirePermanent(t *testing.T, err error, errType, msg string) {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "got %v, want an application error", err)
	require.Equal(t, errType, appErr.Type())
	require.True(t, appErr.NonRetryable(), "%v is retryable", err)
	require.Contains(t, appErr.Message(), msg)
}

// TestFetchRefusesAFeedOverTheItemLimit streams a 1.2-million-item feed
// (~150 MB; the attack's 60 MB one peaked at 2.6 GiB of heap): the count
// stops it at item 100,001, with the heap far below what parsing it whole
// takes and most of it never read.
func TestFetchRefusesAFeedOverTheItemLimit(t *testing.T) {
	const items, limit = 1_200_000, 100_000
	var sent atomic.Int64
	srv := httptest.NewServer(genFeed(items, 0, &sent))
	defer srv.Close()

	stop := peakHeap()
	feed, err := Fetch(context.Background(), srv.Client(), srv.URL+"/feed.xml", Limits{MaxBytes: 1 << 30, MaxItems: limit})
	peak := stop()
	require.Nil(t, feed)
	requirePermanent(t, err, workflows.ErrTypeInvalidInput, "lists over 100000 episodes")
	t.Logf("peak heap %d MiB, server sent %d MiB", peak>>20, sent.Load()>>20)
	require.Less(t, peak, uint64(200<<20), "peak heap")
	require.Less(t, sent.Load(), int64(items/2*100), "the server got to send most of the feed")
}

// TestFetchRefusesAFeedOverTheSizeLimit serves a 100 MB feed with few
// items: it fails for good saying it is over 64 MiB, not with the parser's
// "unexpected EOF" at the cut.
func TestFetchRefusesAFeedOverTheSizeLimit(t *testing.T) {
	var sent atomic.Int64
	srv := httptest.NewServer(genFeed(1000, 100_000, &sent))
	defer srv.Close()

	stop := peakHeap()
	feed, err := Fetch(context.Background(), srv.Client(), srv.URL+"/feed.xml", Limits{MaxItems: 100_000})
	peak := stop()
	require.Nil(t, feed)
	requirePermanent(t, err, workflows.ErrTypeInvalidInput, "is over 64 MiB")
	require.NotContains(t, err.Error(), "EOF")
	t.Logf("peak heap %d MiB", peak>>20)
	require.Less(t, peak, uint64(200<<20), "peak heap")
}

// Atom entries count as items too, and a feed within the limits is
// parsed as before, whatever charset it declares.
func TestFetchCountsAtomEntriesAndKeepsCharsets(t *testing.T) {
	atom := `<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>` +
		strings.Repeat(`<entry><title>E</title><link rel="enclosure" href="https://cdn.example/e.mp3"/></entry>`, 3) + `</feed>`
	latin1 := "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss version=\"2.0\"><channel><title>Caf\xe9</title>" +
		"<item><title>\xc9pisode</title><enclosure url=\"https://cdn.example/1.mp3\" type=\"audio/mpeg\"/></item></channel></rss>"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		if r.URL.Path == "/atom" {
			fmt.Fprint(w, atom)
			return
		}
		fmt.Fprint(w, latin1)
	}))
	defer srv.Close()
	ctx := context.Background()

	_, err := Fetch(ctx, srv.Client(), srv.URL+"/atom", Limits{MaxItems: 2})
	requirePermanent(t, err, workflows.ErrTypeInvalidInput, "lists over 2 episodes")
	feed, err := Fetch(ctx, srv.Client(), srv.URL+"/atom", Limits{MaxItems: 3})
	require.NoError(t, err)
	require.Len(t, Episodes(srv.URL+"/atom", feed), 3)

	feed, err = Fetch(ctx, srv.Client(), srv.URL+"/latin1", Limits{MaxItems: 3})
	require.NoError(t, err)
	eps := Episodes(srv.URL+"/latin1", feed)
	require.Len(t, eps, 1)
	require.Equal(t, "Épisode", eps[0].Title)
}
