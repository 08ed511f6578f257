package webui

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestPagesReferToEmbeddedFilesOnly checks the HTML and the modules load
// nothing that is not embedded (no CDN, no other host) and that the page
// has no inline script or style, which the CSP would refuse.
func TestPagesReferToEmbeddedFilesOnly(t *testing.T) {
	names := Files()
	ref := regexp.MustCompile(`(?:src|href)="([^"#][^"]*)"|from '\./([^']+)'`)
	for _, name := range names {
		if !strings.HasSuffix(name, ".html") && !strings.HasSuffix(name, ".js") {
			continue
		}
		body := string(files[name].body)
		for _, m := range ref.FindAllStringSubmatch(body, -1) {
			target := m[1] + m[2]
			if !slices.Contains(names, target) {
				t.Errorf("%s refers to %q, which is not embedded", name, target)
			}
		}
		if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
			if name != "dom.js" { // the SVG namespace
				t.Errorf("%s names another host", name)
			}
		}
	}
	html := string(files["index.html"].body)
	if regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]`).MatchString(html) || strings.Contains(html, "<style") || strings.Contains(html, " style=") {
		t.Error("index.html has inline script or style")
	}
	if !strings.Contains(CSP, "default-src 'self'") || strings.Contains(CSP, "unsafe") {
		t.Errorf("CSP is not strict: %s", CSP)
	}
}
