package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/workflows"
)

// TestCreateJobRejectsBadRequests drives POST /jobs with requests that must
// never start a workflow: the mock client has no expectation, so a call to
// ExecuteWorkflow would also fail the test.
func TestCreateJobRejectsBadRequests(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	okURL := `"url":"https://example.com/v"`
	tests := []struct {
		name   string
		body   string
		status int
		code   string
		field  string
		msg    string // substring of the message, when it matters
	}{
		// Malformed bodies.
		{name: "truncated JSON", body: `{"url":`, status: 400, code: codeInvalidJSON},
		{name: "not JSON", body: `hello`, status: 400, code: codeInvalidJSON},
		{name: "empty body", body: ``, status: 400, code: codeInvalidJSON},
		{name: "array", body: `[{"url":"https://example.com/v"}]`, status: 400, code: codeInvalidJSON},
		{name: "string", body: `"https://example.com/v"`, status: 400, code: codeInvalidJSON},
		{name: "null", body: `null`, status: 400, code: codeInvalidJSON},
		{name: "trailing object", body: `{` + okURL + `} {}`, status: 400, code: codeInvalidJSON},
		{name: "trailing garbage", body: `{` + okURL + `}x`, status: 400, code: codeInvalidJSON},
		{name: "trailing comma", body: `{` + okURL + `,}`, status: 400, code: codeInvalidJSON},
		{name: "raw newline in string", body: "{\"url\":\"https://example.com/\nv\"}", status: 400, code: codeInvalidJSON},
		// Wrong types, one per field.
		{name: "url number", body: `{"url":5}`, status: 400, code: codeInvalidType, field: "url", msg: "url must be a string"},
		{name: "url object", body: `{"url":{"href":"https://example.com"}}`, status: 400, code: codeInvalidType, field: "url"},
		{name: "webhook_url bool", body: `{` + okURL + `,"webhook_url":true}`, status: 400, code: codeInvalidType, field: "webhook_url"},
		{name: "folder array", body: `{` + okURL + `,"folder":["a"]}`, status: 400, code: codeInvalidType, field: "folder"},
		{name: "progress webhook string", body: `{` + okURL + `,"enable_progress_webhook":"yes"}`, status: 400, code: codeInvalidType, field: "enable_progress_webhook", msg: "enable_progress_webhook must be a boolean"},
		{name: "subtitles number", body: `{` + okURL + `,"download_subtitles":1}`, status: 400, code: codeInvalidType, field: "download_subtitles", msg: "must be a boolean"},
		{name: "format number", body: `{` + okURL + `,"format":4}`, status: 400, code: codeInvalidType, field: "format"},
		// Unknown fields.
		{name: "unknown field", body: `{` + okURL + `,"callback_url":"https://x.example"}`, status: 400, code: codeUnknownField, field: "callback_url", msg: "field is not supported"},
		{name: "unknown field first", body: `{"batch":true,` + okURL + `}`, status: 400, code: codeUnknownField, field: "batch"},
		// url.
		{name: "missing url", body: `{}`, status: 400, code: codeMissingField, field: "url"},
		{name: "null url", body: `{"url":null}`, status: 400, code: codeMissingField, field: "url"},
		{name: "empty url", body: `{"url":""}`, status: 400, code: codeMissingField, field: "url"},
		{name: "ftp url", body: `{"url":"ftp://example.com/v.mp4"}`, status: 400, code: codeInvalidField, field: "url"},
		{name: "javascript url", body: `{"url":"javascript:alert(1)"}`, status: 400, code: codeInvalidField, field: "url"},
		{name: "url without host", body: `{"url":"https:///path"}`, status: 400, code: codeInvalidField, field: "url", msg: "host"},
		{name: "url with only port", body: `{"url":"http://:8080/v"}`, status: 400, code: codeInvalidField, field: "url"},
		{name: "url without scheme", body: `{"url":"example.com/v"}`, status: 400, code: codeInvalidField, field: "url"},
		{name: "relative url", body: `{"url":"/v.mp4"}`, status: 400, code: codeInvalidField, field: "url"},
		{name: "unparsable url", body: `{"url":"http://[::1/v"}`, status: 400, code: codeInvalidField, field: "url"},
		{name: "over-long url", body: `{"url":"https://example.com/` + long(2049-len("https://example.com/")) + `"}`, status: 400, code: codeInvalidField, field: "url", msg: "2048"},
		{name: "url with space", body: `{"url":"https://example.com/a b"}`, status: 400, code: codeInvalidField, field: "url"},
		{name: "url with newline", body: `{"url":"https://example.com/a\nb"}`, status: 400, code: codeInvalidField, field: "url"},
		{name: "url with control char", body: `{"url":"https://example.com/\u0007"}`, status: 400, code: codeInvalidField, field: "url"},
		// webhook_url.
		{name: "ftp webhook", body: `{` + okURL + `,"webhook_url":"ftp://hooks.example.com"}`, status: 400, code: codeInvalidField, field: "webhook_url"},
		{name: "webhook without host", body: `{` + okURL + `,"webhook_url":"https://"}`, status: 400, code: codeInvalidField, field: "webhook_url"},
		{name: "over-long webhook", body: `{` + okURL + `,"webhook_url":"https://h.example/` + long(2040) + `"}`, status: 400, code: codeInvalidField, field: "webhook_url"},
		{name: "webhook with tab", body: `{` + okURL + `,"webhook_url":"https://h.example/\t"}`, status: 400, code: codeInvalidField, field: "webhook_url"},
		// Non-public hosts (SSRF), refused before anything starts; names that
		// resolve to such addresses are refused by the worker's dialer.
		{name: "url loopback", body: `{"url":"http://127.0.0.1/v.mp4"}`, status: 400, code: codeInvalidField, field: "url", msg: "loopback"},
		{name: "url loopback high", body: `{"url":"http://127.8.9.10:8080/v"}`, status: 400, code: codeInvalidField, field: "url", msg: "loopback"},
		{name: "url localhost", body: `{"url":"http://localhost:9000/v"}`, status: 400, code: codeInvalidField, field: "url", msg: "public address"},
		{name: "url LOCALHOST dot", body: `{"url":"http://LOCALHOST./v"}`, status: 400, code: codeInvalidField, field: "url"},
		{name: "url sub.localhost", body: `{"url":"http://api.localhost/v"}`, status: 400, code: codeInvalidField, field: "url"},
		{name: "url ipv6 loopback", body: `{"url":"http://[::1]:8080/v"}`, status: 400, code: codeInvalidField, field: "url", msg: "loopback"},
		{name: "url ipv4-mapped loopback", body: `{"url":"http://[::ffff:127.0.0.1]/v"}`, status: 400, code: codeInvalidField, field: "url", msg: "loopback"},
		{name: "url metadata", body: `{"url":"http://169.254.169.254/latest/meta-data/"}`, status: 400, code: codeInvalidField, field: "url", msg: "link-local"},
		{name: "url ipv4-mapped metadata", body: `{"url":"http://[::ffff:a9fe:a9fe]/"}`, status: 400, code: codeInvalidField, field: "url", msg: "link-local"},
		{name: "url rfc1918 10", body: `{"url":"http://10.0.0.1/v"}`, status: 400, code: codeInvalidField, field: "url", msg: "private"},
		{name: "url rfc1918 172", body: `{"url":"http://172.16.5.4/v"}`, status: 400, code: codeInvalidField, field: "url", msg: "private"},
		{name: "url rfc1918 192", body: `{"url":"https://192.168.0.1/v"}`, status: 400, code: codeInvalidField, field: "url", msg: "private"},
		{name: "url cgnat", body: `{"url":"http://100.64.0.1/v"}`, status: 400, code: codeInvalidField, field: "url"},
		{name: "url unique-local v6", body: `{"url":"http://[fd00::1]/v"}`, status: 400, code: codeInvalidField, field: "url", msg: "private"},
		{name: "url link-local v6", body: `{"url":"http://[fe80::1%25eth0]/v"}`, status: 400, code: codeInvalidField, field: "url"},
		{name: "url unspecified", body: `{"url":"http://0.0.0.0:8080/v"}`, status: 400, code: codeInvalidField, field: "url", msg: "unspecified"},
		{name: "url unspecified v6", body: `{"url":"http://[::]/v"}`, status: 400, code: codeInvalidField, field: "url"},
		{name: "url multicast", body: `{"url":"http://224.0.0.251/v"}`, status: 400, code: codeInvalidField, field: "url", msg: "multicast"},
		{name: "url decimal ip", body: `{"url":"http://2130706433/v"}`, status: 400, code: codeInvalidField, field: "url", msg: "numeric"},
		{name: "url hex ip", body: `{"url":"http://0x7f.0x1/v"}`, status: 400, code: codeInvalidField, field: "url", msg: "numeric"},
		{name: "url short ip", body: `{"url":"http://127.1/v"}`, status: 400, code: codeInvalidField, field: "url", msg: "numeric"},
		{name: "url credentials", body: `{"url":"https://user:pw@example.com/v"}`, status: 400, code: codeInvalidField, field: "url", msg: "credentials"},
		{name: "webhook loopback", body: `{` + okURL + `,"webhook_url":"http://127.0.0.1:8090/hook"}`, status: 400, code: codeInvalidField, field: "webhook_url", msg: "loopback"},
		{name: "webhook localhost", body: `{` + okURL + `,"webhook_url":"http://localhost/hook"}`, status: 400, code: codeInvalidField, field: "webhook_url"},
		{name: "webhook metadata", body: `{` + okURL + `,"webhook_url":"http://169.254.169.254/"}`, status: 400, code: codeInvalidField, field: "webhook_url", msg: "link-local"},
		{name: "webhook private", body: `{` + okURL + `,"webhook_url":"https://10.1.1.1/hook"}`, status: 400, code: codeInvalidField, field: "webhook_url", msg: "private"},
		{name: "webhook ipv6 loopback", body: `{` + okURL + `,"webhook_url":"http://[0:0:0:0:0:0:0:1]/hook"}`, status: 400, code: codeInvalidField, field: "webhook_url", msg: "loopback"},
		// More schemes, encodings and smuggling.
		{name: "file url", body: `{"url":"file:///etc/passwd"}`, status: 400, code: codeInvalidField, field: "url"},
		{name: "gopher url", body: `{"url":"gopher://example.com/_x"}`, status: 400, code: codeInvalidField, field: "url"},
		{name: "data url", body: `{"url":"data:text/html,hi"}`, status: 400, code: codeInvalidField, field: "url"},
		{name: "one-slash url", body: `{"url":"http:/example.com/v"}`, status: 400, code: codeInvalidField, field: "url"},
		{name: "bare scheme", body: `{"url":"http://"}`, status: 400, code: codeInvalidField, field: "url"},
		{name: "url octal ip", body: `{"url":"http://0177.0.0.1/v"}`, status: 400, code: codeInvalidField, field: "url", msg: "numeric"},
		{name: "url mapped private", body: `{"url":"http://[::ffff:10.0.0.1]/v"}`, status: 400, code: codeInvalidField, field: "url", msg: "private"},
		{name: "url NUL", body: `{"url":"https://example.com/v\u0000"}`, status: 400, code: codeInvalidField, field: "url"},
		{name: "url RTL override", body: `{"url":"https://example.com/\u202egpm.v"}`, status: 400, code: codeInvalidField, field: "url", msg: "invisible"},
		{name: "url zero-width space", body: `{"url":"https://exa\u200bmple.com/v"}`, status: 400, code: codeInvalidField, field: "url"},
		{name: "duplicate url key smuggles loopback", body: `{"url":"https://example.com/v","url":"http://127.0.0.1/"}`, status: 400, code: codeInvalidField, field: "url", msg: "loopback"},
		{name: "url array", body: `{"url":["https://example.com/v"]}`, status: 400, code: codeInvalidType, field: "url"},
		{name: "url nested object", body: `{"url":{"a":{"b":{"c":"https://example.com"}}}}`, status: 400, code: codeInvalidType, field: "url"},
		{name: "huge number", body: `{` + okURL + `,"enable_progress_webhook":1e400}`, status: 400},
		{name: "byte order mark", body: "\ufeff{" + okURL + "}", status: 400, code: codeInvalidJSON},
		{name: "webhook file", body: `{` + okURL + `,"webhook_url":"file:///etc/passwd"}`, status: 400, code: codeInvalidField, field: "webhook_url"},
		{name: "webhook javascript", body: `{` + okURL + `,"webhook_url":"javascript:alert(1)"}`, status: 400, code: codeInvalidField, field: "webhook_url"},
		{name: "webhook hex ip", body: `{` + okURL + `,"webhook_url":"http://0x7f000001/hook"}`, status: 400, code: codeInvalidField, field: "webhook_url", msg: "numeric"},
		{name: "webhook unspecified v6", body: `{` + okURL + `,"webhook_url":"http://[::]/hook"}`, status: 400, code: codeInvalidField, field: "webhook_url"},
		{name: "webhook credentials", body: `{` + okURL + `,"webhook_url":"https://u:p@hooks.example.com/"}`, status: 400, code: codeInvalidField, field: "webhook_url", msg: "credentials"},
		{name: "webhook RTL override", body: `{` + okURL + `,"webhook_url":"https://hooks.example.com/\u202e"}`, status: 400, code: codeInvalidField, field: "webhook_url"},
		{name: "webhook number", body: `{` + okURL + `,"webhook_url":42}`, status: 400, code: codeInvalidType, field: "webhook_url"},
		// folder: invisible characters, more traversal shapes.
		{name: "folder RTL override", body: `{` + okURL + `,"folder":"a\u202egnp.exe"}`, status: 400, code: codeInvalidField, field: "folder", msg: "invisible"},
		{name: "folder zero-width", body: `{` + okURL + `,"folder":"a\u200bb"}`, status: 400, code: codeInvalidField, field: "folder"},
		{name: "folder inner dot", body: `{` + okURL + `,"folder":"a/./b"}`, status: 400, code: codeInvalidField, field: "folder"},
		{name: "folder bare traversal", body: `{` + okURL + `,"folder":".."}`, status: 400, code: codeInvalidField, field: "folder"},
		{name: "folder windows traversal", body: `{` + okURL + `,"folder":"..\\..\\etc"}`, status: 400, code: codeInvalidField, field: "folder"},
		{name: "folder trailing NUL", body: `{` + okURL + `,"folder":"a\u0000"}`, status: 400, code: codeInvalidField, field: "folder"},
		{name: "folder 201 runes", body: `{` + okURL + `,"folder":"` + strings.Repeat("é", 201) + `"}`, status: 400, code: codeInvalidField, field: "folder", msg: "200"},
		// format.
		{name: "format traversal", body: `{` + okURL + `,"format":"../mp4"}`, status: 400, code: codeInvalidField, field: "format"},
		{name: "format NUL", body: `{` + okURL + `,"format":"mp4\u0000"}`, status: 400, code: codeInvalidField, field: "format"},
		// folder.
		{name: "folder traversal", body: `{` + okURL + `,"folder":"../x"}`, status: 400, code: codeInvalidField, field: "folder"},
		{name: "folder inner traversal", body: `{` + okURL + `,"folder":"a/../b"}`, status: 400, code: codeInvalidField, field: "folder"},
		{name: "folder trailing traversal", body: `{` + okURL + `,"folder":"a/.."}`, status: 400, code: codeInvalidField, field: "folder"},
		{name: "folder dot", body: `{` + okURL + `,"folder":"./a"}`, status: 400, code: codeInvalidField, field: "folder"},
		{name: "folder leading slash", body: `{` + okURL + `,"folder":"/abs"}`, status: 400, code: codeInvalidField, field: "folder"},
		{name: "folder only slash", body: `{` + okURL + `,"folder":"/"}`, status: 400, code: codeInvalidField, field: "folder"},
		{name: "folder backslash", body: `{` + okURL + `,"folder":"a\\b"}`, status: 400, code: codeInvalidField, field: "folder"},
		{name: "folder empty segment", body: `{` + okURL + `,"folder":"a//b"}`, status: 400, code: codeInvalidField, field: "folder"},
		{name: "folder control char", body: `{` + okURL + `,"folder":"a\u0000b"}`, status: 400, code: codeInvalidField, field: "folder"},
		{name: "folder 201 chars", body: `{` + okURL + `,"folder":"` + long(201) + `"}`, status: 400, code: codeInvalidField, field: "folder", msg: "200"},
		// format.
		{name: "bad format", body: `{` + okURL + `,"format":"avi"}`, status: 400, code: codeInvalidField, field: "format", msg: "mp4, mkv, webm, mov"},
		{name: "upper-case format", body: `{` + okURL + `,"format":"MP4"}`, status: 400, code: codeInvalidField, field: "format"},
		// audio_only and audio formats.
		{name: "audio_only with video format", body: `{` + okURL + `,"audio_only":true,"format":"mp4"}`, status: 400, code: codeInvalidField, field: "audio_only", msg: "format"},
		{name: "audio_only string", body: `{` + okURL + `,"audio_only":"yes"}`, status: 400, code: codeInvalidType, field: "audio_only"},
		{name: "audio format upper-case", body: `{` + okURL + `,"format":"MP3"}`, status: 400, code: codeInvalidField, field: "format"},
		{name: "audio format aac", body: `{` + okURL + `,"format":"aac"}`, status: 400, code: codeInvalidField, field: "format", msg: "m4a, mp3, ogg, opus"},
		// max_resolution.
		{name: "resolution not in list", body: `{` + okURL + `,"max_resolution":1000}`, status: 400, code: codeInvalidField, field: "max_resolution", msg: "1080"},
		{name: "resolution negative", body: `{` + okURL + `,"max_resolution":-720}`, status: 400, code: codeInvalidField, field: "max_resolution"},
		{name: "resolution fraction", body: `{` + okURL + `,"max_resolution":720.5}`, status: 400, code: codeInvalidField, field: "max_resolution"},
		{name: "resolution huge", body: `{` + okURL + `,"max_resolution":1e400}`, status: 400, code: codeInvalidField, field: "max_resolution"},
		{name: "resolution string not in list", body: `{` + okURL + `,"max_resolution":"1000"}`, status: 400, code: codeInvalidField, field: "max_resolution", msg: "best"},
		{name: "resolution Best capitalised", body: `{` + okURL + `,"max_resolution":"Best"}`, status: 400, code: codeInvalidField, field: "max_resolution"},
		{name: "resolution empty string", body: `{` + okURL + `,"max_resolution":""}`, status: 400, code: codeInvalidField, field: "max_resolution"},
		{name: "resolution only p", body: `{` + okURL + `,"max_resolution":"p"}`, status: 400, code: codeInvalidField, field: "max_resolution"},
		{name: "resolution pp", body: `{` + okURL + `,"max_resolution":"720pp"}`, status: 400, code: codeInvalidField, field: "max_resolution"},
		{name: "resolution padded", body: `{` + okURL + `,"max_resolution":" 720"}`, status: 400, code: codeInvalidField, field: "max_resolution"},
		{name: "resolution signed string", body: `{` + okURL + `,"max_resolution":"+720"}`, status: 400, code: codeInvalidField, field: "max_resolution"},
		{name: "resolution 4k", body: `{` + okURL + `,"max_resolution":"4k"}`, status: 400, code: codeInvalidField, field: "max_resolution"},
		{name: "resolution leading zero", body: `{` + okURL + `,"max_resolution":"0720p"}`, status: 400, code: codeInvalidField, field: "max_resolution"},
		{name: "resolution bool", body: `{` + okURL + `,"max_resolution":true}`, status: 400, code: codeInvalidType, field: "max_resolution"},
		{name: "resolution object", body: `{` + okURL + `,"max_resolution":{"h":720}}`, status: 400, code: codeInvalidType, field: "max_resolution"},
		// filename.
		{name: "filename traversal", body: `{` + okURL + `,"filename":"../x"}`, status: 400, code: codeInvalidField, field: "filename"},
		{name: "filename inner dots", body: `{` + okURL + `,"filename":"a..b"}`, status: 400, code: codeInvalidField, field: "filename", msg: ".."},
		{name: "filename slash", body: `{` + okURL + `,"filename":"a/b"}`, status: 400, code: codeInvalidField, field: "filename"},
		{name: "filename backslash", body: `{` + okURL + `,"filename":"a\\b"}`, status: 400, code: codeInvalidField, field: "filename"},
		{name: "filename NUL", body: `{` + okURL + `,"filename":"a\u0000b"}`, status: 400, code: codeInvalidField, field: "filename", msg: "control"},
		{name: "filename newline", body: `{` + okURL + `,"filename":"a\nb"}`, status: 400, code: codeInvalidField, field: "filename"},
		{name: "filename RTL override", body: `{` + okURL + `,"filename":"a\u202e4pm.exe"}`, status: 400, code: codeInvalidField, field: "filename", msg: "invisible"},
		{name: "filename dotfile", body: `{` + okURL + `,"filename":".mp4"}`, status: 400, code: codeInvalidField, field: "filename"},
		{name: "filename only dots", body: `{` + okURL + `,"filename":"."}`, status: 400, code: codeInvalidField, field: "filename"},
		{name: "filename only spaces and ext", body: `{` + okURL + `,"filename":"  .mp4"}`, status: 400, code: codeInvalidField, field: "filename", msg: "name before"},
		{name: "filename 256 chars", body: `{` + okURL + `,"filename":"` + long(256) + `"}`, status: 400, code: codeInvalidField, field: "filename", msg: "255"},
		{name: "filename key over 1024 bytes", body: `{` + okURL + `,"folder":"` + strings.Repeat("𝄞", 200) + `","filename":"` + strings.Repeat("𝄞", 250) + `"}`, status: 400, code: codeInvalidField, field: "filename", msg: "1024"},
		{name: "filename number", body: `{` + okURL + `,"filename":7}`, status: 400, code: codeInvalidType, field: "filename"},
		{name: "thumbnail string", body: `{` + okURL + `,"download_thumbnail":"true"}`, status: 400, code: codeInvalidType, field: "download_thumbnail"},
		// clip_start / clip_end.
		{name: "clip end before start", body: `{` + okURL + `,"clip_start":20,"clip_end":10}`, status: 400, code: codeInvalidField, field: "clip_end", msg: "after clip_start"},
		{name: "clip end equals start", body: `{` + okURL + `,"clip_start":"00:00:10","clip_end":10}`, status: 400, code: codeInvalidField, field: "clip_end"},
		{name: "clip end zero", body: `{` + okURL + `,"clip_end":0}`, status: 400, code: codeInvalidField, field: "clip_end"},
		{name: "clip start negative", body: `{` + okURL + `,"clip_start":-1}`, status: 400, code: codeInvalidField, field: "clip_start"},
		{name: "clip start huge", body: `{` + okURL + `,"clip_start":1e400}`, status: 400, code: codeInvalidField, field: "clip_start"},
		{name: "clip start minutes over 59", body: `{` + okURL + `,"clip_start":"00:60:00"}`, status: 400, code: codeInvalidField, field: "clip_start", msg: "HH:MM:SS"},
		{name: "clip start MM:SS seconds over 59", body: `{` + okURL + `,"clip_start":"00:60"}`, status: 400, code: codeInvalidField, field: "clip_start", msg: "MM:SS"},
		{name: "clip start four fields", body: `{` + okURL + `,"clip_start":"1:2:3:4"}`, status: 400, code: codeInvalidField, field: "clip_start"},
		{name: "clip start one-digit seconds", body: `{` + okURL + `,"clip_start":"1:2"}`, status: 400, code: codeInvalidField, field: "clip_start"},
		{name: "clip start negative string", body: `{` + okURL + `,"clip_start":"-90"}`, status: 400, code: codeInvalidField, field: "clip_start"},
		{name: "clip start exponent string", body: `{` + okURL + `,"clip_start":"9e1"}`, status: 400, code: codeInvalidField, field: "clip_start"},
		{name: "clip start empty string", body: `{` + okURL + `,"clip_start":""}`, status: 400, code: codeInvalidField, field: "clip_start"},
		{name: "clip start bare dot", body: `{` + okURL + `,"clip_start":"90."}`, status: 400, code: codeInvalidField, field: "clip_start"},
		{name: "clip start seconds string over a week", body: `{` + okURL + `,"clip_start":"604801"}`, status: 400, code: codeInvalidField, field: "clip_start"},
		{name: "clip start MM:SS over a week", body: `{` + okURL + `,"clip_start":"10081:00"}`, status: 400, code: codeInvalidField, field: "clip_start"},
		{name: "clip end string before start", body: `{` + okURL + `,"clip_start":"01:30","clip_end":"90"}`, status: 400, code: codeInvalidField, field: "clip_end", msg: "after clip_start"},
		{name: "clip start long fraction", body: `{` + okURL + `,"clip_start":"00:00:01.5000"}`, status: 400, code: codeInvalidField, field: "clip_start"},
		{name: "clip start bool", body: `{` + okURL + `,"clip_start":false}`, status: 400, code: codeInvalidType, field: "clip_start"},
		{name: "clip end array", body: `{` + okURL + `,"clip_end":[10]}`, status: 400, code: codeInvalidType, field: "clip_end"},
		{name: "clip end over a week", body: `{` + okURL + `,"clip_end":"999:00:00"}`, status: 400, code: codeInvalidField, field: "clip_end"},
		// max_duration.
		{name: "max_duration zero", body: `{` + okURL + `,"max_duration":0}`, status: 400, code: codeInvalidField, field: "max_duration"},
		{name: "max_duration negative", body: `{` + okURL + `,"max_duration":-5}`, status: 400, code: codeInvalidField, field: "max_duration"},
		{name: "max_duration fraction", body: `{` + okURL + `,"max_duration":1.5}`, status: 400, code: codeInvalidField, field: "max_duration", msg: "whole"},
		{name: "max_duration huge", body: `{` + okURL + `,"max_duration":1e400}`, status: 400, code: codeInvalidField, field: "max_duration"},
		{name: "max_duration word", body: `{` + okURL + `,"max_duration":"ten"}`, status: 400, code: codeInvalidField, field: "max_duration"},
		{name: "max_duration string fraction", body: `{` + okURL + `,"max_duration":"1.5"}`, status: 400, code: codeInvalidField, field: "max_duration"},
		{name: "max_duration string zero", body: `{` + okURL + `,"max_duration":"0"}`, status: 400, code: codeInvalidField, field: "max_duration"},
		{name: "max_duration string padded", body: `{` + okURL + `,"max_duration":"0600"}`, status: 400, code: codeInvalidField, field: "max_duration"},
		{name: "max_duration bool", body: `{` + okURL + `,"max_duration":true}`, status: 400, code: codeInvalidType, field: "max_duration"},
		// The reference's fields riptide does not implement yet: 400
		// not_supported naming the field, not unknown_field.
		// Encoding options (README: Transcoding).
		{name: "video_codec unknown", body: `{` + okURL + `,"video_codec":"av1"}`, status: 400, code: codeInvalidField, field: "video_codec", msg: "copy, h264"},
		{name: "video_codec number", body: `{` + okURL + `,"video_codec":264}`, status: 400, code: codeInvalidType, field: "video_codec"},
		{name: "video_codec H264", body: `{` + okURL + `,"video_codec":"H264"}`, status: 400, code: codeInvalidField, field: "video_codec"},
		{name: "h265 in webm", body: `{` + okURL + `,"format":"webm","video_codec":"h265"}`, status: 400, code: codeInvalidField, field: "video_codec", msg: "holds vp9"},
		{name: "h264 in webm", body: `{` + okURL + `,"format":"webm","video_codec":"h264"}`, status: 400, code: codeInvalidField, field: "video_codec", msg: "webm"},
		{name: "vp9 in mov", body: `{` + okURL + `,"format":"mov","video_codec":"vp9"}`, status: 400, code: codeInvalidField, field: "video_codec", msg: "h264, h265"},
		{name: "video_codec on audio", body: `{` + okURL + `,"audio_only":true,"video_codec":"h264"}`, status: 400, code: codeInvalidField, field: "video_codec", msg: "audio only"},
		{name: "video_codec on mp3", body: `{` + okURL + `,"format":"mp3","video_codec":"vp9"}`, status: 400, code: codeInvalidField, field: "video_codec"},
		{name: "audio_codec COPY", body: `{` + okURL + `,"audio_codec":"COPY"}`, status: 400, code: codeInvalidField, field: "audio_codec"},
		{name: "audio_codec flac", body: `{` + okURL + `,"audio_codec":"flac"}`, status: 400, code: codeInvalidField, field: "audio_codec", msg: "aac, opus, mp3"},
		{name: "aac in mp3", body: `{` + okURL + `,"format":"mp3","audio_codec":"aac"}`, status: 400, code: codeInvalidField, field: "audio_codec", msg: "holds mp3"},
		{name: "mp3 in m4a", body: `{` + okURL + `,"audio_only":true,"audio_codec":"mp3"}`, status: 400, code: codeInvalidField, field: "audio_codec"},
		{name: "aac in webm", body: `{` + okURL + `,"format":"webm","audio_codec":"aac"}`, status: 400, code: codeInvalidField, field: "audio_codec", msg: "opus"},
		{name: "opus in mov", body: `{` + okURL + `,"format":"mov","audio_codec":"opus"}`, status: 400, code: codeInvalidField, field: "audio_codec"},
		{name: "aac in ogg", body: `{` + okURL + `,"format":"ogg","audio_codec":"aac"}`, status: 400, code: codeInvalidField, field: "audio_codec"},
		{name: "audio_bitrate unknown", body: `{` + okURL + `,"audio_bitrate":"96k"}`, status: 400, code: codeInvalidField, field: "audio_bitrate", msg: "64k, 128k"},
		{name: "audio_bitrate number", body: `{` + okURL + `,"audio_bitrate":128}`, status: 400, code: codeInvalidType, field: "audio_bitrate"},
		{name: "audio_bitrate no k", body: `{` + okURL + `,"audio_bitrate":"128"}`, status: 400, code: codeInvalidField, field: "audio_bitrate"},
		{name: "video_quality without codec", body: `{` + okURL + `,"video_quality":23}`, status: 400, code: codeInvalidField, field: "video_quality", msg: "only when video_codec"},
		{name: "video_quality with copy", body: `{` + okURL + `,"video_codec":"copy","video_quality":23}`, status: 400, code: codeInvalidField, field: "video_quality"},
		{name: "video_quality 52", body: `{` + okURL + `,"video_codec":"h264","video_quality":52}`, status: 400, code: codeInvalidField, field: "video_quality", msg: "51"},
		{name: "video_quality negative", body: `{` + okURL + `,"video_codec":"h264","video_quality":-1}`, status: 400, code: codeInvalidField, field: "video_quality"},
		{name: "video_quality fraction", body: `{` + okURL + `,"video_codec":"h264","video_quality":22.5}`, status: 400, code: codeInvalidField, field: "video_quality"},
		{name: "video_quality string", body: `{` + okURL + `,"video_codec":"h264","video_quality":"23"}`, status: 400, code: codeInvalidType, field: "video_quality"},
		{name: "quality_preset without codec", body: `{` + okURL + `,"quality_preset":"high"}`, status: 400, code: codeInvalidField, field: "quality_preset", msg: "only when video_codec"},
		{name: "quality_preset unknown", body: `{` + okURL + `,"video_codec":"h264","quality_preset":"ultra"}`, status: 400, code: codeInvalidField, field: "quality_preset", msg: "highest, high, medium, low, lowest"},
		{name: "quality_preset number", body: `{` + okURL + `,"video_codec":"h264","quality_preset":1}`, status: 400, code: codeInvalidType, field: "quality_preset"},
		{name: "storage without keys", body: `{` + okURL + `,"storage":{"provider":"s3","bucket":"b"}}`, status: 400, code: codeMissingField, field: "storage.access_key"},
		{name: "storage not an object", body: `{` + okURL + `,"storage":"s3"}`, status: 400, code: codeInvalidType, field: "storage"},
		{name: "storage unknown provider", body: `{` + okURL + `,"storage":{"provider":"ftp","bucket":"b"}}`, status: 400, code: codeInvalidField, field: "storage.provider"},
		{name: "live_from_start string", body: `{` + okURL + `,"live_from_start":"yes"}`, status: 400, code: codeInvalidType, field: "live_from_start"},
		{name: "wait_for_video number", body: `{` + okURL + `,"wait_for_video":1}`, status: 400, code: codeInvalidType, field: "wait_for_video"},
		{name: "paused true on a single media", body: `{` + okURL + `,"paused":true}`, status: 400, code: codeInvalidField, field: "paused", msg: "applies to a show"},
		{name: "paused string", body: `{` + okURL + `,"paused":"false"}`, status: 400, code: codeInvalidType, field: "paused"},
		{name: "live_recording number", body: `{` + okURL + `,"live_recording":0}`, status: 400, code: codeInvalidType, field: "live_recording"},
		// Size.
		{name: "oversized body", body: `{"url":"https://example.com/` + long(testMaxBytes) + `"}`, status: 413, code: codeBodyTooLarge},
		{name: "oversized trailing whitespace", body: `{` + okURL + `}` + strings.Repeat(" ", testMaxBytes), status: 413, code: codeBodyTooLarge},
	}
	require.GreaterOrEqual(t, len(tests), 100)
	h := newHarness(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := h.do(http.MethodPost, "/jobs", tt.body, testKey)
			if tt.code == "" {
				// Only the status matters; the body is still a JSON error.
				require.Equal(t, tt.status, rec.Code, rec.Body.String())
				require.NotEmpty(t, decodeBody(t, rec)["error"])
				return
			}
			m := requireError(t, rec, tt.status, tt.code, tt.field)
			if tt.msg != "" {
				require.Contains(t, m["message"], tt.msg)
			}
		})
	}
	h.tc.AssertNumberOfCalls(t, "ExecuteWorkflow", 0)
}

