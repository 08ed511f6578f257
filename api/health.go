package api

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/riptide-dev/riptide/internal/childproc"
	"github.com/riptide-dev/riptide/internal/cookies"
	"github.com/riptide-dev/riptide/internal/version"
	"github.com/riptide-dev/riptide/internal/ytdlp/release"
	"go.temporal.io/sdk/client"
)

const (
	// checkTimeout bounds each dependency check of /healthz.
	checkTimeout = 5 * time.Second
	// toolCacheTTL is how long tool versions are reused: /healthz is
	// unauthenticated and probed often, and starting yt-dlp is not free.
	toolCacheTTL = time.Minute
)

type healthReport struct {
	Status string `json:"status"`
	// Version is the API binary's riptide release (and revision).
	Version  string              `json:"version"`
	Temporal check               `json:"temporal"`
	S3       check               `json:"s3"`
	Tools    map[string]toolInfo `json:"tools"`
	// Cookies is each operator cookie jar's health (expiry of its sign-in
	// cookies); a jar expired or invalid makes Status "warning" (still
	// 200: a stale cookie is no reason to restart the API).
	Cookies []cookies.Status `json:"cookies,omitempty"`
}

type check struct {
	OK    bool    `json:"ok"`
	Error *string `json:"error"`
}

type toolInfo struct {
	Path    string  `json:"path"`
	Version *string `json:"version"`
	Error   *string `json:"error"`
	// yt-dlp only: its release date (YYYY-MM-DD), age in days, and what
	// riptide makes of it (ytdlp.Assess, for a worker with the sandbox;
	// the workers check their own at start-up).
	ReleaseDate *string  `json:"release_date,omitempty"`
	AgeDays     *int     `json:"age_days,omitempty"`
	Warnings    []string `json:"warnings,omitempty"`
}

// healthz handles GET /healthz: 200 when Temporal and S3 answer, else 503.
// The tools are reported but do not decide the status: they run on workers,
// which may be other machines.
func (s *server) healthz(c *gin.Context) {
	ctx := c.Request.Context()
	var rep healthReport
	var wg sync.WaitGroup
	rep.Version = version.String()
	wg.Go(func() {
		rep.Temporal = runCheck(ctx, func(ctx context.Context) error {
			if s.Temporal == nil {
				return errors.New("not configured")
			}
			_, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		})
	})
	wg.Go(func() {
		rep.S3 = runCheck(ctx, func(ctx context.Context) error {
			if s.Store == nil {
				return errors.New("not configured")
			}
			return s.Store.Ping(ctx)
		})
	})
	wg.Go(func() { rep.Tools = s.tools.get(ctx) })
	wg.Wait()

	rep.Status = "ok"
	status := http.StatusOK
	rep.Cookies = s.Cookies.Statuses()
	for _, j := range rep.Cookies {
		if cookies.Bad(j.State) {
			rep.Status = "warning"
		}
	}
	if !rep.Temporal.OK || !rep.S3.OK {
		rep.Status, status = "degraded", http.StatusServiceUnavailable
	}
	c.JSON(status, rep)
}

func runCheck(ctx context.Context, fn func(context.Context) error) check {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	if err := fn(ctx); err != nil {
		msg := err.Error()
		return check{Error: &msg}
	}
	return check{OK: true}
}

// toolProbe reports the path and version of each external program, caching
// the answer for toolCacheTTL.
type toolProbe struct {
	tools map[string]string
	// ytdlpMaxAge is the age past which yt-dlp is reported stale.
	ytdlpMaxAge time.Duration

	mu   sync.Mutex
	at   time.Time
	last map[string]toolInfo
}

func newToolProbe(tools map[string]string, ytdlpMaxAge time.Duration) *toolProbe {
	return &toolProbe{tools: tools, ytdlpMaxAge: cmp.Or(ytdlpMaxAge, release.DefaultMaxAge)}
}

func (p *toolProbe) get(ctx context.Context) map[string]toolInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last != nil && time.Since(p.at) < toolCacheTTL {
		return p.last
	}
	// A client hanging up must not cache its errors for everyone else.
	ctx = context.WithoutCancel(ctx)
	infos := make(map[string]toolInfo, len(p.tools))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, path := range p.tools {
		wg.Go(func() {
			info := probeTool(ctx, name, path, p.ytdlpMaxAge)
			mu.Lock()
			infos[name] = info
			mu.Unlock()
		})
	}
	wg.Wait()
	p.last, p.at = infos, time.Now()
	return infos
}

// probeTool runs "<path> --version" (ffmpeg and ffprobe: "-version") and
// keeps the first line of its output.
func probeTool(ctx context.Context, name, path string, ytdlpMaxAge time.Duration) toolInfo {
	info := toolInfo{Path: path}
	fail := func(err error) toolInfo {
		msg := err.Error()
		info.Error = &msg
		return info
	}
	resolved, err := exec.LookPath(path)
	if err != nil {
		return fail(err)
	}
	info.Path = resolved
	flag := "--version"
	if strings.HasPrefix(name, "ff") {
		flag = "-version"
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	// Minimal environment, no network.
	cmd := childproc.Command(ctx, childproc.Options{}, resolved, flag)
	cmd.WaitDelay = time.Second
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			err = errors.New("timed out after " + checkTimeout.String())
		}
		return fail(err)
	}
	line, _, _ := strings.Cut(string(bytes.TrimSpace(out)), "\n")
	if line = strings.TrimSpace(line); line != "" {
		info.Version = &line
	}
	if name == "yt-dlp" {
		ytdlpAge(&info, line, time.Now(), ytdlpMaxAge)
	}
	return info
}

// ytdlpAge adds the release date, age and warnings of yt-dlp version v.
func ytdlpAge(info *toolInfo, v string, now time.Time, maxAge time.Duration) {
	ver, err := release.ParseVersion(v)
	if err != nil {
		info.Warnings = []string{err.Error()}
		return
	}
	date := ver.Released.Format(time.DateOnly)
	days := int(ver.Age(now).Hours() / 24)
	info.ReleaseDate, info.AgeDays = &date, &days
	a := release.Assess(ver, childproc.Status{Mode: childproc.ModeAuto, Active: true}, now, maxAge)
	if a.Refusal != nil {
		info.Warnings = append(info.Warnings, "workers refuse it: "+a.Refusal.Error())
	}
	info.Warnings = append(info.Warnings, a.Warnings...)
}
