package metaclean

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestCleanTitleDescriptionDate(t *testing.T) {
	m := Clean(Metadata{
		Title:       "  Ep\x00isode\n7:\t\u202Egnp.exe\u202C  «Test»\x7f \xff ",
		Description: "Line one\r\nLine\x00 two\rthree\x1b[31m\u2066red\u2069\n\tindented",
		ReleaseDate: "2026-01-19",
	})
	require.Equal(t, "Ep isode 7: gnp.exe «Test» \uFFFD", m.Title)
	require.Equal(t, "Line one\nLine two\nthree[31mred\n\tindented", m.Description)
	require.Equal(t, "2026-01-19T00:00:00Z", m.ReleaseDate)
	require.Equal(t, m, Clean(m), "idempotent")

	require.Empty(t, Date("yesterday"))
	require.Equal(t, "2026-01-19T00:00:00Z", Date("2026-01-19\x00"))
	require.Empty(t, Date("2026-01-19"+strings.Repeat(" ", 100)))
	require.Equal(t, "2026-01-19T06:00:00Z", Date("2026-01-19T07:00:00+01:00"))
}

// A 200 KiB description and a 100 KiB title are cut to the limits, on a
// rune boundary, and stay valid UTF-8.
func TestCleanTruncates(t *testing.T) {
	desc := strings.Repeat("é\x00", 100<<10)
	title := strings.Repeat("日本", 20<<10)
	m := Clean(Metadata{Title: title, Description: desc})
	require.LessOrEqual(t, len(m.Title), MaxTitle)
	require.Greater(t, len(m.Title), MaxTitle-4)
	require.LessOrEqual(t, len(m.Description), MaxDescription)
	require.Greater(t, len(m.Description), MaxDescription-4)
	require.True(t, utf8.ValidString(m.Title) && utf8.ValidString(m.Description))
	require.NotContains(t, m.Description, "\x00")
}
