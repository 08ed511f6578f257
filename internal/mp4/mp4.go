// Package mp4 reads what riptide needs from an MP4, QuickTime or M4A file's
// boxes in pure Go, sparing a tiny job the cost of starting ffprobe.
package mp4

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"strings"

	"github.com/riptide-dev/riptide/internal/mediainfo"
	"github.com/riptide-dev/riptide/workflows"
)

// ReadInfo reads what a probe needs from an MP4, QuickTime or M4A file's
// boxes, without starting ffprobe: on Debian's ffmpeg build, with its
// 215 shared libraries, starting ffprobe costs ~75 ms of CPU, most of a tiny
// job's own work. It answers only for the plain layout it fully understands
// (ftyp, a moov with mvhd, traks and at most iTunes-style udta/meta/ilst
// text tags) and returns false for anything else (fragmented files, cover
// art, QuickTime user-data or keyed metadata, odd boxes), for which ffprobe
// answers as before. A test in internal/ffmpeg compares both on generated
// files.
func ReadInfo(r io.ReaderAt, size int64) (*workflows.MediaInfo, bool) {
	p := mp4Parser{r: r}
	m, err := p.parse(size)
	if err != nil {
		return nil, false
	}
	return m, true
}

// ReadFile is ReadInfo on a file.
func ReadFile(file string) (*workflows.MediaInfo, bool) {
	f, err := os.Open(file)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, false
	}
	return ReadInfo(f, st.Size())
}

var errMP4Unsupported = errors.New("mp4 layout not handled natively")

type mp4Parser struct {
	r io.ReaderAt
}

// mp4Box is one box: its type and where its payload lies.
type mp4Box struct {
	typ       string
	off, size int64 // payload
}

// boxes lists the boxes in [off, end).
func (p *mp4Parser) boxes(off, end int64) ([]mp4Box, error) {
	var out []mp4Box
	var hdr [16]byte
	for off < end {
		if end-off < 8 {
			return nil, errMP4Unsupported
		}
		if _, err := p.r.ReadAt(hdr[:8], off); err != nil {
			return nil, err
		}
		size := int64(binary.BigEndian.Uint32(hdr[:4]))
		typ := string(hdr[4:8])
		head := int64(8)
		switch size {
		case 0: // to the end
			size = end - off
		case 1: // 64-bit size follows
			if _, err := p.r.ReadAt(hdr[8:16], off+8); err != nil {
				return nil, err
			}
			size = int64(binary.BigEndian.Uint64(hdr[8:16]))
			head = 16
		}
		if size < head || size > end-off {
			return nil, errMP4Unsupported
		}
		out = append(out, mp4Box{typ: typ, off: off + head, size: size - head})
		off += size
		if len(out) > 10000 {
			return nil, errMP4Unsupported
		}
	}
	return out, nil
}

func (p *mp4Parser) read(b mp4Box, max int64) ([]byte, error) {
	if b.size > max {
		return nil, errMP4Unsupported
	}
	buf := make([]byte, b.size)
	if _, err := p.r.ReadAt(buf, b.off); err != nil {
		return nil, err
	}
	return buf, nil
}

func (p *mp4Parser) parse(size int64) (*workflows.MediaInfo, error) {
	top, err := p.boxes(0, size)
	if err != nil {
		return nil, err
	}
	if len(top) == 0 || top[0].typ != "ftyp" {
		return nil, errMP4Unsupported
	}
	ftyp, err := p.read(top[0], 1024)
	if err != nil || len(ftyp) < 4 {
		return nil, errMP4Unsupported
	}
	m := &workflows.MediaInfo{Container: mediainfo.ContainerOf("mov,mp4,m4a,3gp,3g2,mj2", string(ftyp[:4]), "", nil)}
	if m.Container == "" {
		return nil, errMP4Unsupported
	}
	var moov *mp4Box
	for i, b := range top[1:] {
		switch b.typ {
		case "moov":
			if moov != nil {
				return nil, errMP4Unsupported
			}
			moov = &top[1+i]
		case "mdat", "free", "skip", "wide":
		default: // moof (fragmented), meta, uuid, …
			return nil, errMP4Unsupported
		}
	}
	if moov == nil {
		return nil, errMP4Unsupported
	}
	children, err := p.boxes(moov.off, moov.off+moov.size)
	if err != nil {
		return nil, err
	}
	sawHeader := false
	for _, b := range children {
		switch b.typ {
		case "mvhd":
			if m.Duration, err = p.mvhdDuration(b); err != nil {
				return nil, err
			}
			sawHeader = true
		case "trak":
			kind, err := p.trackKind(b)
			if err != nil {
				return nil, err
			}
			switch kind {
			case "vide":
				m.Video++
				if m.VideoCodec == "" {
					if m.VideoCodec, m.Width, m.Height, err = p.sampleEntry(b, true); err != nil {
						return nil, err
					}
				}
			case "soun":
				m.Audio++
				if m.AudioCodec == "" {
					if m.AudioCodec, _, _, err = p.sampleEntry(b, false); err != nil {
						return nil, err
					}
				}
			default:
				m.Other++
			}
		case "udta":
			if err := p.userData(b, m); err != nil {
				return nil, err
			}
		case "iods", "free", "skip":
		default: // mvex (fragmented), meta (keyed metadata), …
			return nil, errMP4Unsupported
		}
	}
	if !sawHeader {
		return nil, errMP4Unsupported
	}
	return m, nil
}

