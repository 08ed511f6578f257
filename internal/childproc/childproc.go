// Package childproc builds the commands of the external programs riptide
// runs on a job's behalf (yt-dlp, ffmpeg, ffprobe) so that they can reach
// nothing the job must not:
//
//   - Each child gets an explicit, minimal environment (Env): PATH, HOME and
//     TMPDIR (the job's directory) and LANG. Nothing is inherited, so no
//     http_proxy/no_proxy/NO_PROXY of the worker's can steer a child past
//     the guarded proxy.
//   - On Linux each child runs in a network namespace of its own (the
//     sandbox): a child that only reads local files has no network at all,
//     and yt-dlp (or an ffprobe of a URL) can reach only the worker's
//     guarded proxy, which a helper inside the namespace forwards to over a
//     Unix socket. Whatever protocol or redirect a child follows, the only
//     address it can connect to is the proxy.
//
// Where namespaces are unavailable (no privilege, a container's seccomp
// profile), the sandbox degrades according to the mode (SetMode): auto
// warns once and runs children with the minimal environment only; required
// refuses to run them; off never tries.
package childproc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Mode says what to do about the sandbox (RIPTIDE_SANDBOX).
type Mode string

const (
	// ModeAuto confines children where the machine allows it, and runs
	// them with the minimal environment alone elsewhere (one warning).
	ModeAuto Mode = "auto"
	// ModeRequired refuses to run a child unconfined.
	ModeRequired Mode = "required"
	// ModeOff never confines children (the minimal environment stays).
	ModeOff Mode = "off"
)

// ParseMode reads a RIPTIDE_SANDBOX value; "" is auto.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case "":
		return ModeAuto, nil
	case ModeAuto, ModeRequired, ModeOff:
		return m, nil
	}
	return "", fmt.Errorf("sandbox mode %q: want auto, required or off", s)
}

// BasePath is the PATH of every child, after the directory of the program
// itself.
const BasePath = "/usr/local/bin:/usr/bin:/bin"

// EnvKeys are the only environment variables a child gets.
var EnvKeys = []string{"PATH", "HOME", "TMPDIR", "LANG"}

// Env is the whole environment of a child running program with dir as its
// home and temporary directory.
func Env(program, dir string) []string {
	path := BasePath
	if d := filepath.Dir(program); filepath.IsAbs(d) && !slices.Contains(strings.Split(BasePath, ":"), d) {
		path = d + ":" + path
	}
	return []string{"PATH=" + path, "HOME=" + dir, "TMPDIR=" + dir, "LANG=C.UTF-8"}
}

// Options say what one child may use.
type Options struct {
	// Dir is the child's HOME and TMPDIR: the job's directory. Empty: the
	// directory WithDir put in the context, else a private scratch
	// directory of the process.
	Dir string
	// Proxy is the URL of the guarded proxy (http://127.0.0.1:PORT), the
	// only address the child may reach. Empty: no network at all.
	Proxy string
	// HostNetwork leaves the child in the worker's network namespace (the
	// environment stays minimal): for a yt-dlp Runner given no proxy,
	// which only tests build. Production children always have a proxy or
	// no network.
	HostNetwork bool
}

type dirKey struct{}

// WithDir returns a context whose children use dir as HOME and TMPDIR.
func WithDir(ctx context.Context, dir string) context.Context {
	return context.WithValue(ctx, dirKey{}, dir)
}

// CommandContext is exec.CommandContext for ffmpeg and ffprobe: no network,
// unless args hold "-http_proxy URL", which then is the only address the
// child can reach.
func CommandContext(ctx context.Context, name string, args ...string) *exec.Cmd {
	var opts Options
	if i := slices.Index(args, "-http_proxy"); i >= 0 && i+1 < len(args) {
		opts.Proxy = args[i+1]
	}
	return Command(ctx, opts, name, args...)
}