// TestCreateJobAllowlistedLoopback: with loopback allowed (make dev, the
// tests), loopback URLs are accepted, while other private ranges are not.
func TestCreateJobAllowlistedLoopback(t *testing.T) {
	allow, err := netguard.ParsePrefixes([]string{"127.0.0.0/8", "::1"})
	require.NoError(t, err)
	g := netguard.New(allow)
	for _, u := range []string{"http://127.0.0.1:8090/clip.mp4", "http://localhost/v", "http://[::1]/v"} {
		_, e := decodeJobRequest(strings.NewReader(`{"url":"`+u+`","webhook_url":"`+u+`"}`), g)
		require.Nil(t, e, u)
	}
	_, e := decodeJobRequest(strings.NewReader(`{"url":"http://10.0.0.1/v"}`), g)
	require.NotNil(t, e)
	require.Equal(t, "url", e.Field)
}

func TestCleanFolder(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "",
		"a":                      "a",
		"a/":                     "a",
		"my-podcast-2024":        "my-podcast-2024",
		"shows/s 1/ép":           "shows/s 1/ép",
		"a..b/c.d":               "a..b/c.d",
		strings.Repeat("é", 200): strings.Repeat("é", 200),
	} {
		got, e := cleanFolder(in)
		require.Nil(t, e, in)
		require.Equal(t, want, got)
	}
}

