package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/riptide-dev/riptide/workflows"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// manifestMem is an in-memory ManifestStore.
type manifestMem struct {
	mu   sync.Mutex
	objs map[string][]byte
	gets int
}

func (m *manifestMem) PutObject(_ context.Context, key string, body []byte, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.objs == nil {
		m.objs = map[string][]byte{}
	}
	m.objs[key] = append([]byte(nil), body...)
	return nil
}

func (m *manifestMem) GetObject(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	b, ok := m.objs[key]
	if !ok {
		return nil, errors.New("no such key")
	}
	return b, nil
}

const testRSS = `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
<channel><title>Show</title>
<item><title>Episode 2</title><description>Second</description>
  <pubDate>Tue, 20 Jan 2026 06:00:00 GMT</pubDate>
  <enclosure url="/media/ep2.mp3" length="10" type="audio/mpeg"/></item>
<item><title>Episode 1</title><itunes:summary>First</itunes:summary>
  <pubDate>Mon, 19 Jan 2026 06:00:00 +0000</pubDate>
  <enclosure url="https://cdn.example/ep1.mp3" length="10" type="audio/mpeg"/></item>
<item><title>No media</title></item>
</channel></rss>`

const testAtom = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom show</title>
<entry><title>A1</title><updated>2026-02-01T10:00:00Z</updated><summary>atom one</summary>
<link rel="enclosure" type="audio/mpeg" href="http://127.0.0.1/a1.mp3"/></entry>
</feed>`

func resolveEnv(t *testing.T) (*testsuite.TestActivityEnvironment, *manifestMem, *Activities) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	store := &manifestMem{}
	acts := &Activities{HTTP: http.DefaultClient, Manifests: store, Ytdlp: "/nonexistent/yt-dlp"}
	env.RegisterActivity(acts)
	return env, store, acts
}

func TestResolveBatchRSSByContentType(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		fmt.Fprint(w, testRSS)
	}))
	defer srv.Close()
	env, store, acts := resolveEnv(t)
	v, err := env.ExecuteActivity(acts.ResolveBatch, workflows.ResolveBatchInput{BatchID: "b1", ShowURL: srv.URL + "/show"})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.ResolveBatchResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	if res.Total != 2 || res.Source != "feed" || res.ManifestKey != workflows.ManifestKey("b1") {
		t.Fatalf("result %+v", res)
	}
	if _, ok := store.objs[res.ManifestKey]; !ok {
		t.Fatal("manifest not stored")
	}

	// Pages come from the stored manifest.
	v, err = env.ExecuteActivity(acts.BatchEpisodes, workflows.BatchEpisodesInput{ManifestKey: res.ManifestKey, Offset: 0, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	var page []workflows.Episode
	if err := v.Get(&page); err != nil {
		t.Fatal(err)
	}
	want := workflows.Episode{URL: srv.URL + "/media/ep2.mp3", Title: "Episode 2", Description: "Second", ReleaseDate: "2026-01-20T06:00:00Z"}
	if len(page) != 1 || page[0] != want {
		t.Fatalf("page 1 = %+v, want %+v", page, want)
	}
	v, err = env.ExecuteActivity(acts.BatchEpisodes, workflows.BatchEpisodesInput{ManifestKey: res.ManifestKey, Offset: 1, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Get(&page); err != nil {
		t.Fatal(err)
	}
	want = workflows.Episode{URL: "https://cdn.example/ep1.mp3", Title: "Episode 1", Description: "First", ReleaseDate: "2026-01-19T06:00:00Z"}
	if len(page) != 1 || page[0] != want {
		t.Fatalf("page 2 = %+v, want %+v", page, want)
	}
}

func TestResolveBatchAtomBySniffingAndByURL(t *testing.T) {
	for _, tc := range []struct{ path, ctype string }{
		{"/show", "text/plain"},        // sniffed from the body
		{"/podcast.atom", "text/html"}, // named by the URL
		{"/feed", "application/octet-stream"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", tc.ctype)
			fmt.Fprint(w, testAtom)
		}))
		env, _, acts := resolveEnv(t)
		v, err := env.ExecuteActivity(acts.ResolveBatch, workflows.ResolveBatchInput{BatchID: "b2", ShowURL: srv.URL + tc.path})
		srv.Close()
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		var res workflows.ResolveBatchResult
		if err := v.Get(&res); err != nil || res.Total != 1 {
			t.Fatalf("%s: %+v %v", tc.path, res, err)
		}
	}
}

func TestResolveBatchNotFoundIsPermanent(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	env, _, acts := resolveEnv(t)
	_, err := env.ExecuteActivity(acts.ResolveBatch, workflows.ResolveBatchInput{BatchID: "b3", ShowURL: srv.URL + "/feed.xml"})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != workflows.ErrTypeNotFound || !appErr.NonRetryable() {
		t.Fatalf("err = %v", err)
	}
}

func TestResolveBatchBrokenFeedIsUnsupported(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprint(w, "<rss><channel><item>")
	}))
	defer srv.Close()
	env, _, acts := resolveEnv(t)
	_, err := env.ExecuteActivity(acts.ResolveBatch, workflows.ResolveBatchInput{BatchID: "b4", ShowURL: srv.URL + "/x"})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != workflows.ErrTypeUnsupported {
		t.Fatalf("err = %v", err)
	}
}

// TestResolveBatchPlaylistWithYtdlp lists a non-feed page with yt-dlp; a
// stand-in script checks the flags and prints a flat playlist with a
// nested channel tab, as yt-dlp does for channels.
func TestResolveBatchPlaylistWithYtdlp(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body>a playlist page</body></html>")
	}))
	defer srv.Close()
	script := filepath.Join(t.TempDir(), "yt-dlp")
	body := `#!/bin/sh
