// Package version says which riptide release a binary is.
package version

import "runtime/debug"

// Release is the release this source tree is (CHANGELOG.md). A build may
// stamp another with -ldflags "-X github.com/riptide-dev/riptide/internal/version.Release=…".
var Release = "v0.4.1"

// String is the release, with the VCS revision the binary was built from
// when Go recorded one (and "-dirty" for uncommitted changes).
func String() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return Release
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return Release
	}
	return Release + "+" + rev + dirty
}