// TestJobOptionsBecomeTheJobInput: every accepted spelling of the hosted
// service's options, and what the workflow gets from it.
func TestJobOptionsBecomeTheJobInput(t *testing.T) {
	g := netguard.New(nil)
	tests := []struct {
		body   string
		format string
		opts   workflows.JobOptions
	}{
		{`"audio_only":true`, "m4a", workflows.JobOptions{}},
		{`"audio_only":true,"format":"opus"`, "opus", workflows.JobOptions{}},
		{`"audio_only":false,"format":"mp3"`, "mp3", workflows.JobOptions{}},
		{`"format":"ogg"`, "ogg", workflows.JobOptions{}},
		{`"max_resolution":720`, "mp4", workflows.JobOptions{MaxHeight: 720}},
		{`"max_resolution":"1080p"`, "mp4", workflows.JobOptions{MaxHeight: 1080}},
		{`"max_resolution":144.0`, "mp4", workflows.JobOptions{MaxHeight: 144}},
		{`"max_resolution":null`, "mp4", workflows.JobOptions{}},
		{`"max_resolution":"best"`, "mp4", workflows.JobOptions{}},
		{`"max_resolution":"2160"`, "mp4", workflows.JobOptions{MaxHeight: 2160}},
		{`"max_resolution":"1440"`, "mp4", workflows.JobOptions{MaxHeight: 1440}},
		{`"max_resolution":"1080"`, "mp4", workflows.JobOptions{MaxHeight: 1080}},
		{`"max_resolution":"720"`, "mp4", workflows.JobOptions{MaxHeight: 720}},
		{`"max_resolution":"480"`, "mp4", workflows.JobOptions{MaxHeight: 480}},
		{`"max_resolution":"360"`, "mp4", workflows.JobOptions{MaxHeight: 360}},
		{`"max_resolution":"720p"`, "mp4", workflows.JobOptions{MaxHeight: 720}},
		{`"max_resolution":1440`, "mp4", workflows.JobOptions{MaxHeight: 1440}},
		{`"filename":"My Talk"`, "mp4", workflows.JobOptions{Filename: "My Talk.mp4"}},
		{`"filename":"My Talk.MP4"`, "mp4", workflows.JobOptions{Filename: "My Talk.MP4"}},
		{`"filename":"talk.mkv","format":"webm"`, "webm", workflows.JobOptions{Filename: "talk.webm"}},
		{`"filename":"talk.v2","format":"mp3"`, "mp3", workflows.JobOptions{Filename: "talk.v2.mp3"}},
		{`"filename":"talk.","format":"mkv"`, "mkv", workflows.JobOptions{Filename: "talk.mkv"}},
		{`"filename":"épisode 1 — ça va"`, "mp4", workflows.JobOptions{Filename: "épisode 1 — ça va.mp4"}},
		{`"download_thumbnail":true`, "mp4", workflows.JobOptions{Thumbnail: true}},
		{`"clip_start":10,"clip_end":20.5`, "mp4", workflows.JobOptions{ClipStart: 10, ClipEnd: 20.5}},
		{`"clip_start":"00:01:02.5","clip_end":"1:02:03"`, "mp4", workflows.JobOptions{ClipStart: 62.5, ClipEnd: 3723}},
		{`"clip_start":1.23456`, "mp4", workflows.JobOptions{ClipStart: 1.235}},
		{`"clip_end":"00:00:00.001"`, "mp4", workflows.JobOptions{ClipEnd: 0.001}},
		{`"clip_start":null,"clip_end":null`, "mp4", workflows.JobOptions{}},
		{`"clip_start":"90"`, "mp4", workflows.JobOptions{ClipStart: 90}},
		{`"clip_start":"90.25","clip_end":"120"`, "mp4", workflows.JobOptions{ClipStart: 90.25, ClipEnd: 120}},
		{`"clip_start":"01:30"`, "mp4", workflows.JobOptions{ClipStart: 90}},
		{`"clip_start":"1:30.5","clip_end":"75:00"`, "mp4", workflows.JobOptions{ClipStart: 90.5, ClipEnd: 4500}},
		{`"clip_start":"01:02:03"`, "mp4", workflows.JobOptions{ClipStart: 3723}},
		{`"clip_start":"01:02:03.5"`, "mp4", workflows.JobOptions{ClipStart: 3723.5}},
		{`"clip_start":"0","clip_end":"00:00:01"`, "mp4", workflows.JobOptions{ClipEnd: 1}},
		{`"clip_end":"604800"`, "mp4", workflows.JobOptions{ClipEnd: 604800}},
		{`"max_duration":600`, "mp4", workflows.JobOptions{MaxDuration: 600}},
		{`"max_duration":"3600"`, "mp4", workflows.JobOptions{MaxDuration: 3600}},
		{`"max_duration":null`, "mp4", workflows.JobOptions{}},
		// Live streams.
		{`"live_recording":true,"max_duration":6`, "mp4", workflows.JobOptions{LiveRecording: true, MaxDuration: 6}},
		{`"live_from_start":true,"wait_for_video":true`, "mp4", workflows.JobOptions{LiveFromStart: true, WaitForVideo: true}},
		{`"live_recording":null,"live_from_start":null,"wait_for_video":null`, "mp4", workflows.JobOptions{}},
		// The reference's values that ask for what riptide does anyway.
		{`"video_codec":"copy","audio_codec":"copy"`, "mp4", workflows.JobOptions{}},
		{`"live_recording":false,"live_from_start":false,"wait_for_video":false,"paused":false`, "mp4", workflows.JobOptions{}},
		{`"video_codec":null,"audio_codec":null,"audio_bitrate":null,"video_quality":null,"quality_preset":null,"storage":null`, "mp4", workflows.JobOptions{}},
		// Encoding options.
		{`"format":"mkv","video_codec":"h265","audio_codec":"opus","audio_bitrate":"128k","video_quality":28`, "mkv",
			workflows.JobOptions{Transcode: &workflows.Transcode{VideoCodec: "h265", AudioCodec: "opus", AudioBitrate: 128, CRF: 28}}},
		{`"video_codec":"h264"`, "mp4", workflows.JobOptions{Transcode: &workflows.Transcode{VideoCodec: "h264", CRF: 23}}},
		{`"video_codec":"h264","video_quality":0`, "mp4", workflows.JobOptions{Transcode: &workflows.Transcode{VideoCodec: "h264"}}},
		{`"format":"webm","video_codec":"vp9","quality_preset":"low","video_quality":10`, "webm",
			workflows.JobOptions{Transcode: &workflows.Transcode{VideoCodec: "vp9", CRF: 28, QualityPreset: "low"}}},
		{`"video_codec":"h265","quality_preset":"highest"`, "mp4", workflows.JobOptions{Transcode: &workflows.Transcode{VideoCodec: "h265", CRF: 18, QualityPreset: "highest"}}},
		{`"format":"mp3","audio_codec":"mp3","audio_bitrate":"128k"`, "mp3", workflows.JobOptions{Transcode: &workflows.Transcode{AudioCodec: "mp3", AudioBitrate: 128}}},
		{`"audio_only":true,"audio_bitrate":"320k"`, "m4a", workflows.JobOptions{Transcode: &workflows.Transcode{AudioBitrate: 320}}},
		{`"format":"opus","audio_codec":"opus","audio_bitrate":"64k"`, "opus", workflows.JobOptions{Transcode: &workflows.Transcode{AudioCodec: "opus", AudioBitrate: 64}}},
		{`"format":"mov","video_codec":"h265","audio_codec":"aac"`, "mov", workflows.JobOptions{Transcode: &workflows.Transcode{VideoCodec: "h265", AudioCodec: "aac", CRF: 23}}},
	}
	for _, tt := range tests {
		in, e := decodeJobRequest(strings.NewReader(`{"url":"https://example.com/v",`+tt.body+`}`), g)
		require.Nil(t, e, tt.body)
		require.Equal(t, tt.format, in.Format, tt.body)
		require.Equal(t, tt.opts, in.JobOptions, tt.body)
	}
}