// Command is exec.CommandContext for a child confined as opts say. Errors
// building it (a program not found, a sandbox required but unavailable)
// surface from its Start or Run, as exec's do.
func Command(ctx context.Context, opts Options, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	if cmd.Err != nil {
		return cmd
	}
	dir := opts.Dir
	if dir == "" {
		dir, _ = ctx.Value(dirKey{}).(string)
	}
	if dir == "" {
		var err error
		if dir, err = scratchDir(); err != nil {
			cmd.Err = err
			return cmd
		}
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	cmd.Env = Env(cmd.Path, dir)
	if opts.HostNetwork || !sandboxed() {
		return cmd
	}
	if err := confine(cmd, opts.Proxy); err != nil {
		cmd.Err = err
	}
	return cmd
}

var scratch struct {
	once sync.Once
	dir  string
	err  error
}

// scratchDir is a private empty directory for children without a job
// directory of their own (version checks, info extraction).
func scratchDir() (string, error) {
	scratch.once.Do(func() {
		scratch.dir, scratch.err = os.MkdirTemp("", "riptide-child-")
	})
	return scratch.dir, scratch.err
}

// state is the process's sandbox mode and what probing it found.
var state struct {
	mu      sync.Mutex
	mode    Mode
	probed  bool
	active  bool
	reason  error // why the sandbox is not active
	warned  bool
	logger  *slog.Logger
	refusal error // set in required mode when unavailable
}

// Status describes the sandbox of this process.
type Status struct {
	Mode Mode
	// Active: children run in network namespaces of their own.
	Active bool
	// Reason is why it is not active, "" when it is.
	Reason string
}

// SetMode sets the sandbox mode and probes the machine now; logger gets
// the warning of a sandbox that auto mode cannot set up. In required mode
// an unavailable sandbox is an error (and every child refuses to start).
func SetMode(mode Mode, logger *slog.Logger) (Status, error) {
	state.mu.Lock()
	state.mode, state.probed, state.warned, state.logger = mode, false, false, logger
	state.mu.Unlock()
	sandboxed()
	st := Current()
	if mode == ModeRequired && !st.Active {
		return st, fmt.Errorf("RIPTIDE_SANDBOX=required, but children cannot be confined: %s", st.Reason)
	}
	return st, nil
}

// Current reports the sandbox's state, probing it first if needed.
func Current() Status {
	sandboxed()
	state.mu.Lock()
	defer state.mu.Unlock()
	st := Status{Mode: state.mode, Active: state.active}
	if state.reason != nil {
		st.Reason = state.reason.Error()
	}
	return st
}

// probeSandbox is probe, replaceable by tests.
var probeSandbox = probe

// errRequired is a child refused because the sandbox is required.
var errRequired = errors.New("the sandbox is required (RIPTIDE_SANDBOX=required) but unavailable")

// sandboxed reports whether children are to be confined, probing the
// machine once. In required mode an unavailable sandbox panics nobody: it
// marks every command with errRequired through confine's caller.
func sandboxed() bool {
	state.mu.Lock()
	defer state.mu.Unlock()
	if state.mode == "" {
		state.mode = ModeAuto
	}
	if !state.probed {
		state.probed = true
		state.active, state.reason = false, nil
		if state.mode == ModeOff {
			state.reason = errors.New("turned off (RIPTIDE_SANDBOX=off)")
		} else if err := probeSandbox(); err != nil {
			state.reason = err
		} else {
			state.active = true
		}
	}
	if state.active {
		return true
	}
	if state.mode == ModeRequired {
		// confine refuses, below.
		return true
	}
	if !state.warned && state.mode == ModeAuto {
		state.warned = true
		logger := state.logger
		if logger == nil {
			logger = slog.Default()
		}
		logger.Warn("SECURITY: yt-dlp, ffmpeg and ffprobe run WITHOUT network confinement: "+
			"a non-HTTP URL or redirect they follow is not forced through the guarded proxy. "+
			"Give the worker the right to create network namespaces (root or CAP_SYS_ADMIN, or unprivileged "+
			"user namespaces), or set RIPTIDE_SANDBOX=off to acknowledge this",
			"reason", state.reason)
	}
	return false
}

// confineRefusal is the error of a child that must be confined but cannot.
func confineRefusal() error {
	state.mu.Lock()
	defer state.mu.Unlock()
	if state.active {
		return nil
	}
	return fmt.Errorf("%w: %v", errRequired, state.reason)
}

// proxyAddr is the host:port of a proxy URL, which must be on IPv4
// loopback: the helper listens on the same address inside the namespace.
func proxyAddr(proxy string) (string, error) {
	u, err := url.Parse(proxy)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("proxy %q is not a URL", proxy)
	}
	if !strings.HasPrefix(u.Hostname(), "127.") || u.Port() == "" {
		return "", fmt.Errorf("proxy %q is not on IPv4 loopback", proxy)
	}
	return u.Host, nil
}
