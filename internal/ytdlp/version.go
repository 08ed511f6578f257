package ytdlp

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/riptide-dev/riptide/internal/childproc"
	"github.com/riptide-dev/riptide/internal/ytdlp/release"
)

// Version runs `yt-dlp --version` (no network).
func (r Runner) Version(ctx context.Context) (release.Version, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := childproc.Command(ctx, childproc.Options{}, r.Path, "--version")
	cmd.WaitDelay = time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return release.Version{}, fmt.Errorf("running %s --version: %v %s", r.Path, err, strings.TrimSpace(stderr.String()))
	}
	return release.ParseVersion(string(out))
}

// StartupCheck sets the process's sandbox mode, then checks the yt-dlp at
// path: an error when the worker must not start (a sandbox required but
// unavailable, a yt-dlp too old); what it found goes to logger. A yt-dlp
// that cannot be run at all is only a warning: jobs that need it fail.
func StartupCheck(ctx context.Context, path string, mode childproc.Mode, maxAge time.Duration, logger *slog.Logger) error {
	st, err := childproc.SetMode(mode, logger)
	if err != nil {
		return err
	}
	if st.Active {
		logger.Info("Children confined: yt-dlp, ffmpeg and ffprobe run in network namespaces of their own", "sandbox", st.Mode)
	}
	v, err := Runner{Path: path}.Version(ctx)
	if err != nil {
		logger.Warn("yt-dlp version unknown: jobs that need yt-dlp will fail", "error", err)
		return nil
	}
	a := release.Assess(v, st, time.Now(), maxAge)
	logger.Info("yt-dlp", "version", v.Raw, "released", v.Released.Format(time.DateOnly),
		"age_days", int(v.Age(time.Now()).Hours()/24), "sandbox", st.Active)
	for _, w := range a.Warnings {
		logger.Warn(w)
	}
	return a.Refusal
}
