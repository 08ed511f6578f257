package app

import (
	"bytes"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"strings"

	"github.com/riptide-dev/riptide/internal/config"
)

// NewLogger returns the process logger: JSON by default, text for humans.
func NewLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: redactAttr}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if strings.EqualFold(c.Format, "text") {
		h = slog.NewTextHandler(w, opts)
	}
	l := slog.New(h)
	slog.SetDefault(l)
	return l
}

// urlPattern finds URLs in log text (messages, attributes, errors: the
// SDK logs an activity's error, and net/http's errors quote the URL whole).
var urlPattern = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]*://[^\s"'<>\\]+`)

// RedactURLs returns s with the credentials of every URL in it removed:
// user info, query and fragment (signed URLs and webhook tokens carry
// their secrets there), so no log line holds one.
func RedactURLs(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return urlPattern.ReplaceAllStringFunc(s, func(raw string) string {
		u, err := url.Parse(raw)
		if err != nil {
			if i := strings.IndexAny(raw, "?#"); i >= 0 {
				return raw[:i] + "?REDACTED"
			}
			return raw
		}
		redacted := u.User != nil || u.RawQuery != "" || u.Fragment != ""
		u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
		if redacted {
			return u.String() + "?REDACTED"
		}
		return raw
	})
}

// redactAttr applies RedactURLs to every string and error a log record
// holds, its message included.
func redactAttr(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); strings.Contains(s, "://") {
			a.Value = slog.StringValue(RedactURLs(s))
		}
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok && err != nil {
			a.Value = slog.StringValue(RedactURLs(err.Error()))
		}
	}
	return a
}

// RedactingWriter passes what is written to w with RedactURLs applied to
// each write: for the diagnostics of child processes (yt-dlp, ffmpeg),
// which print the URLs they fetch whole.
func RedactingWriter(w io.Writer) io.Writer { return redactingWriter{w} }

type redactingWriter struct{ w io.Writer }

func (r redactingWriter) Write(p []byte) (int, error) {
	if !bytes.Contains(p, []byte("://")) {
		return r.w.Write(p)
	}
	if _, err := io.WriteString(r.w, RedactURLs(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
