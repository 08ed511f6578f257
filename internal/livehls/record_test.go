package livehls

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/workflows"
)

func init() {
	RetryDelay = 10 * time.Millisecond
	WaitBackoff = 10 * time.Millisecond
	WaitBackoffMax = 50 * time.Millisecond
}

// stream is a live HLS stream on loopback: segments of one second, each
// playlist request revealing one more segment (the playlist grows as the
// recorder polls it), until ends segments are listed and ENDLIST is
// added. window > 0 lists only the last window segments (a sliding
// playlist).
type stream struct {
	mu       sync.Mutex
	first    int // segments listed before any request
	listed   int
	ends     int // 0: never
	window   int
	missing  map[int]int // segment → 404 answers before it is served
	gone     int         // playlist 404 answers before it appears
	requests map[string]int
	mapURI   string
}

func segBody(i int) string { return fmt.Sprintf("segment-%03d;", i) }

func (s *stream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.requests == nil {
		s.requests = map[string]int{}
	}
	s.requests[r.URL.Path]++
	switch {
	case r.URL.Path == "/live.m3u8":
		if s.gone > 0 {
			s.gone--
			http.NotFound(w, r)
			return
		}
		if s.listed == 0 {
			s.listed = s.first
		} else {
			s.listed++
		}
		if s.ends > 0 {
			s.listed = min(s.listed, s.ends)
		}
		from := 0
		if s.window > 0 {
			from = max(0, s.listed-s.window)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:%d\n", from)
		if s.mapURI != "" {
			fmt.Fprintf(&b, "#EXT-X-MAP:URI=%q\n", s.mapURI)
		}
		for i := from; i < s.listed; i++ {
			fmt.Fprintf(&b, "#EXTINF:1.000,\nseg%d.ts\n", i)
		}
		if s.ends > 0 && s.listed == s.ends {
			b.WriteString("#EXT-X-ENDLIST\n")
		}
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		_, _ = w.Write([]byte(b.String()))
	case r.URL.Path == "/init.mp4":
		_, _ = w.Write([]byte("init;"))
	default:
		var i int
		if _, err := fmt.Sscanf(r.URL.Path, "/seg%d.ts", &i); err != nil || i >= s.listed {
			http.NotFound(w, r)
			return
		}
		if s.missing[i] > 0 {
			s.missing[i]--
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(segBody(i)))
	}
}

func serveStream(t *testing.T, s *stream) *url.URL {
	t.Helper()
	srv := httptest.NewUnstartedServer(s)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL + "/live.m3u8")
	return u
}

func recorder(t *testing.T, u *url.URL) *Recorder {
	return &Recorder{Client: http.DefaultClient, Playlist: u, Out: filepath.Join(t.TempDir(), "rec"), Cap: time.Hour}
}

