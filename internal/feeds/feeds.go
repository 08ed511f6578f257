// Package feeds lists the episodes of RSS and Atom podcast feeds: it tells
// a feed from another answer, parses it and makes one episode per
// enclosure.
package feeds

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"
	"go.temporal.io/sdk/temporal"

	"github.com/riptide-dev/riptide/internal/failure"
	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/internal/sources"
	"github.com/riptide-dev/riptide/workflows"
)

const (
	// maxBytes bounds the feed document read.
	maxBytes = 64 << 20
	// fetchTimeout bounds fetching and parsing it.
	fetchTimeout = time.Minute
)

// Fetch GETs u with client and parses it when it is a feed. It returns
// nil, nil when u answers with something else, so another lister gets its
// turn.
func Fetch(ctx context.Context, client *http.Client, u string) (*gofeed.Feed, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, failure.Permanent(workflows.ErrTypeInvalidInput, "show_url %q: %v", u, err)
	}
	req.Header.Set("Accept", "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5")
	resp, err := client.Do(req)
	if err != nil {
		// The message, which the client reads, names no address or port
		// (a redirect's target, what the name resolved to); the error is
		// its cause, in the history and the SDK's log of the failure.
		if ctx.Err() == nil && netguard.IsBlocked(err) {
			return nil, temporal.NewNonRetryableApplicationError(netguard.MsgSourceBlocked, workflows.ErrTypeBlockedAddress, err)
		}
		return nil, failure.Technical(err, "fetching the feed: %s", netguard.SourceMessage(err))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, failure.Permanent(workflows.ErrTypeNotFound, "HTTP %s fetching %s", resp.Status, u)
	case resp.StatusCode >= 400:
		return nil, failure.Technical(fmt.Errorf("status %d", resp.StatusCode), "HTTP %s fetching %s", resp.Status, u)
	}
	if !sources.LooksLikeFeedURL(u) && !sources.IsFeedContentType(resp.Header.Get("Content-Type")) {
		// Peek: many servers label feeds text/plain or octet-stream.
		head := make([]byte, 512)
		n, _ := io.ReadFull(resp.Body, head)
		if !looksLikeFeedBody(head[:n]) {
			return nil, nil
		}
		return parseFeed(io.MultiReader(bytes.NewReader(head[:n]), resp.Body), u)
	}
	return parseFeed(resp.Body, u)
}

func parseFeed(r io.Reader, u string) (*gofeed.Feed, error) {
	feed, err := gofeed.NewParser().Parse(io.LimitReader(r, maxBytes))
	if err != nil {
		return nil, failure.Permanent(workflows.ErrTypeUnsupported, "%s is not a readable RSS or Atom feed: %v", u, err)
	}
	return feed, nil
}

// Episodes makes one episode per enclosure, in feed order, with relative
// enclosure URLs resolved against showURL. Titles and descriptions are
// trimmed, not shortened.
func Episodes(showURL string, feed *gofeed.Feed) []workflows.Episode {
	var eps []workflows.Episode
	base, _ := url.Parse(showURL)
	for _, it := range feed.Items {
		date := ""
		switch {
		case it.PublishedParsed != nil:
			date = it.PublishedParsed.UTC().Format(time.RFC3339)
		case it.UpdatedParsed != nil:
			date = it.UpdatedParsed.UTC().Format(time.RFC3339)
		}
		desc := it.Description
		if desc == "" && it.ITunesExt != nil {
			desc = it.ITunesExt.Summary
		}
		for _, enc := range it.Enclosures {
			if enc == nil || strings.TrimSpace(enc.URL) == "" {
				continue
			}
			ref, err := url.Parse(strings.TrimSpace(enc.URL))
			if err != nil {
				continue
			}
			if base != nil {
				ref = base.ResolveReference(ref)
			}
			if ref.Scheme != "http" && ref.Scheme != "https" {
				continue
			}
			eps = append(eps, workflows.Episode{
				URL:         ref.String(),
				Title:       strings.TrimSpace(it.Title),
				Description: strings.TrimSpace(desc),
				ReleaseDate: date,
			})
		}
	}
	return eps
}

func looksLikeFeedBody(b []byte) bool {
	s := strings.ToLower(string(b))
	return strings.Contains(s, "<rss") || strings.Contains(s, "<feed") || strings.Contains(s, "<rdf:rdf")
}