// TestBatchTakesJobOptions: POST /batches validates the same options.
func TestBatchTakesJobOptions(t *testing.T) {
	g := netguard.New(nil)
	in, paused, e := decodeBatchRequest(strings.NewReader(`{"show_url":"https://example.com/feed.rss","audio_only":true,`+
		`"filename":"show","max_duration":3600,"download_thumbnail":true,"clip_end":"00:10:00","max_resolution":"480p"}`), g)
	require.Nil(t, e)
	require.False(t, paused)
	require.Equal(t, "m4a", in.Format)
	require.Equal(t, workflows.JobOptions{Filename: "show.m4a", MaxDuration: 3600, Thumbnail: true, ClipEnd: 600, MaxHeight: 480}, in.JobOptions)
	_, _, e = decodeBatchRequest(strings.NewReader(`{"show_url":"https://example.com/feed.rss","clip_start":5,"clip_end":5}`), g)
	require.NotNil(t, e)
	require.Equal(t, "clip_end", e.Field)
	// paused is a boolean; true creates the batch paused.
	_, paused, e = decodeBatchRequest(strings.NewReader(`{"show_url":"https://example.com/feed.rss","paused":true}`), g)
	require.Nil(t, e)
	in, _, e = decodeBatchRequest(strings.NewReader(`{"show_url":"https://example.com/feed.rss","format":"webm","video_codec":"vp9","audio_bitrate":"192k"}`), g)
	require.Nil(t, e)
	require.Equal(t, &workflows.Transcode{VideoCodec: "vp9", CRF: 23, AudioBitrate: 192}, in.Transcode)
	_, _, e = decodeBatchRequest(strings.NewReader(`{"show_url":"https://example.com/feed.rss","format":"webm","video_codec":"h264"}`), g)
	require.NotNil(t, e)
	require.Equal(t, "video_codec", e.Field)
	require.True(t, paused)
	_, _, e = decodeBatchRequest(strings.NewReader(`{"show_url":"https://example.com/feed.rss","paused":"yes"}`), g)
	require.NotNil(t, e)
	require.Equal(t, codeInvalidType, e.Code)
	require.Equal(t, "paused", e.Field)
	_, paused, e = decodeBatchRequest(strings.NewReader(`{"show_url":"https://example.com/feed.rss","video_codec":"copy"}`), g)
	require.Nil(t, e)
	require.False(t, paused)
}
