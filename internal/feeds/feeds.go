// Package feeds lists the episodes of RSS and Atom podcast feeds: it tells
// a feed from another answer, parses it and makes one episode per
// enclosure.
package feeds

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
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

// Limits bound one feed listing.
type Limits struct {
	// MaxBytes bounds the feed document read (0: DefaultMaxBytes).
	MaxBytes int64
	// MaxItems bounds its items or entries (0: no bound).
	MaxItems int
}

const (
	// DefaultMaxBytes is the default MaxBytes.
	DefaultMaxBytes = 64 << 20
	// fetchTimeout bounds fetching and parsing it.
	fetchTimeout = time.Minute
)

// Fetch GETs u with client and parses it when it is a feed, within lim. It
// returns nil, nil when u answers with something else, so another lister
// gets its turn.
//
// The document is read once under the limits first, counting its items as
// they stream by: a feed over either limit fails for good as soon as it
// passes it, having cost at most MaxBytes of memory, before the parser
// builds anything of it.
func Fetch(ctx context.Context, client *http.Client, u string, lim Limits) (*gofeed.Feed, error) {
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = DefaultMaxBytes
	}
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
	body := io.Reader(resp.Body)
	if !sources.LooksLikeFeedURL(u) && !sources.IsFeedContentType(resp.Header.Get("Content-Type")) {
		// Peek: many servers label feeds text/plain or octet-stream.
		head := make([]byte, 512)
		n, _ := io.ReadFull(resp.Body, head)
		if !looksLikeFeedBody(head[:n]) {
			return nil, nil
		}
		body = io.MultiReader(bytes.NewReader(head[:n]), resp.Body)
	}
	doc, err := read(body, u, lim)
	if err != nil {
		return nil, err
	}
	return parseFeed(doc.reader(), u)
}

func parseFeed(doc io.Reader, u string) (*gofeed.Feed, error) {
	feed, err := gofeed.NewParser().Parse(doc)
	if err != nil {
		return nil, failure.Permanent(workflows.ErrTypeUnsupported, "%s is not a readable RSS or Atom feed: %v", u, err)
	}
	return feed, nil
}

// read reads the feed document from r within lim, counting its <item> and
// <entry> elements with a streaming tokenizer.
func read(r io.Reader, u string, lim Limits) (*chunks, error) {
	doc := &chunks{}
	capped := &capReader{r: r, left: lim.MaxBytes}
	d := xml.NewDecoder(io.TeeReader(capped, doc))
	// As lenient as the parser: counting must not refuse what it reads.
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	// Element names are ASCII in every charset a feed uses in practice;
	// the parser decodes the text itself.
	d.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	items := 0
	for {
		tok, err := d.RawToken()
		if capped.over {
			return nil, TooLarge(u, lim.MaxBytes)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			// Not for the tokenizer to judge: read the rest for the parser,
			// whose error says more.
			_, err = io.Copy(doc, capped)
			if capped.over {
				return nil, TooLarge(u, lim.MaxBytes)
			}
			if err != nil {
				return nil, failure.Technical(err, "fetching %s: %v", u, err)
			}
			break
		}
		if se, ok := tok.(xml.StartElement); ok && (se.Name.Local == "item" || se.Name.Local == "entry") {
			if items++; lim.MaxItems > 0 && items > lim.MaxItems {
				return nil, TooManyItems(u, lim.MaxItems)
			}
		}
	}
	return doc, nil
}

// chunks keeps a document in 1 MiB pieces: unlike a growing buffer, it
// never holds twice its size while it grows.
type chunks struct{ pieces [][]byte }

const chunkSize = 1 << 20

func (c *chunks) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if k := len(c.pieces); k == 0 || len(c.pieces[k-1]) == chunkSize {
			c.pieces = append(c.pieces, make([]byte, 0, chunkSize))
		}
		last := &c.pieces[len(c.pieces)-1]
		m := min(len(p), chunkSize-len(*last))
		*last = append(*last, p[:m]...)
		p = p[m:]
	}
	return n, nil
}

func (c *chunks) reader() io.Reader {
	rs := make([]io.Reader, len(c.pieces))
	for i, p := range c.pieces {
		rs[i] = bytes.NewReader(p)
	}
	return io.MultiReader(rs...)
}

// TooLarge is the error of a feed document over limit bytes.
func TooLarge(u string, limit int64) error {
	return failure.Permanent(workflows.ErrTypeInvalidInput, "the feed at %s is over %d MiB, the most riptide reads", u, limit>>20)
}

// TooManyItems is the error of a feed with more than limit items.
func TooManyItems(u string, limit int) error {
	return failure.Permanent(workflows.ErrTypeInvalidInput, "the feed at %s lists over %d episodes; at most %d fit in a batch", u, limit, limit)
}

// capReader reads r until more than left bytes came, then fails, with
// over set.
type capReader struct {
	r    io.Reader
	left int64
	over bool
}

var errOver = errors.New("feed over the size limit")

func (c *capReader) Read(p []byte) (int, error) {
	if c.over {
		return 0, errOver
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	if c.left -= int64(n); c.left < 0 {
		c.over = true
		return 0, errOver
	}
	return n, err
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
				GUID:        strings.TrimSpace(it.GUID),
			})
		}
	}
	return eps
}

func looksLikeFeedBody(b []byte) bool {
	s := strings.ToLower(string(b))
	return strings.Contains(s, "<rss") || strings.Contains(s, "<feed") || strings.Contains(s, "<rdf:rdf")
}
