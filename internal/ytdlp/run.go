// Package ytdlp drives yt-dlp: it runs it behind riptide's guarded proxy,
// reads its info JSON, follows its progress output, fetches media,
// thumbnails and subtitles apart, lists playlists, and turns its error
// messages into typed failures.
package ytdlp

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/riptide-dev/riptide/internal/childproc"
	"github.com/riptide-dev/riptide/internal/failure"
	"github.com/riptide-dev/riptide/internal/heartbeat"
	"github.com/riptide-dev/riptide/internal/textcut"
	"github.com/riptide-dev/riptide/workflows"
)

// waitDelay bounds how long Wait waits for yt-dlp's output pipes after
// the process is gone (a killed yt-dlp can leave children holding them).
const waitDelay = 5 * time.Second

// Runner runs one yt-dlp installation.
type Runner struct {
	// Path is the yt-dlp program.
	Path string
	// Proxy, when set, is the URL of the proxy yt-dlp must connect
	// through: a netguard.Proxy that refuses non-public addresses.
	Proxy string
	// Fragments is --concurrent-fragments (0 or 1: one at a time).
	Fragments int
	// Stderr, when set, receives yt-dlp's diagnostic output.
	Stderr io.Writer
	// MaxFilesize, when positive, is Fetch's --max-filesize.
	MaxFilesize int64
	// Cookies, when set, is the path of the job's private copy of its
	// cookie jar (--cookies; yt-dlp rewrites it).
	Cookies string
	// Options are the operator's extra options (Options.Args): extractor
	// arguments, format sort, impersonation.
	Options []string
}

// Run runs yt-dlp with args, heartbeating progress() until it exits, and
// turns a failure into a typed error.
func (r Runner) Run(ctx context.Context, stdout io.Writer, progress func() workflows.Progress, args ...string) error {
	var tail textcut.Tail
	// The URL, when there is one, follows "--".
	if i := slices.Index(args, "--"); i >= 0 {
		for _, u := range args[i+1:] {
			if err := CheckSourceURL(u); err != nil {
				return err
			}
		}
	}
	// Options before "--"; the URL, when there is one, comes last.
	if r.Cookies != "" {
		args = append([]string{"--cookies", r.Cookies}, args...)
	}
	args = append(slices.Clip(r.Options), args...)
	if r.Proxy != "" {
		args = append([]string{"--proxy", r.Proxy}, args...)
	}
	// A minimal environment, and (where the machine allows it) a network
	// namespace whose only way out is the proxy; internal/childproc.
	// Without a proxy (only tests build such a Runner) nothing is guarded.
	cmd := childproc.Command(ctx, childproc.Options{Proxy: r.Proxy, HostNetwork: r.Proxy == ""}, r.Path, args...)
	cmd.Stdout = stdout
	cmd.Stderr = &tail
	if r.Stderr != nil {
		cmd.Stderr = io.MultiWriter(&tail, r.Stderr)
	}
	cmd.WaitDelay = waitDelay
	stop := heartbeat.Every(ctx, heartbeat.Interval, progress)
	err := cmd.Run()
	stop()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if _, ok := errors.AsType[*exec.ExitError](err); !ok {
		return failure.Technical(err, "running yt-dlp: %v", err)
	}
	if r.Proxy != "" && childproc.Current().Active {
		if msg, ok := bypassAttempt(tail.String()); ok {
			return failure.Permanent(workflows.ErrTypeBlockedAddress,
				"the source tried to make yt-dlp connect outside riptide's guarded proxy (a non-HTTP URL or redirect?); refused: %s", msg)
		}
	}
	return classifyError(tail.String(), err)
}

// bypassMarks are the socket errors a confined yt-dlp gets when it
// connects anywhere but the proxy: its namespace has nothing else (no
// route, an empty loopback, no resolver). Through the proxy none of them
// can happen: it answers with an HTTP status instead.
var bypassMarks = []string{
	"network is unreachable", "[errno 101]",
	"connection refused", "[errno 111]",
	"name or service not known", "temporary failure in name resolution", "[errno -2]", "[errno -3]",
}

// bypassAttempt reports the error message of a confined run that tried a
// direct connection.
func bypassAttempt(stderr string) (string, bool) {
	msg, ok := ytdlpErrorMessage(stderr)
	if !ok {
		return "", false
	}
	lower := strings.ToLower(msg)
	for _, m := range bypassMarks {
		if strings.Contains(lower, m) {
			return msg, true
		}
	}
	return "", false
}

// noProgress is the progress of a step that downloads no media.
func noProgress() workflows.Progress { return workflows.Progress{} }
