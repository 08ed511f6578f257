package segdl

import (
	"cmp"
	"context"
	"encoding/xml"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/riptide-dev/riptide/internal/failure"
	"github.com/riptide-dev/riptide/internal/livehls"
	"github.com/riptide-dev/riptide/workflows"
)

// A static DASH manifest (MPD) read natively, for a direct .mpd URL: what
// yt-dlp's -J would have said of it costs a Python start (0.6–0.8 s in
// make bench) that this saves. No Go DASH library is kept up and served
// by the module proxy, so this reads only the common shape and leaves the
// rest to yt-dlp (ErrNotNative): one period, no DRM, and per stream a
// SegmentTemplate (numbered or with a SegmentTimeline), a SegmentList or
// one whole file (BaseURL, with or without SegmentBase).

// MaxDASHSegments bounds the segments of one representation: a manifest
// can make a timeline repeat any number of times in a few bytes.
const MaxDASHSegments = 100_000

// Manifest is a static MPD's streams.
type Manifest struct {
	// Duration is the presentation's, seconds (0: unknown).
	Duration     float64
	Video, Audio []Representation
	// Text: the manifest has subtitle streams (yt-dlp reads those).
	Text bool
}

// Representation is one stream of a manifest. Its parts are listed only
// for the streams picked (Parts): a manifest can describe a hundred
// streams of a hundred thousand segments each in a few kilobytes.
type Representation struct {
	ID            string
	Bandwidth     int
	Width, Height int
	// Ext is the file's extension: mp4, m4a or webm.
	Ext   string
	parts func() ([]Part, error)
}

// Parts lists the representation's parts to fetch, the init segment
// first. What it cannot list exactly is an ErrNotNative.
func (r Representation) Parts() ([]Part, error) {
	parts, err := r.parts()
	if err != nil {
		return nil, err
	}
	for _, part := range parts {
		if part.URL.Scheme != "http" && part.URL.Scheme != "https" {
			return nil, failure.Permanent(workflows.ErrTypeUnsupported, "the DASH manifest names a %q URL; riptide fetches http(s) only", part.URL.Scheme)
		}
	}
	return parts, nil
}

// LoadDASH fetches and reads the MPD at u.
func LoadDASH(ctx context.Context, client *http.Client, h http.Header, u *url.URL) (*Manifest, error) {
	data, err := livehls.FetchDocument(ctx, client, h, u, "DASH manifest")
	if err != nil {
		return nil, err
	}
	return ParseMPD(u, data)
}

type mpdXML struct {
	XMLName  xml.Name    `xml:"MPD"`
	Type     string      `xml:"type,attr"`
	Duration string      `xml:"mediaPresentationDuration,attr"`
	BaseURL  []string    `xml:"BaseURL"`
	Periods  []periodXML `xml:"Period"`
}

type periodXML struct {
	Duration string   `xml:"duration,attr"`
	Start    string   `xml:"start,attr"`
	Sets     []setXML `xml:"AdaptationSet"`
	segInfo
}

// segInfo is what a Period, an AdaptationSet and a Representation may
// each say of where segments are.
type segInfo struct {
	BaseURL  []string   `xml:"BaseURL"`
	Template *templXML  `xml:"SegmentTemplate"`
	List     *listXML   `xml:"SegmentList"`
	Base     *struct{}  `xml:"SegmentBase"`
	Protect  []struct{} `xml:"ContentProtection"`
}

// repAttrs are what an AdaptationSet and its Representations share.
type repAttrs struct {
	MimeType    string `xml:"mimeType,attr"`
	ContentType string `xml:"contentType,attr"`
	Width       int    `xml:"width,attr"`
	Height      int    `xml:"height,attr"`
	segInfo
}

type setXML struct {
	repAttrs
	Reps []repXML `xml:"Representation"`
}

type repXML struct {
	repAttrs
	ID        string `xml:"id,attr"`
	Bandwidth int    `xml:"bandwidth,attr"`
}

type templXML struct {
	Media          string       `xml:"media,attr"`
	Initialization string       `xml:"initialization,attr"`
	StartNumber    *int64       `xml:"startNumber,attr"`
	Timescale      *int64       `xml:"timescale,attr"`
	Duration       *int64       `xml:"duration,attr"`
	Timeline       *timelineXML `xml:"SegmentTimeline"`
}

type timelineXML struct {
	S []struct {
		T *int64 `xml:"t,attr"`
		D int64  `xml:"d,attr"`
		R int64  `xml:"r,attr"`
	} `xml:"S"`
}

type listXML struct {
	Init *struct {
		SourceURL string `xml:"sourceURL,attr"`
		Range     string `xml:"range,attr"`
	} `xml:"Initialization"`
	URLs []struct {
		Media string `xml:"media,attr"`
		Range string `xml:"mediaRange,attr"`
	} `xml:"SegmentURL"`
}

