package ytdlp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidSubtitle(t *testing.T) {
	for _, lang := range []string{"en", "en-US", "zh-Hans-CN", "es-419", strings.Repeat("a", 35)} {
		require.True(t, ValidSubtitle(lang, "vtt"), lang)
	}
	for _, lang := range []string{"", "en\n", "x\ny", "../en", "en/../..", "ar\u202Elmth", "live_chat", "en,fr", ".*",
		strings.Repeat("a", 36), "en ", "é"} {
		require.False(t, ValidSubtitle(lang, "vtt"), "%q", lang)
	}
	for _, ext := range []string{"vtt", "srt", "ass", "ttml"} {
		require.True(t, ValidSubtitle("en", ext), ext)
	}
	for _, ext := range []string{"html", "VTT", "vtt/../x", "", "json3", "srv3"} {
		require.False(t, ValidSubtitle("en", ext), "%q", ext)
	}
}

// Only safe languages with a safe format are asked of yt-dlp.
func TestSafeSubtitleLangs(t *testing.T) {
	info := filepath.Join(t.TempDir(), "info.json")
	require.NoError(t, os.WriteFile(info, []byte(`{"subtitles": {
		"en": [{"ext": "json3"}, {"ext": "vtt"}],
		"de": [{"ext": "srv3"}],
		"../../x": [{"ext": "vtt"}],
		"x\ny": [{"ext": "vtt"}],
		"ar\u202elmth": [{"ext": "vtt"}],
		"fr": [{"ext": "html"}],
		"pt-BR": [{"ext": "ttml"}],
		"live_chat": [{"ext": "json"}]
	}}`), 0o644))
	langs, err := safeSubtitleLangs(info)
	require.NoError(t, err)
	require.Equal(t, []string{"en", "pt-BR"}, langs)
}
