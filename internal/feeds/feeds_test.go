package feeds

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/riptide-dev/riptide/workflows"
	"github.com/stretchr/testify/require"
)

const rss = `<?xml version="1.0"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel><title>Show</title>
<item><title>  One  </title><itunes:summary>Summary only</itunes:summary><pubDate>Mon, 19 Jan 2026 06:00:00 GMT</pubDate>
<enclosure url="media/one.mp3" type="audio/mpeg" length="1"/></item>
<item><title>Two</title><description>Described</description><enclosure url="ftp://x.example/two.mp3" type="audio/mpeg"/></item>
</channel></rss>`

// A feed served as text/plain is found by its body; relative enclosures
// resolve against the feed, and only HTTP(S) ones become episodes.
func TestFetchAndEpisodes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/page" {
			_, _ = w.Write([]byte("<html><body>not a feed</body></html>"))
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(rss))
	}))
	defer srv.Close()
	ctx := context.Background()

	feed, err := Fetch(ctx, srv.Client(), srv.URL+"/show", Limits{})
	require.NoError(t, err)
	require.NotNil(t, feed)
	require.Equal(t, []workflows.Episode{{URL: srv.URL + "/media/one.mp3", Title: "One", Description: "Summary only",
		ReleaseDate: "2026-01-19T06:00:00Z"}}, Episodes(srv.URL+"/show", feed))

	feed, err = Fetch(ctx, srv.Client(), srv.URL+"/page", Limits{})
	require.NoError(t, err)
	require.Nil(t, feed, "not a feed: another lister's turn")
}
