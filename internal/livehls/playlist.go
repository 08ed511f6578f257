// Package livehls records live HLS streams natively: it polls a media
// playlist, fetches each new segment once (by media sequence number)
// through the worker's guarded HTTP client (internal/httpget) and appends
// it to one file, until a duration cap or the stream's end (EXT-X-ENDLIST).
// The result goes through riptide's mux like any download.
//
// The playlist parser reads only the tags a recorder needs (RFC 8216):
// it is not a general HLS library, and it refuses what it cannot record
// faithfully (encrypted segments, byte ranges, an init section that
// changes mid-stream) rather than writing a broken file.
package livehls

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// MediaPlaylist is a media playlist: the segments of one rendition.
type MediaPlaylist struct {
	// TargetDuration is EXT-X-TARGETDURATION in seconds.
	TargetDuration float64
	// MediaSequence is the sequence number of Segments[0].
	MediaSequence int64
	// Type is EXT-X-PLAYLIST-TYPE: "VOD", "EVENT" or "" (none).
	Type string
	// Ended: EXT-X-ENDLIST, no segment will be added.
	Ended bool
	// Map is the init section (EXT-X-MAP) of fMP4 segments; nil for TS.
	Map      *url.URL
	Segments []Segment
}

// Segment is one media segment.
type Segment struct {
	Seq      int64
	Duration float64 // EXTINF, seconds
	URI      *url.URL
}

// Live tells whether segments may still be added to the playlist: no
// EXT-X-ENDLIST and not a VOD playlist.
func (p *MediaPlaylist) Live() bool { return !p.Ended && p.Type != "VOD" }

// Variant is one EXT-X-STREAM-INF of a master playlist.
type Variant struct {
	URI           *url.URL
	Bandwidth     int64
	Width, Height int
	// Audio is the AUDIO group ID of the renditions it plays with.
	Audio string
}

// Rendition is one EXT-X-MEDIA of a master playlist.
type Rendition struct {
	Type, GroupID string
	Default       bool
	URI           *url.URL // nil: carried in the variant's own segments
}

// MasterPlaylist lists a stream's variants.
type MasterPlaylist struct {
	Variants   []Variant
	Renditions []Rendition
}

// ErrNotPlaylist is the error of a document that is not an HLS playlist.
var ErrNotPlaylist = errors.New("not an HLS playlist (no #EXTM3U)")

// UnsupportedError is a playlist riptide cannot record faithfully.
type UnsupportedError struct{ What string }

func (e *UnsupportedError) Error() string { return "unsupported HLS stream: " + e.What }