case "$*" in *--flat-playlist*-J*) ;; *) echo "bad args: $*" >&2; exit 2;; esac
cat <<'JSON'
{"_type":"playlist","title":"P","entries":[
 {"_type":"url","url":"https://www.youtube.com/watch?v=aaa","title":"First","upload_date":"20260105"},
 {"_type":"playlist","title":"Shorts","entries":[
   {"_type":"url","url":"https://www.youtube.com/shorts/bbb","title":"Second","timestamp":1767225600}]},
 {"_type":"url","url":"ftp://nope","title":"skipped"}
]}
JSON
`
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	env, store, acts := resolveEnv(t)
	acts.Ytdlp = script
	v, err := env.ExecuteActivity(acts.ResolveBatch, workflows.ResolveBatchInput{BatchID: "b5", ShowURL: srv.URL + "/playlist"})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.ResolveBatchResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	if res.Total != 2 || res.Source != "ytdlp" {
		t.Fatalf("result %+v", res)
	}
	got := string(store.objs[res.ManifestKey])
	for _, want := range []string{`"url":"https://www.youtube.com/watch?v=aaa"`, `"release_date":"2026-01-05T00:00:00Z"`,
		`"url":"https://www.youtube.com/shorts/bbb"`, `"release_date":"2026-01-01T00:00:00Z"`} {
		if !strings.Contains(got, want) {
			t.Errorf("manifest lacks %s: %s", want, got)
		}
	}
}

func TestBatchEpisodesReadsManifestOnce(t *testing.T) {
	env, store, acts := resolveEnv(t)
	m := `{"show_url":"x","source":"feed","episodes":[{"url":"http://127.0.0.1/1"},{"url":"http://127.0.0.1/2"},{"url":"http://127.0.0.1/3"}]}`
	_ = store.PutObject(context.Background(), "k", []byte(m), "")
	for off := range 4 {
		v, err := env.ExecuteActivity(acts.BatchEpisodes, workflows.BatchEpisodesInput{ManifestKey: "k", Offset: off, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		var page []workflows.Episode
		if err := v.Get(&page); err != nil {
			t.Fatal(err)
		}
		if wantLen := min(2, 3-off); len(page) != wantLen {
			t.Fatalf("offset %d: %d episodes, want %d", off, len(page), wantLen)
		}
	}
	if store.gets != 1 {
		t.Fatalf("manifest read %d times, want once (cached)", store.gets)
	}
	if _, err := env.ExecuteActivity(acts.BatchEpisodes, workflows.BatchEpisodesInput{ManifestKey: "k", Offset: -1, Limit: 2}); err == nil {
		t.Fatal("negative offset accepted")
	}
}

func (m *manifestMem) Keys(_ context.Context, prefix string, limit int) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var keys []string
	for k := range m.objs {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys[:min(len(keys), limit)], nil
}

func (m *manifestMem) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objs, key)
	return nil
}

// has says whether key holds an object.
func (m *manifestMem) has(key string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.objs[key]
	return ok
}
