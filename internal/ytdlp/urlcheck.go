package ytdlp

import (
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/riptide-dev/riptide/internal/failure"
	"github.com/riptide-dev/riptide/workflows"
)

// Only HTTP(S) goes through the guarded proxy: yt-dlp (Debian's 2023.03.04
// at least) fetches ftp:// and other schemes directly, and downloads
// rtmp/rtsp/mms formats with helpers of its own. So riptide refuses a
// source whose info JSON names any other kind of URL before it downloads
// anything (and, on Linux, yt-dlp cannot reach anything but the proxy
// anyway: internal/childproc).

// proxyHeader is the header by which yt-dlp takes a per-request proxy from
// the info JSON or from data smuggled in a URL (CVE-2023-46121): it would
// let a source name its own proxy instead of riptide's.
const proxyHeader = "ytdl-request-proxy"

// blockedProtocols are yt-dlp protocols (formats[].protocol) that are not
// plain HTTP(S) requests, whatever their URL says.
var blockedProtocols = []string{"rtmp", "rtsp", "mms", "ftp", "websocket", "file"}

// uriScheme matches an RFC 3986 scheme at the start of a URL.
var uriScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)

// CheckSourceURL refuses a URL yt-dlp must not be given: not http(s), or
// carrying smuggled data that sets yt-dlp's proxy.
func CheckSourceURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return failure.Permanent(workflows.ErrTypeInvalidInput, "not an http(s) URL: %q", raw)
	}
	s := raw
	for range 3 { // percent-encoded, perhaps twice
		if strings.Contains(strings.ToLower(s), proxyHeader) {
			return failure.Permanent(workflows.ErrTypeBlockedAddress,
				"the URL carries data that would set yt-dlp's proxy (%s); riptide refuses it", proxyHeader)
		}
		if s, err = url.QueryUnescape(s); err != nil {
			break
		}
	}
	return nil
}

// CheckInfoURLs refuses an info JSON naming a URL that is not http(s)
// anywhere yt-dlp or riptide would fetch from (formats and their
// fragments, manifests, subtitles, captions, thumbnails, at any depth), a
// non-HTTP protocol, or a per-request proxy. The error is permanent: the
// source is the same on every attempt.
func CheckInfoURLs(raw []byte) error {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return failure.Technical(err, "parsing yt-dlp's info JSON: %v", err)
	}
	return checkValue(v, "", "")
}

func checkValue(v any, key, at string) error {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys) // the first problem, the same each time
		for _, k := range keys {
			if strings.EqualFold(k, proxyHeader) {
				return failure.Permanent(workflows.ErrTypeBlockedAddress,
					"the source sets its own proxy for yt-dlp (%s at %s); riptide refuses it", k, join(at, k))
			}
			if err := checkValue(v[k], k, join(at, k)); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range v {
			if err := checkValue(e, key, at+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	case string:
		return checkString(key, at, v)
	}
	return nil
}

func join(at, k string) string {
	if at == "" {
		return k
	}
	return at + "." + k
}

// urlKey tells the info JSON's keys whose values are URLs.
func urlKey(k string) bool {
	return k == "url" || strings.HasSuffix(k, "_url") || k == "thumbnail" || k == "path" || k == "manifest_url"
}

func checkString(key, at, s string) error {
	if key == "protocol" {
		for p := range strings.SplitSeq(strings.ToLower(s), "+") {
			for _, b := range blockedProtocols {
				if strings.Contains(p, b) {
					return failure.Permanent(workflows.ErrTypeBlockedAddress,
						"the source offers media over %s (%s); riptide only fetches http and https", p, at)
				}
			}
		}
		return nil
	}
	if !urlKey(key) || s == "" {
		return nil
	}
	s = strings.TrimSpace(s)
	if m := uriScheme.FindString(s); m != "" {
		scheme := strings.ToLower(strings.TrimSuffix(m, ":"))
		if scheme != "http" && scheme != "https" {
			return failure.Permanent(workflows.ErrTypeBlockedAddress,
				"the source links to a %s: URL (%s); riptide only fetches http and https", scheme, at)
		}
		return nil
	}
	// No scheme: a relative fragment path is fine, "//host/..." is taken as
	// http(s); what looks like a local path is not.
	if key != "path" && (strings.HasPrefix(s, "\\") || (strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//"))) {
		return failure.Permanent(workflows.ErrTypeBlockedAddress,
			"the source names a local path, not a URL (%s); riptide only fetches http and https", at)
	}
	return nil
}
