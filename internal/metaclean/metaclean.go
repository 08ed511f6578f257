// Package metaclean cleans the metadata a source gives a job (title,
// description, release date) before anything uses it: the workflow's memo
// and search, ffmpeg's -metadata arguments, the webhook. A source controls
// these strings entirely: they may be huge, hold NULs (which no program
// argument can carry), control characters or bidirectional overrides.
package metaclean

import (
	"strings"
	"unicode"

	"github.com/riptide-dev/riptide/internal/mediainfo"
	"github.com/riptide-dev/riptide/internal/textcut"
)

// Limits of what a job keeps, in bytes (cut on a rune boundary): enough
// for any real title and the useful part of a description, small enough
// for workflow history, a memo and a program's argument list.
const (
	MaxTitle       = 500
	MaxDescription = 2000
)

// Metadata is what a job says about its media.
type Metadata struct {
	Title, Description, ReleaseDate string
}

// Clean returns m cleaned: see Title, Description and Date. It is
// idempotent, so every stage may apply it.
func Clean(m Metadata) Metadata {
	return Metadata{Title: Title(m.Title), Description: Description(m.Description), ReleaseDate: Date(m.ReleaseDate)}
}

// Title is s on one line: invalid UTF-8 replaced, control characters
// (newlines and NUL included) turned into spaces, bidirectional controls
// dropped, runs of spaces collapsed, at most MaxTitle bytes.
func Title(s string) string {
	return textcut.Truncate(strings.Join(strings.Fields(clean(s, false)), " "), MaxTitle)
}

// Description is s with its line breaks and tabs kept (\r\n and \r become
// \n), invalid UTF-8 replaced, other control characters (NUL included) and
// bidirectional controls dropped, trimmed, at most MaxDescription bytes.
func Description(s string) string {
	return strings.TrimSpace(textcut.Truncate(strings.TrimSpace(clean(s, true)), MaxDescription))
}

// Date is s as RFC 3339 in UTC, or "" when it is no date (see
// mediainfo.NormalizeDate); control characters are dropped first.
func Date(s string) string {
	if len(s) > 64 {
		return "" // no date is that long
	}
	return mediainfo.NormalizeDate(strings.TrimSpace(clean(s, false)))
}

// clean replaces invalid UTF-8 and removes what must not reach a program
// argument or a reader's screen unseen. keepLines keeps \n (and \t).
func clean(s string, keepLines bool) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	b.Grow(min(len(s), 4*MaxDescription))
	for _, r := range s {
		switch {
		case keepLines && (r == '\n' || r == '\r'):
			b.WriteByte('\n')
		case keepLines && r == '\t':
			b.WriteByte('\t')
		case unicode.IsControl(r):
			if !keepLines {
				b.WriteByte(' ')
			}
		case isBidiControl(r):
			// Dropped: they reorder what a reader sees.
		default:
			b.WriteRune(r)
		}
		if b.Len() > 4*MaxDescription {
			// Enough for any limit: a 200 KiB description is not copied.
			break
		}
	}
	return b.String()
}

// isBidiControl tells the explicit bidirectional formatting characters
// (embeddings, overrides, isolates, marks).
func isBidiControl(r rune) bool {
	switch {
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x200E, r == 0x200F, r == 0x061C:
		return true
	}
	return false
}