// ParseMPD reads a static MPD fetched from base. What it cannot read
// exactly is an ErrNotNative, for yt-dlp.
func ParseMPD(base *url.URL, data []byte) (*Manifest, error) {
	var doc mpdXML
	if err := xml.Unmarshal(data, &doc); err != nil {
		return nil, notNative("the DASH manifest does not parse: %v", err)
	}
	if doc.Type == "dynamic" {
		return nil, notNative("a live DASH manifest")
	}
	if len(doc.Periods) != 1 {
		return nil, notNative("a DASH manifest with %d periods", len(doc.Periods))
	}
	p := doc.Periods[0]
	if p.Template != nil || p.List != nil || p.Base != nil {
		return nil, notNative("segment information at the period level")
	}
	if len(p.Protect) > 0 {
		return nil, notNative("a DRM-protected DASH manifest")
	}
	total, ok := isoSeconds(doc.Duration)
	if pd, pok := isoSeconds(p.Duration); pok {
		total, ok = pd, true
	} else if start, sok := isoSeconds(p.Start); ok && sok {
		total -= start
	}
	m := &Manifest{}
	if ok && total > 0 {
		m.Duration = total
	}
	b, err := withBase(base, doc.BaseURL)
	if err != nil {
		return nil, err
	}
	if b, err = withBase(b, p.BaseURL); err != nil {
		return nil, err
	}
	for _, set := range p.Sets {
		if len(set.Protect) > 0 {
			return nil, notNative("a DRM-protected DASH stream")
		}
		sb, err := withBase(b, set.BaseURL)
		if err != nil {
			return nil, err
		}
		for _, r := range set.Reps {
			if len(r.Protect) > 0 {
				return nil, notNative("a DRM-protected DASH stream")
			}
			kind, ext := streamKind(cmp.Or(r.MimeType, set.MimeType), cmp.Or(r.ContentType, set.ContentType))
			if kind == "" {
				// Subtitles, thumbnails: what riptide does not mux.
				m.Text = m.Text || isText(cmp.Or(r.MimeType, set.MimeType), cmp.Or(r.ContentType, set.ContentType))
				continue
			}
			rb, err := withBase(sb, r.BaseURL)
			if err != nil {
				return nil, err
			}
			rep := Representation{ID: r.ID, Bandwidth: r.Bandwidth, Width: cmp.Or(r.Width, set.Width),
				Height: cmp.Or(r.Height, set.Height), Ext: ext}
			templ, list := mergeTemplate(set.Template, r.Template), r.List
			if list == nil {
				list = set.List
			}
			switch {
			case templ != nil:
				rep.parts = func() ([]Part, error) { return templateParts(rb, templ, r, m.Duration) }
			case list != nil:
				rep.parts = func() ([]Part, error) { return listParts(rb, list) }
			case len(r.BaseURL) > 0 || len(set.BaseURL) > 0:
				// One file holds the stream (SegmentBase only indexes it).
				rep.parts = func() ([]Part, error) { return []Part{{URL: rb}}, nil }
			default:
				return nil, notNative("a DASH stream without segments")
			}
			if kind == "video" {
				m.Video = append(m.Video, rep)
			} else {
				m.Audio = append(m.Audio, rep)
			}
		}
	}
	if len(m.Video)+len(m.Audio) == 0 {
		return nil, notNative("a DASH manifest without audio or video")
	}
	return m, nil
}

// Pick chooses the streams to download: the video of the highest
// bandwidth whose shorter side is at most maxSide (0: no cap; else the
// smallest), as the HLS variant choice, plus the audio of the highest
// bandwidth; the audio alone when audioOnly. ok is false when the
// manifest has nothing to pick for that.
func (m *Manifest) Pick(maxSide int, audioOnly bool) (picked []Representation, ok bool) {
	best := func(reps []Representation, fits func(Representation) bool) (Representation, bool) {
		var b Representation
		found := false
		for _, r := range reps {
			if fits(r) && (!found || r.Bandwidth > b.Bandwidth) {
				b, found = r, true
			}
		}
		return b, found
	}
	all := func(Representation) bool { return true }
	audio, hasAudio := best(m.Audio, all)
	if audioOnly {
		return []Representation{audio}, hasAudio
	}
	if len(m.Video) == 0 {
		return []Representation{audio}, hasAudio
	}
	shorter := func(r Representation) int {
		if r.Width > 0 && r.Width < r.Height {
			return r.Width
		}
		return r.Height
	}
	video, found := best(m.Video, func(r Representation) bool { return maxSide <= 0 || shorter(r) <= maxSide })
	if !found {
		video = m.Video[0]
		for _, r := range m.Video[1:] {
			if shorter(r) < shorter(video) {
				video = r
			}
		}
	}
	picked = []Representation{video}
	if hasAudio {
		picked = append(picked, audio)
	}
	return picked, true
}

