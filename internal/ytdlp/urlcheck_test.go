package ytdlp

import (
	"testing"

	"github.com/stretchr/testify/require"

	"go.temporal.io/sdk/temporal"

	"github.com/riptide-dev/riptide/workflows"
)

func requireBlocked(t *testing.T, err error, errType, contains string) {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.Equal(t, errType, appErr.Type(), "%v", err)
	require.True(t, appErr.NonRetryable(), "%v", err)
	require.Contains(t, err.Error(), contains)
}

func TestCheckInfoURLsRefusesNonHTTP(t *testing.T) {
	for name, tc := range map[string]struct{ json, want string }{
		"format url":         {`{"formats":[{"url":"https://a/x.mp4"},{"url":"ftp://127.0.0.2/internal-only.mp4"}]}`, "ftp: URL (formats[1].url)"},
		"top-level url":      {`{"url":"FTP://h/x"}`, "ftp: URL (url)"},
		"fragment base":      {`{"formats":[{"url":"https://a/m","fragment_base_url":"file:///etc/"}]}`, "file: URL (formats[0].fragment_base_url)"},
		"fragment path":      {`{"formats":[{"fragments":[{"path":"seg1.ts"},{"path":"gopher://h/"}]}]}`, "gopher: URL (formats[0].fragments[1].path)"},
		"fragment url":       {`{"requested_formats":[{"fragments":[{"url":"sftp://h/x"}]}]}`, "sftp: URL (requested_formats[0].fragments[0].url)"},
		"manifest":           {`{"formats":[{"manifest_url":"rtmp://h/live"}]}`, "rtmp: URL"},
		"subtitle":           {`{"subtitles":{"en":[{"ext":"vtt","url":"file:///etc/passwd"}]}}`, "file: URL (subtitles.en[0].url)"},
		"caption":            {`{"automatic_captions":{"de":[{"url":"data:text/vtt,hi"}]}}`, "data: URL"},
		"thumbnail list":     {`{"thumbnails":[{"url":"ftp://h/t.jpg"}]}`, "ftp: URL (thumbnails[0].url)"},
		"thumbnail":          {`{"thumbnail":"smb://h/t.jpg"}`, "smb: URL (thumbnail)"},
		"requested download": {`{"requested_downloads":[{"url":"tftp://h/x"}]}`, "tftp: URL"},
		"local path":         {`{"formats":[{"url":"/var/lib/riptide/other-job/source.mp4"}]}`, "local path"},
		"protocol":           {`{"formats":[{"url":"https://h/x","protocol":"rtmp"}]}`, "over rtmp"},
		"merged protocol":    {`{"protocol":"https+mms"}`, "over mms"},
		"proxy header":       {`{"formats":[{"url":"https://h/x","http_headers":{"Ytdl-Request-Proxy":"http://evil:8080"}}]}`, "its own proxy"},
	} {
		t.Run(name, func(t *testing.T) {
			requireBlocked(t, CheckInfoURLs([]byte(tc.json)), workflows.ErrTypeBlockedAddress, tc.want)
		})
	}
}

func TestCheckInfoURLsAllowsHTTP(t *testing.T) {
	for _, j := range []string{
		`{"title":"ftp://not-a-url-field","description":"see file:///x","webpage_url":"https://a/b"}`,
		`{"formats":[{"url":"https://a/m.m3u8","protocol":"m3u8_native","fragment_base_url":"http://a/",` +
			`"fragments":[{"path":"seg-1.ts"},{"path":"/abs/seg-2.ts"},{"url":"//cdn/seg-3.ts"}]}],` +
			`"requested_formats":[{"url":"https://a/v","protocol":"https"},{"url":"http://a/a","protocol":"http_dash_segments"}],` +
			`"protocol":"https+http_dash_segments","subtitles":{"en":[{"url":"https://a/s.vtt"},{"data":"WEBVTT"}]},` +
			`"thumbnails":[{"url":"https://a/t.jpg"}],"thumbnail":"HTTPS://a/t.jpg","http_headers":{"Referer":"https://a/"}}`,
	} {
		require.NoError(t, CheckInfoURLs([]byte(j)), j)
	}
}

func TestCheckSourceURL(t *testing.T) {
	require.NoError(t, CheckSourceURL("https://example.com/watch?v=1#t=3"))
	requireBlocked(t, CheckSourceURL("ftp://127.0.0.2/internal-only.mp4"), workflows.ErrTypeInvalidInput, "not an http(s) URL")
	requireBlocked(t, CheckSourceURL("file:///etc/passwd"), workflows.ErrTypeInvalidInput, "not an http(s) URL")
	// CVE-2023-46121: smuggled http_headers setting yt-dlp's proxy.
	smuggled := `https://example.com/v#__youtubedl_smuggle=%7B%22http_headers%22%3A+%7B%22Ytdl-request-proxy%22%3A+%22http%3A%2F%2F127.0.0.2%3A9%22%7D%7D`
	requireBlocked(t, CheckSourceURL(smuggled), workflows.ErrTypeBlockedAddress, "set yt-dlp's proxy")
	requireBlocked(t, CheckSourceURL("https://e/v#x=%2559tdl-request-proxy"), workflows.ErrTypeBlockedAddress, "proxy")
}

func TestRunRefusesABadURLWithoutRunning(t *testing.T) {
	r := Runner{Path: "/nonexistent/yt-dlp"}
	_, _, err := r.Info(t.Context(), "ftp://127.0.0.2/internal-only.mp4", "b")
	requireBlocked(t, err, workflows.ErrTypeInvalidInput, "not an http(s) URL")
	_, err = r.Playlist(t.Context(), "gopher://h/", 10)
	requireBlocked(t, err, workflows.ErrTypeInvalidInput, "not an http(s) URL")
}

func TestBypassAttempt(t *testing.T) {
	msg, ok := bypassAttempt("ERROR: [generic] None: Unable to download webpage: <urlopen error ftp error: [Errno 101] Network is unreachable>\n")
	require.True(t, ok)
	require.Contains(t, msg, "Network is unreachable")
	_, ok = bypassAttempt("ERROR: [generic] x: HTTP Error 404: Not Found\n")
	require.False(t, ok)
}
