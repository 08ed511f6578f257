package ytdlp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/riptide-dev/riptide/internal/failure"
	"github.com/riptide-dev/riptide/internal/mediainfo"
	"github.com/riptide-dev/riptide/workflows"
	"go.temporal.io/sdk/temporal"
)

// Playlist lists the entries of a playlist or channel without resolving
// each one (--flat-playlist), at most maxEntries of them (0: no limit).
// Titles and descriptions are as yt-dlp gives them, not shortened.
//
// yt-dlp's JSON is decoded as it arrives, one entry at a time, so a
// listing never holds more than maxEntries episodes: past them, yt-dlp is
// stopped and the listing fails for good. yt-dlp itself is asked for one
// entry more than the limit (--playlist-items), so it stops extracting
// there too.
func (r Runner) Playlist(ctx context.Context, showURL string, maxEntries int) ([]workflows.Episode, error) {
	args := []string{"--ignore-config", "--flat-playlist", "--yes-playlist", "-J"}
	if maxEntries > 0 {
		args = append(args, "--playlist-items", "1:"+strconv.Itoa(maxEntries+1))
	}
	args = append(args, "--", showURL)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	pr, pw := io.Pipe()
	l := &lister{max: maxEntries, showURL: showURL}
	decoded := make(chan error, 1)
	go func() {
		err := l.decode(pr)
		if err != nil {
			// Stop yt-dlp: nothing more it prints is wanted.
			cancel(err)
			pr.CloseWithError(err)
		} else {
			_, _ = io.Copy(io.Discard, pr)
		}
		decoded <- err
	}()
	err := r.Run(ctx, pw, noProgress, args...)
	_ = pw.Close()
	decErr := <-decoded
	if _, ok := errors.AsType[*temporal.ApplicationError](decErr); ok {
		return nil, decErr // over the limit
	}
	if err != nil {
		return nil, err
	}
	if decErr != nil {
		return nil, failure.Technical(decErr, "yt-dlp printed unreadable JSON: %v", decErr)
	}
	if l.typ != "playlist" && l.typ != "multi_video" && len(l.eps) == 0 {
		return nil, failure.Permanent(workflows.ErrTypeUnsupported, "%s is a single item, not a show, playlist or feed", showURL)
	}
	return l.eps, nil
}

// TooManyEntries is the error of a listing with more than limit entries.
func TooManyEntries(showURL string, limit int) error {
	return failure.Permanent(workflows.ErrTypeInvalidInput, "%s lists over %d episodes; at most %d fit in a batch",
		showURL, limit, limit)
}

// lister decodes yt-dlp's flat playlist JSON as a stream: the top object's
// _type, and its entries one by one. Channels nest playlists (videos,
// shorts, ...) in entries; an entry with entries of its own contributes
// those, down to two levels, and is an episode itself otherwise.
type lister struct {
	max     int
	showURL string
	typ     string
	seen    int // leaf entries decoded, kept or not
	eps     []workflows.Episode
}

// playlistEntry is the part of an entry riptide uses.
type playlistEntry struct {
	URL         string
	WebpageURL  string
	Title       string
	Description string
	UploadDate  string
	Timestamp   float64
	// ID and IEKey (the extractor) identify the video for subscriptions.
	ID    string
	IEKey string
}

func (l *lister) decode(r io.Reader) error {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		key, err := objectKey(dec)
		if err != nil {
			return err
		}
		switch key {
		case "_type":
			if err := decodeString(dec, &l.typ); err != nil {
				return err
			}
		case "entries":
			if _, err := l.entries(dec, 0); err != nil {
				return err
			}
		default:
			if err := skipValue(dec); err != nil {
				return err
			}
		}
	}
	_, err := dec.Token() // '}'
	return err
}

// entries decodes an entries array (or null) at depth, reporting whether
// it held any entry.
func (l *lister) entries(dec *json.Decoder, depth int) (bool, error) {
	tok, err := dec.Token()
	if err != nil {
		return false, err
	}
	if tok == nil {
		return false, nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return false, fmt.Errorf("entries is %v, not a list", tok)
	}
	had := false
	for dec.More() {
		had = true
		if err := l.entry(dec, depth); err != nil {
			return false, err
		}
	}
	_, err = dec.Token() // ']'
	return had, err
}

// entry decodes one entry object (null entries are skipped).
func (l *lister) entry(dec *json.Decoder, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("playlist entry is %v, not an object", tok)
	}
	var e playlistEntry
	nested := false
	for dec.More() {
		key, err := objectKey(dec)
		if err != nil {
			return err
		}
		var dst any
		switch key {
		case "url":
			dst = &e.URL
		case "webpage_url":
			dst = &e.WebpageURL
		case "title":
			dst = &e.Title
		case "description":
			dst = &e.Description
		case "upload_date":
			dst = &e.UploadDate
		case "timestamp":
			dst = &e.Timestamp
		case "id":
			dst = &e.ID
		case "ie_key":
			dst = &e.IEKey
		case "entries":
			if depth < 2 {
				had, err := l.entries(dec, depth+1)
				if err != nil {
					return err
				}
				nested = nested || had
				continue
			}
		}
		if dst == nil {
			err = skipValue(dec)
		} else {
			err = decodeLoose(dec, dst)
		}
		if err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return err
	}
	if !nested {
		return l.leaf(e)
	}
	return nil
}

// leaf makes an episode of an entry without entries of its own.
func (l *lister) leaf(e playlistEntry) error {
	l.seen++
	if l.max > 0 && l.seen > l.max {
		return TooManyEntries(l.showURL, l.max)
	}
	u := e.URL
	if e.WebpageURL != "" {
		u = e.WebpageURL
	}
	if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") {
		return nil
	}
	date := ""
	if e.Timestamp > 0 {
		date = time.Unix(int64(e.Timestamp), 0).UTC().Format(time.RFC3339)
	} else {
		date = mediainfo.NormalizeDate(e.UploadDate)
	}
	ep := workflows.Episode{URL: u, Title: e.Title, Description: e.Description, ReleaseDate: date}
	if e.ID != "" && e.IEKey != "" && e.IEKey != "Generic" {
		// A site's own video ID (the generic extractor's are not stable).
		ep.VideoID = e.IEKey + ":" + e.ID
	}
	l.eps = append(l.eps, ep)
	return nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("got %v, want %q", tok, want)
	}
	return nil
}

func objectKey(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	key, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("object key is %v", tok)
	}
	return key, nil
}

func decodeString(dec *json.Decoder, s *string) error {
	return decodeLoose(dec, s)
}

// decodeLoose decodes the next value into dst, leaving dst as it was when
// the value has another JSON type (null, or a number where a string was
// expected): one odd field must not cost the listing.
func decodeLoose(dec *json.Decoder, dst any) error {
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	_ = json.Unmarshal(raw, dst)
	return nil
}

// skipValue consumes the next value, however nested, without keeping it.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				depth++
			default:
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}