// streamKind is "video" or "audio" and the file's extension, "" for a
// stream riptide does not mux.
func streamKind(mime, contentType string) (kind, ext string) {
	mime = strings.ToLower(strings.TrimSpace(mime))
	switch {
	case strings.HasPrefix(mime, "video/"):
		kind = "video"
	case strings.HasPrefix(mime, "audio/"):
		kind = "audio"
	case mime == "" && (contentType == "video" || contentType == "audio"):
		kind = contentType
	default:
		return "", ""
	}
	switch {
	case strings.HasSuffix(mime, "/webm"):
		return kind, "webm"
	case kind == "audio":
		return kind, "m4a"
	}
	return kind, "mp4"
}

// isText tells a subtitle stream: WebVTT, TTML, or TTML in MP4 (stpp).
func isText(mime, contentType string) bool {
	mime = strings.ToLower(mime)
	return contentType == "text" || strings.HasPrefix(mime, "text/") || mime == "application/ttml+xml" || mime == "application/mp4"
}

// mergeTemplate is the representation's SegmentTemplate over its
// adaptation set's: each attribute from the nearer one that has it.
func mergeTemplate(set, rep *templXML) *templXML {
	if set == nil {
		return rep
	}
	if rep == nil {
		return set
	}
	t := *set
	if rep.Media != "" {
		t.Media = rep.Media
	}
	if rep.Initialization != "" {
		t.Initialization = rep.Initialization
	}
	if rep.StartNumber != nil {
		t.StartNumber = rep.StartNumber
	}
	if rep.Timescale != nil {
		t.Timescale = rep.Timescale
	}
	if rep.Duration != nil {
		t.Duration = rep.Duration
	}
	if rep.Timeline != nil {
		t.Timeline = rep.Timeline
	}
	return &t
}

// templateParts expands a SegmentTemplate: the init segment, then one
// part per S of the timeline (and its repeats), else per duration to the
// end of the period.
func templateParts(base *url.URL, t *templXML, r repXML, periodSecs float64) ([]Part, error) {
	if t.Media == "" {
		return nil, notNative("a SegmentTemplate without media")
	}
	number, scale := int64(1), int64(1)
	if t.StartNumber != nil {
		number = *t.StartNumber
	}
	if t.Timescale != nil && *t.Timescale > 0 {
		scale = *t.Timescale
	}
	var parts []Part
	add := func(tmpl string, number, time int64) error {
		ref, err := expandTemplate(tmpl, r.ID, r.Bandwidth, number, time)
		if err != nil {
			return err
		}
		u, err := resolveRef(base, ref)
		if err != nil {
			return err
		}
		parts = append(parts, Part{URL: u})
		return nil
	}
	if t.Initialization != "" {
		if err := add(t.Initialization, 0, 0); err != nil {
			return nil, err
		}
	}
	segments := 0
	more := func() error {
		if segments++; segments > MaxDASHSegments {
			return failure.Permanent(workflows.ErrTypeUnsupported, "the DASH manifest lists over %d segments in a stream", MaxDASHSegments)
		}
		return nil
	}
	switch {
	case t.Timeline != nil:
		var at int64
		end := int64(math.MaxInt64)
		if periodSecs > 0 {
			end = int64(periodSecs * float64(scale))
		}
		for i, s := range t.Timeline.S {
			if s.T != nil {
				at = *s.T
			}
			if s.D <= 0 {
				return nil, notNative("a SegmentTimeline entry without a duration")
			}
			repeats := s.R
			if repeats < 0 {
				// Up to the next S's start, or the period's end.
				stop := end
				if i+1 < len(t.Timeline.S) && t.Timeline.S[i+1].T != nil {
					stop = *t.Timeline.S[i+1].T
				}
				if stop == math.MaxInt64 {
					return nil, notNative("an open-ended SegmentTimeline without a period duration")
				}
				repeats = (stop-at+s.D-1)/s.D - 1
			}
			for range repeats + 1 {
				if err := more(); err != nil {
					return nil, err
				}
				if err := add(t.Media, number, at); err != nil {
					return nil, err
				}
				number++
				at += s.D
			}
		}
	case t.Duration != nil && *t.Duration > 0:
		if periodSecs <= 0 {
			return nil, notNative("a numbered SegmentTemplate without a period duration")
		}
		count := int64(math.Ceil(periodSecs * float64(scale) / float64(*t.Duration)))
		for i := range count {
			if err := more(); err != nil {
				return nil, err
			}
			if err := add(t.Media, number+i, i**t.Duration); err != nil {
				return nil, err
			}
		}
	default:
		return nil, notNative("a SegmentTemplate with neither a timeline nor a duration")
	}
	if segments == 0 {
		return nil, notNative("a DASH stream without segments")
	}
	return parts, nil
}

