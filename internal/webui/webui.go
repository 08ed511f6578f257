// Package webui is riptide's web dashboard: static files embedded in the
// API binary and served at /ui/. They hold no data and no secret: every
// figure is fetched by the page from the API with the x-api-key the user
// signs in with, so the files themselves are served without a key.
//
// Plain JavaScript modules and CSS, no framework and no build step: the
// whole dashboard is some 50 KB (17 KB gzipped, as it is served to
// browsers that take gzip), and `go build` alone makes a binary that
// serves it.
package webui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// Prefix is where the dashboard is served.
const Prefix = "/ui/"

// CSP allows the page nothing but its own origin: no inline script or
// style, no other host (the media links are plain navigations), no frames.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

//go:embed static
var static embed.FS

type file struct {
	body, gz []byte
	etag     string
	ctype    string
}

var files = load()

func load() map[string]file {
	out := map[string]file{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		_, _ = zw.Write(b)
		_ = zw.Close()
		out[strings.TrimPrefix(p, "static/")] = file{body: b, gz: gz.Bytes(), etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ctype: ct}
		return nil
	})
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return out
}

// Files lists the embedded files' names (index.html, app.js, ...).
func Files() []string {
	out := make([]string, 0, len(files))
	for n := range files {
		out = append(out, n)
	}
	return out
}

// ServeHTTP serves name ("" is index.html) with the dashboard's security
// headers; an unknown name is a 404.
func Serve(w http.ResponseWriter, r *http.Request, name string) {
	name = strings.TrimPrefix(name, "/")
	if name == "" {
		name = "index.html"
	}
	f, ok := files[name]
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	if !ok {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	h.Set("Content-Type", f.ctype)
	// Revalidated on every load (a 304 when unchanged), so an upgraded
	// binary's files are never mixed with a cached older one's.
	h.Set("Cache-Control", "no-cache")
	h.Set("Vary", "Accept-Encoding")
	body, etag := f.body, f.etag
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		body, etag = f.gz, strings.TrimSuffix(f.etag, `"`)+`-gz"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}
