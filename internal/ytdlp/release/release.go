// Package release is riptide's policy on yt-dlp releases: which it runs,
// which only confined, and when one is stale. It runs nothing, so the API
// can report it in /healthz without linking the yt-dlp driver.
package release

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/riptide-dev/riptide/internal/childproc"
)

// The yt-dlp versions riptide accepts.
//
//   - MinVersion is the oldest yt-dlp a worker starts with at all: the
//     one Debian ships (bookworm, and so riptide's CI), whose flaws riptide
//     defends against itself: it only sends http(s) through --proxy, so
//     riptide refuses every other URL in the info JSON (ytdlp.CheckInfoURLs) and
//     confines it in a network namespace whose only way out is the proxy
//     (internal/childproc); and it takes a proxy from data smuggled in a
//     URL (CVE-2023-46121), which ytdlp.CheckSourceURL refuses.
//   - UnconfinedVersion is the oldest that is safe without the namespace:
//     it fixes CVE-2023-46121, and its networking layer (2023.10) sends
//     every scheme to --proxy, where riptide's proxy refuses what is not
//     http(s). Below it, a worker whose children cannot be confined
//     refuses to start unless RIPTIDE_SANDBOX=off says the operator
//     accepts the risk.
const (
	MinVersion        = "2023.03.04"
	UnconfinedVersion = "2023.11.14"
	// DefaultMaxAge is the age past which a yt-dlp is reported as stale:
	// sites change, and extractors with them.
	DefaultMaxAge = 90 * 24 * time.Hour
)

// Version is a yt-dlp release: YYYY.MM.DD, perhaps with a build suffix.
type Version struct {
	Raw      string
	Released time.Time
}

var versionRE = regexp.MustCompile(`^(\d{4})\.(\d{1,2})\.(\d{1,2})`)

// ParseVersion reads `yt-dlp --version` output.
func ParseVersion(s string) (Version, error) {
	s = strings.TrimSpace(s)
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("yt-dlp version %q is not YYYY.MM.DD", s)
	}
	t, err := time.Parse("2006.1.2", m[1]+"."+m[2]+"."+m[3])
	if err != nil {
		return Version{}, fmt.Errorf("yt-dlp version %q: %v", s, err)
	}
	line, _, _ := strings.Cut(s, "\n")
	return Version{Raw: strings.TrimSpace(line), Released: t}, nil
}

func mustVersion(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

// Older reports whether v was released before the version named other.
func (v Version) Older(other string) bool { return v.Released.Before(mustVersion(other).Released) }

// Age is how long ago v was released.
func (v Version) Age(now time.Time) time.Duration { return now.Sub(v.Released) }

// Assessment is what riptide makes of a yt-dlp version.
type Assessment struct {
	Version Version
	// Refusal is why a worker must not run this yt-dlp; nil when it may.
	Refusal error
	// Warnings are worth an operator's attention.
	Warnings []string
}

// Assess judges v for a worker whose sandbox is st, at now.
func Assess(v Version, st childproc.Status, now time.Time, maxAge time.Duration) Assessment {
	a := Assessment{Version: v}
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	switch {
	case v.Older(MinVersion):
		a.Refusal = fmt.Errorf("yt-dlp %s is older than %s, the oldest riptide runs: install a current yt-dlp (README: yt-dlp)", v.Raw, MinVersion)
	case v.Older(UnconfinedVersion) && !st.Active && st.Mode != childproc.ModeOff:
		a.Refusal = fmt.Errorf("yt-dlp %s (older than %s) sends only http(s) through riptide's proxy, and its children cannot be confined here (%s): "+
			"install yt-dlp %s or newer, let the worker create network namespaces, or set RIPTIDE_SANDBOX=off to accept the risk",
			v.Raw, UnconfinedVersion, st.Reason, UnconfinedVersion)
	case v.Older(UnconfinedVersion) && !st.Active:
		a.Warnings = append(a.Warnings, fmt.Sprintf("SECURITY: yt-dlp %s (older than %s) runs unconfined (RIPTIDE_SANDBOX=off): "+
			"a redirect to a non-HTTP URL during extraction is not forced through the guarded proxy", v.Raw, UnconfinedVersion))
	case v.Older(UnconfinedVersion):
		a.Warnings = append(a.Warnings, fmt.Sprintf("yt-dlp %s is older than %s: safe only because its children are confined; install a current one",
			v.Raw, UnconfinedVersion))
	}
	if age := v.Age(now); age > maxAge {
		a.Warnings = append(a.Warnings, fmt.Sprintf("yt-dlp %s is %d days old (over %d): sites change, update it",
			v.Raw, int(age.Hours()/24), int(maxAge.Hours()/24)))
	}
	return a
}