// listParts reads a SegmentList: its init segment, then its segments.
func listParts(base *url.URL, l *listXML) ([]Part, error) {
	var parts []Part
	add := func(ref, byteRange string) error {
		u := base
		if ref != "" {
			var err error
			if u, err = resolveRef(base, ref); err != nil {
				return err
			}
		}
		p := Part{URL: u}
		if byteRange != "" {
			first, last, ok := parseRange(byteRange)
			if !ok {
				return notNative("a bad byte range %q", byteRange)
			}
			p.Offset, p.Length = first, last-first+1
		}
		parts = append(parts, p)
		return nil
	}
	if l.Init != nil {
		if err := add(l.Init.SourceURL, l.Init.Range); err != nil {
			return nil, err
		}
	}
	if len(l.URLs) == 0 {
		return nil, notNative("a SegmentList without segments")
	}
	if len(l.URLs) > MaxDASHSegments {
		return nil, failure.Permanent(workflows.ErrTypeUnsupported, "the DASH manifest lists over %d segments in a stream", MaxDASHSegments)
	}
	for _, s := range l.URLs {
		if err := add(s.Media, s.Range); err != nil {
			return nil, err
		}
	}
	return parts, nil
}

// templateVar is one $…$ of a SegmentTemplate: a name and an optional
// printf width (%05d), or $$.
var templateVar = regexp.MustCompile(`\$(RepresentationID|Number|Time|Bandwidth)(%0?[0-9]*d)?\$|\$\$`)

// expandTemplate fills a SegmentTemplate's media or initialization
// string (ISO/IEC 23009-1 5.3.9.4.4).
func expandTemplate(tmpl, id string, bandwidth int, number, time int64) (string, error) {
	if strings.Contains(templateVar.ReplaceAllString(tmpl, ""), "$") {
		return "", notNative("a template identifier riptide does not know in %q", tmpl)
	}
	var bad error
	out := templateVar.ReplaceAllStringFunc(tmpl, func(v string) string {
		if v == "$$" {
			return "$"
		}
		m := templateVar.FindStringSubmatch(v)
		format := m[2]
		if format == "" {
			format = "%d"
		}
		if w := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(format, "%"), "0"), "d"); w != "" {
			if n, err := strconv.Atoi(w); err != nil || n > 20 {
				bad = notNative("a template width %q", format)
				return ""
			}
		}
		switch m[1] {
		case "RepresentationID":
			if m[2] != "" {
				bad = notNative("a width on $RepresentationID$")
			}
			return id
		case "Number":
			return fmt.Sprintf(format, number)
		case "Time":
			return fmt.Sprintf(format, time)
		default:
			return fmt.Sprintf(format, bandwidth)
		}
	})
	if bad != nil {
		return "", bad
	}
	return out, nil
}

// withBase resolves the first BaseURL of an element against base.
func withBase(base *url.URL, refs []string) (*url.URL, error) {
	if len(refs) == 0 {
		return base, nil
	}
	return resolveRef(base, refs[0])
}

func resolveRef(base *url.URL, ref string) (*url.URL, error) {
	r, err := url.Parse(strings.TrimSpace(ref))
	if err != nil {
		return nil, notNative("a bad URL %q", ref)
	}
	return base.ResolveReference(r), nil
}

// parseRange reads "first-last" (bytes, inclusive).
func parseRange(s string) (first, last int64, ok bool) {
	a, b, found := strings.Cut(strings.TrimSpace(s), "-")
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	return first, last, found && err1 == nil && err2 == nil && first >= 0 && last >= first
}

// isoDuration is an xs:duration as MPDs write them: PnYnMnDTnHnMnS, years
// and months refused (their length varies).
var isoDuration = regexp.MustCompile(`^P(?:([0-9.]+)D)?(?:T(?:([0-9.]+)H)?(?:([0-9.]+)M)?(?:([0-9.]+)S)?)?$`)

// isoSeconds reads an xs:duration in seconds.
func isoSeconds(s string) (float64, bool) {
	m := isoDuration.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil || s == "P" || s == "PT" {
		return 0, false
	}
	secs := 0.0
	for i, unit := range []float64{86400, 3600, 60, 1} {
		if m[i+1] == "" {
			continue
		}
		v, err := strconv.ParseFloat(m[i+1], 64)
		if err != nil || math.IsInf(v, 0) {
			return 0, false
		}
		secs += v * unit
	}
	return secs, true
}