func segs(from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		b.WriteString(segBody(i))
	}
	return b.String()
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRecordStopsAtEndlist(t *testing.T) {
	s := &stream{first: 2, ends: 5}
	r := recorder(t, serveStream(t, s))
	r.FromStart = true
	res, err := r.Record(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !res.Ended || res.Segments != 5 || res.Progress.Seconds != 5 {
		t.Fatalf("result %+v, want 5 segments and ended", res)
	}
	if got := readFile(t, res.Path); got != segs(0, 5) {
		t.Fatalf("file %q, want every segment once, in order", got)
	}
	if !strings.HasSuffix(res.Path, ".ts") {
		t.Fatalf("path %s, want .ts", res.Path)
	}
	for p, n := range s.requests {
		if strings.HasPrefix(p, "/seg") && n != 1 {
			t.Fatalf("%s fetched %d times, want once", p, n)
		}
	}
}

func TestRecordStartsAtLiveEdgeAndStopsAtCap(t *testing.T) {
	s := &stream{first: 10}
	r := recorder(t, serveStream(t, s))
	r.Cap = 4 * time.Second
	var seen []Progress
	r.OnProgress = func(p Progress) { seen = append(seen, p) }
	res, err := r.Record(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Ten one-second segments, target 1 s: the live edge is three target
	// durations from the end, segment 7; the fourth segment comes from a
	// reload of the growing playlist.
	if got := readFile(t, res.Path); got != segs(7, 11) {
		t.Fatalf("file %q, want segments 7–10", got)
	}
	if res.Ended || res.Progress.Seconds != 4 || res.Progress.NextSeq != 11 {
		t.Fatalf("result %+v, want capped at 4 s, next 11", res)
	}
	if len(seen) != 4 || seen[3].Bytes != int64(len(segs(7, 11))) {
		t.Fatalf("progress %+v, want one report per segment", seen)
	}
}

func TestRecordRetriesAndSkipsMissingSegments(t *testing.T) {
	s := &stream{first: 4, ends: 4, missing: map[int]int{1: 1, 2: 100}}
	r := recorder(t, serveStream(t, s))
	var warned []string
	r.Warn = func(msg string, _ ...any) { warned = append(warned, msg) }
	res, err := r.Record(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, res.Path); got != segBody(0)+segBody(1)+segBody(3) {
		t.Fatalf("file %q: segment 1 (404 once) must be retried, 2 (always 404) skipped", got)
	}
	if res.Skipped != 1 || s.requests["/seg1.ts"] != 2 || s.requests["/seg2.ts"] != SegmentAttempts || len(warned) != 1 {
		t.Fatalf("skipped %d, requests %v, warnings %v", res.Skipped, s.requests, warned)
	}
}

func TestRecordStopsOnCancellation(t *testing.T) {
	s := &stream{first: 1}
	r := recorder(t, serveStream(t, s))
	ctx, cancel := context.WithCancel(context.Background())
	r.OnProgress = func(p Progress) {
		if p.NextSeq == 2 {
			cancel()
		}
	}
	done := make(chan error, 1)
	go func() { _, err := r.Record(ctx); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the recording did not stop when cancelled")
	}
}

func TestRecordResumesOrRestarts(t *testing.T) {
	t.Run("resumes when the next segment is still listed", func(t *testing.T) {
		s := &stream{first: 6, ends: 6}
		r := recorder(t, serveStream(t, s))
		// The previous attempt heartbeated after segment 2, then wrote
		// part of segment 3 before its worker died.
		if err := os.WriteFile(r.Out+".ts", []byte(segs(0, 3)+"segm"), 0o644); err != nil {
			t.Fatal(err)
		}
		r.Resume = Progress{NextSeq: 3, Bytes: int64(len(segs(0, 3))), Seconds: 3}
		res, err := r.Record(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !res.Resumed || readFile(t, res.Path) != segs(0, 6) || res.Progress.Seconds != 6 || s.requests["/seg0.ts"] != 0 {
			t.Fatalf("resumed=%v file %q seconds %v requests %v", res.Resumed, readFile(t, res.Path), res.Progress.Seconds, s.requests)
		}
	})
	t.Run("restarts when the playlist slid past it", func(t *testing.T) {
		s := &stream{first: 12, ends: 12, window: 5}
		r := recorder(t, serveStream(t, s))
		if err := os.WriteFile(r.Out+".ts", []byte(segs(0, 3)), 0o644); err != nil {
			t.Fatal(err)
		}
		r.Resume = Progress{NextSeq: 3, Bytes: int64(len(segs(0, 3))), Seconds: 3}
		res, err := r.Record(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if res.Resumed || readFile(t, res.Path) != segs(7, 12) {
			t.Fatalf("resumed=%v file %q, want a fresh recording of what is listed", res.Resumed, readFile(t, res.Path))
		}
	})
	t.Run("restarts when the file is not on this worker", func(t *testing.T) {
		s := &stream{first: 4, ends: 4}
		r := recorder(t, serveStream(t, s))
		r.Resume = Progress{NextSeq: 2, Bytes: int64(len(segs(0, 2))), Seconds: 2}
		res, err := r.Record(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if res.Resumed || readFile(t, res.Path) != segs(0, 4) {
			t.Fatalf("resumed=%v file %q", res.Resumed, readFile(t, res.Path))
		}
	})
}

func TestRecordWritesInitSection(t *testing.T) {
	s := &stream{first: 2, ends: 2, mapURI: "init.mp4"}
	r := recorder(t, serveStream(t, s))
	res, err := r.Record(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(res.Path, ".mp4") || readFile(t, res.Path) != "init;"+segs(0, 2) {
		t.Fatalf("%s: %q", res.Path, readFile(t, res.Path))
	}
}

func appType(err error) string {
	if e, ok := errors.AsType[*temporal.ApplicationError](err); ok {
		return e.Type()
	}
	return ""
}

func TestRecordWaitsForTheStream(t *testing.T) {
	t.Run("without a wait it fails for good", func(t *testing.T) {
		r := recorder(t, serveStream(t, &stream{gone: 1}))
		_, err := r.Record(context.Background())
		e, ok := errors.AsType[*temporal.ApplicationError](err)
		if !ok || !e.NonRetryable() || e.Type() != workflows.ErrTypeNotFound || !strings.Contains(err.Error(), "wait_for_video") {
			t.Fatalf("err %v, want a permanent not-found error naming wait_for_video", err)
		}
	})
	t.Run("with a wait it records once the stream is up", func(t *testing.T) {
		s := &stream{gone: 3, first: 2, ends: 2}
		r := recorder(t, serveStream(t, s))
		r.Wait = time.Minute
		res, err := r.Record(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if readFile(t, res.Path) != segs(0, 2) || s.requests["/live.m3u8"] != 4 {
			t.Fatalf("file %q, requests %v", readFile(t, res.Path), s.requests)
		}
	})
	t.Run("a bounded wait ends", func(t *testing.T) {
		r := recorder(t, serveStream(t, &stream{gone: 1 << 30}))
		r.Wait = 200 * time.Millisecond
		_, err := r.Record(context.Background())
		if appType(err) != workflows.ErrTypeNotFound || !strings.Contains(err.Error(), "did not start within") {
			t.Fatalf("err %v", err)
		}
	})
}

func TestRecordGoesThroughTheGuard(t *testing.T) {
	s := &stream{first: 2, ends: 2}
	r := recorder(t, serveStream(t, s))
	r.Client = &http.Client{Transport: netguard.New(nil).Transport()}
	_, err := r.Record(context.Background())
	if appType(err) != workflows.ErrTypeBlockedAddress {
		t.Fatalf("err %v, want the guard's refusal of loopback", err)
	}
	if len(s.requests) != 0 {
		t.Fatalf("the server saw %v", s.requests)
	}
}
