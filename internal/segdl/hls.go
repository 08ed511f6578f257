package segdl

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/grafov/m3u8"

	"github.com/riptide-dev/riptide/internal/failure"
	"github.com/riptide-dev/riptide/internal/livehls"
	"github.com/riptide-dev/riptide/workflows"
)

// ErrNotNative is a source the native downloader will not take (a live or
// empty playlist, SAMPLE-AES, a playlist it cannot read): yt-dlp's own
// downloader, or the live recorder, takes it instead.
type ErrNotNative struct{ Why string }

func (e *ErrNotNative) Error() string { return "not for the native downloader: " + e.Why }

func notNative(format string, args ...any) error {
	return &ErrNotNative{Why: fmt.Sprintf(format, args...)}
}

// IsNotNative tells whether err is an ErrNotNative.
func IsNotNative(err error) bool {
	_, ok := errors.AsType[*ErrNotNative](err)
	return ok
}

// Playlist is a loaded HLS playlist: a master one (Master set) or a media one.
type Playlist struct {
	Master *livehls.MasterPlaylist
	Media  *Media
}

// Media is an on-demand media playlist as parts to fetch.
type Media struct {
	Parts []Part
	// FMP4: the segments are fragmented MP4 (an init section leads).
	FMP4 bool
	// Duration is the sum of the segments' EXTINF, seconds.
	Duration float64
	// Audio: the segments look like raw audio (.aac, .mp3…): the file's
	// extension to use; "" for TS or fMP4.
	Ext string
}

// LoadHLS loads the playlist at u. A master playlist is read by
// livehls (whose variant choice the live recorder shares); a media
// playlist by grafov/m3u8. A live or empty media playlist, or one that
// needs what riptide does not do (SAMPLE-AES, an init section that
// changes mid-stream), is an ErrNotNative.
func LoadHLS(ctx context.Context, client *http.Client, h http.Header, u *url.URL) (*Playlist, error) {
	data, err := livehls.Fetch(ctx, client, h, u)
	if err != nil {
		return nil, err
	}
	if bytes.Contains(data, []byte("#EXT-X-STREAM-INF")) {
		master, _, err := livehls.Parse(u, data)
		if err != nil || master == nil {
			return nil, notNative("the master playlist: %v", err)
		}
		return &Playlist{Master: master}, nil
	}
	m, err := ParseMedia(u, data)
	if err != nil {
		return nil, err
	}
	return &Playlist{Media: m}, nil
}

// ParseMedia reads an on-demand media playlist into parts.
func ParseMedia(base *url.URL, data []byte) (*Media, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	pl, kind, err := m3u8.Decode(*bytes.NewBuffer(data), false)
	if err != nil {
		return nil, notNative("the playlist does not parse: %v", err)
	}
	mp, ok := pl.(*m3u8.MediaPlaylist)
	if kind != m3u8.MEDIA || !ok {
		return nil, notNative("not a media playlist")
	}
	if !mp.Closed && mp.MediaType != m3u8.VOD {
		return nil, notNative("a live playlist")
	}
	// grafov reads a byte range without an offset as offset 0; RFC 8216
	// says it follows the previous segment's range. Which ones have no
	// offset, in order, comes from the text.
	var rangeHasOffset []bool
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "#EXT-X-BYTERANGE:"); ok {
			rangeHasOffset = append(rangeHasOffset, strings.Contains(v, "@"))
		}
	}
	resolve := func(ref string) (*url.URL, error) {
		r, err := url.Parse(strings.TrimSpace(ref))
		if err != nil {
			return nil, notNative("a bad URI %q", ref)
		}
		u := base.ResolveReference(r)
		if u.Scheme != "http" && u.Scheme != "https" {
			return nil, failure.Permanent(workflows.ErrTypeUnsupported, "the HLS playlist names a %q URI; riptide fetches http(s) only", u.Scheme)
		}
		return u, nil
	}
	m := &Media{}
	var (
		key      *m3u8.Key
		curMap   *m3u8.Map
		mapURL   string
		ranges   int
		lastURI  string
		lastEnd  int64
		segIndex int
	)
	for _, seg := range mp.Segments {
		if seg == nil {
			break
		}
		if seg.Key != nil {
			key = seg.Key
		} else if segIndex == 0 && mp.Key != nil {
			key = mp.Key
		}
		if seg.Map != nil {
			curMap = seg.Map
		} else if segIndex == 0 && mp.Map != nil {
			curMap = mp.Map
		}
		if curMap != nil {
			id := fmt.Sprintf("%s@%d+%d", curMap.URI, curMap.Offset, curMap.Limit)
			switch {
			case mapURL == "":
				u, err := resolve(curMap.URI)
				if err != nil {
					return nil, err
				}
				if key != nil && !strings.EqualFold(key.Method, "NONE") {
					return nil, notNative("an encrypted init section")
				}
				m.Parts = append(m.Parts, Part{URL: u, Offset: curMap.Offset, Length: curMap.Limit})
				m.FMP4, mapURL = true, id
			case mapURL != id:
				return nil, notNative("an init section (EXT-X-MAP) that changes mid-stream")
			}
		}
		u, err := resolve(seg.URI)
		if err != nil {
			return nil, err
		}
		p := Part{URL: u}
		if seg.Limit > 0 {
			hasOffset := ranges < len(rangeHasOffset) && rangeHasOffset[ranges]
			ranges++
			p.Offset, p.Length = seg.Offset, seg.Limit
			if !hasOffset {
				if u.String() != lastURI {
					return nil, notNative("a byte range without offset that follows no range of the same file")
				}
				p.Offset = lastEnd
			}
			lastURI, lastEnd = u.String(), p.Offset+p.Length
		}
		if key != nil {
			switch strings.ToUpper(key.Method) {
			case "", "NONE":
			case "AES-128":
				if key.Keyformat != "" && key.Keyformat != "identity" {
					return nil, notNative("a key in format %q", key.Keyformat)
				}
				ku, err := resolve(key.URI)
				if err != nil {
					return nil, err
				}
				k := &Key{URL: ku}
				if key.IV != "" {
					iv, err := hex.DecodeString(strings.TrimPrefix(strings.TrimPrefix(key.IV, "0x"), "0X"))
					if err != nil || len(iv) != 16 {
						return nil, notNative("a bad IV %q", key.IV)
					}
					copy(k.IV[:], iv)
				} else {
					// RFC 8216 5.2: the media sequence number, big-endian.
					seq := mp.SeqNo + uint64(segIndex)
					for i := range 8 {
						k.IV[15-i] = byte(seq >> (8 * i))
					}
				}
				p.Key = k
			default:
				return nil, notNative("segments encrypted with %s", key.Method)
			}
		}
		m.Parts = append(m.Parts, p)
		m.Duration += seg.Duration
		segIndex++
	}
	if segIndex == 0 {
		return nil, notNative("a playlist without segments")
	}
	if !m.FMP4 {
		// Raw audio segments (packed audio, RFC 8216 3.4) name their kind.
		switch ext := strings.ToLower(path.Ext(m.Parts[0].URL.Path)); ext {
		case ".aac", ".mp3", ".ac3", ".ec3":
			m.Ext = ext[1:]
		}
	}
	return m, nil
}

// FileExt is the extension of the file the parts make.
func (m *Media) FileExt() string {
	switch {
	case m.FMP4:
		return "mp4"
	case m.Ext != "":
		return m.Ext
	}
	return "ts"
}