// mvhdDuration is the movie's duration in seconds.
func (p *mp4Parser) mvhdDuration(b mp4Box) (float64, error) {
	d, err := p.read(b, 256)
	if err != nil || len(d) < 1 {
		return 0, errMP4Unsupported
	}
	var timescale, duration uint64
	switch {
	case d[0] == 0 && len(d) >= 20:
		timescale, duration = uint64(binary.BigEndian.Uint32(d[12:16])), uint64(binary.BigEndian.Uint32(d[16:20]))
	case d[0] == 1 && len(d) >= 32:
		timescale, duration = uint64(binary.BigEndian.Uint32(d[20:24])), binary.BigEndian.Uint64(d[24:32])
	default:
		return 0, errMP4Unsupported
	}
	if timescale == 0 || duration == 0 || duration == 1<<32-1 || duration == 1<<64-1 {
		return 0, errMP4Unsupported // unknown: let ffprobe work it out
	}
	return float64(duration) / float64(timescale), nil
}

// trackKind is a trak's handler type: vide, soun, text, tmcd, …
func (p *mp4Parser) trackKind(trak mp4Box) (string, error) {
	mdia, err := p.child(trak, "mdia")
	if err != nil {
		return "", err
	}
	hdlr, err := p.child(mdia, "hdlr")
	if err != nil {
		return "", err
	}
	d, err := p.read(hdlr, 4096)
	if err != nil || len(d) < 12 {
		return "", errMP4Unsupported
	}
	return string(d[8:12]), nil
}

// child is b's only child of the given type.
func (p *mp4Parser) child(b mp4Box, typ string) (mp4Box, error) {
	kids, err := p.boxes(b.off, b.off+b.size)
	if err != nil {
		return mp4Box{}, err
	}
	var found *mp4Box
	for i := range kids {
		if kids[i].typ == typ {
			if found != nil {
				return mp4Box{}, errMP4Unsupported
			}
			found = &kids[i]
		}
	}
	if found == nil {
		return mp4Box{}, errMP4Unsupported
	}
	return *found, nil
}

// userData reads udta/meta/ilst, the iTunes-style tags ffmpeg and most
// tools write. QuickTime-style udta text boxes are left to ffprobe.
func (p *mp4Parser) userData(udta mp4Box, m *workflows.MediaInfo) error {
	kids, err := p.boxes(udta.off, udta.off+udta.size)
	if err != nil {
		return err
	}
	for _, k := range kids {
		if k.typ != "meta" {
			return errMP4Unsupported
		}
		// ISO meta is a full box (4 bytes of version and flags before its
		// children); only that form is handled.
		if k.size < 4 {
			return errMP4Unsupported
		}
		var vf [4]byte
		if _, err := p.r.ReadAt(vf[:], k.off); err != nil || vf != [4]byte{} {
			return errMP4Unsupported
		}
		items, err := p.boxes(k.off+4, k.off+k.size)
		if err != nil {
			return err
		}
		for _, it := range items {
			switch it.typ {
			case "hdlr":
				d, err := p.read(it, 4096)
				if err != nil || len(d) < 12 || string(d[8:12]) != "mdir" {
					return errMP4Unsupported
				}
			case "ilst":
				if err := p.itemList(it, m); err != nil {
					return err
				}
			case "free":
			default: // keys (keyed metadata), …
				return errMP4Unsupported
			}
		}
	}
	return nil
}

