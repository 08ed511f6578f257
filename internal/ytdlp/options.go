package ytdlp

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/riptide-dev/riptide/internal/childproc"
)

// Options are yt-dlp options from the operator's settings (never from a
// client): extractor arguments (--extractor-args, one per extractor, e.g.
// "youtube:player_client=default,mweb;po_token=..."), a format sort (-S)
// and an impersonation target (--impersonate, which needs yt-dlp 2024.03+
// with curl_cffi installed).
type Options struct {
	ExtractorArgs []string
	FormatSort    string
	Impersonate   string
}

var (
	extractorArgsRe = regexp.MustCompile(`^[A-Za-z0-9_]+:[^\s]+$`)
	formatSortRe    = regexp.MustCompile(`^[+]?[a-z_]+(:[A-Za-z0-9.~]+)?(,[+]?[a-z_]+(:[A-Za-z0-9.~]+)?)*$`)
	impersonateRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.:_-]*$`)
)

// Validate checks the options' shape; they must not open a way to other
// options (no spaces, no leading dash).
func (o Options) Validate() error {
	for _, a := range o.ExtractorArgs {
		if !extractorArgsRe.MatchString(a) {
			return fmt.Errorf("extractor args %q are not EXTRACTOR:KEY=VALUE[;KEY=VALUE]", a)
		}
	}
	if o.FormatSort != "" && !formatSortRe.MatchString(o.FormatSort) {
		return fmt.Errorf("format sort %q is not a comma-separated list of yt-dlp sort fields (e.g. res:1080,vcodec:h264)", o.FormatSort)
	}
	if o.Impersonate != "" && !impersonateRe.MatchString(o.Impersonate) {
		return fmt.Errorf("impersonate target %q is not a yt-dlp target (e.g. chrome, chrome-124, safari:ios)", o.Impersonate)
	}
	return nil
}

// Args are the options as yt-dlp arguments.
func (o Options) Args() []string {
	var out []string
	for _, a := range o.ExtractorArgs {
		out = append(out, "--extractor-args", a)
	}
	if o.FormatSort != "" {
		out = append(out, "-S", o.FormatSort)
	}
	if o.Impersonate != "" {
		out = append(out, "--impersonate", o.Impersonate)
	}
	return out
}

// CheckImpersonate asks the yt-dlp at path whether it can impersonate
// target: an older yt-dlp has no --list-impersonate-targets, and one
// without curl_cffi lists every target as unavailable.
func CheckImpersonate(ctx context.Context, path, target string) error {
	if target == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := childproc.Command(ctx, childproc.Options{}, path, "--ignore-config", "--list-impersonate-targets")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("this yt-dlp cannot impersonate (it needs 2024.03.10 or later): --list-impersonate-targets failed: %v", err)
	}
	client, _, _ := strings.Cut(strings.ToLower(target), "-")
	client, _, _ = strings.Cut(client, ":")
	for l := range strings.Lines(out.String()) {
		f := strings.Fields(strings.ToLower(l))
		if len(f) == 0 || f[0] != client {
			continue
		}
		if strings.Contains(strings.ToLower(l), "unavailable") {
			return fmt.Errorf("yt-dlp lists impersonate target %q as unavailable: install curl_cffi next to yt-dlp (pip install \"yt-dlp[default,curl-cffi]\")", target)
		}
		return nil
	}
	return fmt.Errorf("yt-dlp does not list impersonate target %q (--list-impersonate-targets)", target)
}
