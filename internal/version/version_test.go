package version

import (
	"strings"
	"testing"
)

func TestStringStartsWithTheRelease(t *testing.T) {
	if got := String(); !strings.HasPrefix(got, Release) {
		t.Fatalf("String() = %q, want it to start with %q", got, Release)
	}
	if !strings.HasPrefix(Release, "v") {
		t.Fatalf("Release %q is not a v-prefixed version", Release)
	}
}