// itemList reads the text items riptide uses, as ffmpeg's mov demuxer names
// them: ©nam title, ©day date, desc description, ©cmt comment.
func (p *mp4Parser) itemList(ilst mp4Box, m *workflows.MediaInfo) error {
	items, err := p.boxes(ilst.off, ilst.off+ilst.size)
	if err != nil {
		return err
	}
	var title, date, desc, comment string
	for _, it := range items {
		if it.typ == "covr" {
			return errMP4Unsupported // ffprobe shows cover art as a video stream
		}
		var dst *string
		switch it.typ {
		case "\xa9nam":
			dst = &title
		case "\xa9day":
			dst = &date
		case "desc":
			dst = &desc
		case "\xa9cmt":
			dst = &comment
		default:
			continue
		}
		data, err := p.boxes(it.off, it.off+it.size)
		if err != nil || len(data) != 1 || data[0].typ != "data" {
			return errMP4Unsupported
		}
		d, err := p.read(data[0], 1<<20)
		// Type indicator 1 is UTF-8 text; then 4 bytes of locale.
		if err != nil || len(d) < 8 || !bytes.Equal(d[:4], []byte{0, 0, 0, 1}) {
			return errMP4Unsupported
		}
		*dst = strings.TrimSpace(string(d[8:]))
	}
	m.Title = title
	m.Description = cmp.Or(desc, comment)
	m.ReleaseDate = mediainfo.NormalizeDate(date)
	return nil
}

// sampleCodecs are ffprobe's names of the sample entry types riptide
// meets; mp4a is told apart by its esds (sampleEntry). Any other type is
// left to ffprobe.
var sampleCodecs = map[string]string{
	"avc1": "h264", "avc3": "h264", "hvc1": "hevc", "hev1": "hevc", "vp09": "vp9", "av01": "av1",
	"Opus": "opus", "fLaC": "flac", "alac": "alac", "ac-3": "ac3", "ec-3": "eac3",
}

// sampleEntry is the codec (ffprobe's name) of a trak's first sample
// description and, for video, its coded width and height.
func (p *mp4Parser) sampleEntry(trak mp4Box, video bool) (codec string, w, h int, err error) {
	b := trak
	for _, typ := range []string{"mdia", "minf", "stbl", "stsd"} {
		if b, err = p.child(b, typ); err != nil {
			return "", 0, 0, err
		}
	}
	// stsd: version and flags, an entry count, then the entries.
	if b.size < 8 {
		return "", 0, 0, errMP4Unsupported
	}
	entries, err := p.boxes(b.off+8, b.off+b.size)
	if err != nil || len(entries) == 0 {
		return "", 0, 0, errMP4Unsupported
	}
	e := entries[0]
	if video {
		d, err := p.read(e, 1<<16)
		if err != nil || len(d) < 28 {
			return "", 0, 0, errMP4Unsupported
		}
		w, h = int(binary.BigEndian.Uint16(d[24:26])), int(binary.BigEndian.Uint16(d[26:28]))
	}
	if c, ok := sampleCodecs[e.typ]; ok {
		return c, w, h, nil
	}
	if e.typ != "mp4a" {
		return "", 0, 0, errMP4Unsupported
	}
	// An ISO audio sample entry (version 0) has 28 bytes before its boxes.
	var ver [2]byte
	if e.size < 28 {
		return "", 0, 0, errMP4Unsupported
	}
	if _, err := p.r.ReadAt(ver[:], e.off+8); err != nil || ver != [2]byte{} {
		return "", 0, 0, errMP4Unsupported
	}
	kids, err := p.boxes(e.off+28, e.off+e.size)
	if err != nil {
		return "", 0, 0, errMP4Unsupported
	}
	for _, k := range kids {
		if k.typ != "esds" {
			continue
		}
		d, err := p.read(k, 1<<16)
		if err != nil {
			return "", 0, 0, errMP4Unsupported
		}
		switch esdsObjectType(d) {
		case 0x40, 0x66, 0x67, 0x68:
			return "aac", 0, 0, nil
		case 0x69, 0x6B:
			return "mp3", 0, 0, nil
		}
	}
	return "", 0, 0, errMP4Unsupported
}

// esdsObjectType is the objectTypeIndication of an esds box's decoder
// config (ISO 14496-1), 0 when it cannot be read.
func esdsObjectType(d []byte) byte {
	i := 4 // version and flags
	// descriptor reads a tag and its length, returning the payload start.
	descriptor := func(tag byte) bool {
		if i >= len(d) || d[i] != tag {
			return false
		}
		i++
		for n := 0; n < 4 && i < len(d); n++ {
			c := d[i]
			i++
			if c&0x80 == 0 {
				return true
			}
		}
		return false
	}
	if !descriptor(0x03) || i+3 > len(d) {
		return 0
	}
	flags := d[i+2]
	i += 3
	if flags&0x80 != 0 {
		i += 2
	}
	if flags&0x40 != 0 {
		if i >= len(d) {
			return 0
		}
		i += 1 + int(d[i])
	}
	if flags&0x20 != 0 {
		i += 2
	}
	if !descriptor(0x04) || i >= len(d) {
		return 0
	}
	return d[i]
}