// Parse reads a playlist fetched from base: exactly one of master and media
// is set.
func Parse(base *url.URL, data []byte) (master *MasterPlaylist, media *MediaPlaylist, err error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	if !sc.Scan() || strings.TrimSpace(sc.Text()) != "#EXTM3U" {
		return nil, nil, ErrNotPlaylist
	}
	var (
		m          MediaPlaylist
		ms         MasterPlaylist
		isMaster   bool
		seq        int64
		seqSet     bool
		duration   float64
		haveInf    bool
		pendingVar *Variant
		curMap     *url.URL
	)
	resolve := func(ref string) (*url.URL, error) {
		r, err := url.Parse(strings.TrimSpace(ref))
		if err != nil {
			return nil, fmt.Errorf("bad URI %q: %v", ref, err)
		}
		u := base.ResolveReference(r)
		if u.Scheme != "http" && u.Scheme != "https" {
			return nil, &UnsupportedError{What: fmt.Sprintf("a URI with scheme %q", u.Scheme)}
		}
		return u, nil
	}
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "#") {
			u, err := resolve(line)
			if err != nil {
				return nil, nil, err
			}
			if pendingVar != nil {
				pendingVar.URI = u
				ms.Variants = append(ms.Variants, *pendingVar)
				pendingVar = nil
				continue
			}
			if !haveInf {
				return nil, nil, fmt.Errorf("segment %q has no #EXTINF", line)
			}
			if !seqSet {
				seq, seqSet = m.MediaSequence, true
			}
			if !sameURL(curMap, m.Map) {
				return nil, nil, &UnsupportedError{What: "an init section (EXT-X-MAP) that changes mid-stream"}
			}
			m.Segments = append(m.Segments, Segment{Seq: seq, Duration: duration, URI: u})
			seq++
			haveInf = false
			continue
		}
		tag, value, _ := strings.Cut(line, ":")
		switch tag {
		case "#EXT-X-TARGETDURATION":
			f, err := strconv.ParseFloat(value, 64)
			if err != nil || f <= 0 {
				return nil, nil, fmt.Errorf("bad EXT-X-TARGETDURATION %q", value)
			}
			m.TargetDuration = f
		case "#EXT-X-MEDIA-SEQUENCE":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n < 0 {
				return nil, nil, fmt.Errorf("bad EXT-X-MEDIA-SEQUENCE %q", value)
			}
			m.MediaSequence = n
		case "#EXT-X-PLAYLIST-TYPE":
			m.Type = strings.ToUpper(value)
		case "#EXT-X-ENDLIST":
			m.Ended = true
		case "#EXTINF":
			d, _, _ := strings.Cut(value, ",")
			f, err := strconv.ParseFloat(strings.TrimSpace(d), 64)
			if err != nil || f < 0 {
				return nil, nil, fmt.Errorf("bad EXTINF %q", value)
			}
			duration, haveInf = f, true
		case "#EXT-X-KEY":
			if a := attributes(value); a["METHOD"] != "NONE" {
				return nil, nil, &UnsupportedError{What: "encrypted segments (EXT-X-KEY METHOD=" + a["METHOD"] + ")"}
			}
		case "#EXT-X-BYTERANGE":
			return nil, nil, &UnsupportedError{What: "byte-range segments (EXT-X-BYTERANGE)"}
		case "#EXT-X-MAP":
			a := attributes(value)
			if _, ok := a["BYTERANGE"]; ok {
				return nil, nil, &UnsupportedError{What: "a byte-range init section"}
			}
			u, err := resolve(a["URI"])
			if err != nil {
				return nil, nil, err
			}
			curMap = u
			if m.Map == nil {
				m.Map = u
			}
		case "#EXT-X-STREAM-INF":
			isMaster = true
			a := attributes(value)
			v := &Variant{Audio: a["AUDIO"]}
			v.Bandwidth, _ = strconv.ParseInt(a["BANDWIDTH"], 10, 64)
			if w, h, ok := strings.Cut(a["RESOLUTION"], "x"); ok {
				v.Width, _ = strconv.Atoi(w)
				v.Height, _ = strconv.Atoi(h)
			}
			pendingVar = v
		case "#EXT-X-MEDIA":
			isMaster = true
			a := attributes(value)
			r := Rendition{Type: a["TYPE"], GroupID: a["GROUP-ID"], Default: a["DEFAULT"] == "YES"}
			if a["URI"] != "" {
				u, err := resolve(a["URI"])
				if err != nil {
					return nil, nil, err
				}
				r.URI = u
			}
			ms.Renditions = append(ms.Renditions, r)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	if isMaster {
		if len(ms.Variants) == 0 {
			return nil, nil, errors.New("master playlist without variants")
		}
		return &ms, nil, nil
	}
	if m.TargetDuration == 0 {
		return nil, nil, errors.New("media playlist without EXT-X-TARGETDURATION")
	}
	return nil, &m, nil
}

func sameURL(a, b *url.URL) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.String() == b.String()
}

// attributes parses an attribute list: NAME=value pairs separated by
// commas, values possibly quoted (quotes removed; commas inside kept).
func attributes(s string) map[string]string {
	out := map[string]string{}
	for s != "" {
		name, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		name = strings.TrimSpace(name)
		var val string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				val, rest = rest[1:], ""
			} else {
				val, rest = rest[1:1+end], rest[2+end:]
			}
			_, rest, _ = strings.Cut(rest, ",")
		} else {
			val, rest, _ = strings.Cut(rest, ",")
		}
		out[name] = strings.TrimSpace(val)
		s = rest
	}
	return out
}

// PickVariant picks the variant to record: the highest bandwidth among
// those whose shorter side is at most maxSide (0: no cap; a variant of
// unknown size fits), else the one with the smallest shorter side.
func (ms *MasterPlaylist) PickVariant(maxSide int) Variant {
	shorter := func(v Variant) int {
		if v.Width > 0 && v.Width < v.Height {
			return v.Width
		}
		return v.Height
	}
	best, found := Variant{}, false
	for _, v := range ms.Variants {
		if maxSide > 0 && shorter(v) > maxSide {
			continue
		}
		if !found || v.Bandwidth > best.Bandwidth {
			best, found = v, true
		}
	}
	if found {
		return best
	}
	best = ms.Variants[0]
	for _, v := range ms.Variants[1:] {
		if shorter(v) < shorter(best) {
			best = v
		}
	}
	return best
}

// AudioFor is the URI of the audio rendition the variant plays with when
// its audio is apart from its segments (the group's default, else its
// first), or nil when the variant's segments carry the audio.
func (ms *MasterPlaylist) AudioFor(v Variant) *url.URL {
	if v.Audio == "" {
		return nil
	}
	var first *url.URL
	for _, r := range ms.Renditions {
		if r.Type != "AUDIO" || r.GroupID != v.Audio || r.URI == nil {
			continue
		}
		if r.Default {
			return r.URI
		}
		if first == nil {
			first = r.URI
		}
	}
	return first
}
