// Package devstack starts the Temporal dev server and a local S3-compatible
// server (versitygw) as child processes. `make dev` and the integration
// tests share it, so what the tests run is what a newcomer runs.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/riptide-dev/riptide/workflows"
)

// Environment variables naming the tool binaries; the Makefile sets them to
// the versions it installs. Unset, the tools are looked up on PATH.
const (
	TemporalBinEnv  = "RIPTIDE_TEMPORAL_BIN"
	VersitygwBinEnv = "RIPTIDE_VERSITYGW_BIN"
)

// Tool returns the path of a tool from its environment variable or PATH.
func Tool(env, name string) (string, error) { return LookupTool(env, name, "make tools") }

// LookupTool is Tool for a tool that installTarget (a make target)
// installs.
func LookupTool(env, name, installTarget string) (string, error) {
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", env, p, err)
		}
		return p, nil
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found: run `%s` or set %s", name, installTarget, env)
	}
	return p, nil
}

// Proc is a running child process.
type Proc struct {
	Name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func start(name string, logTo io.Writer, bin string, args []string, env []string) (*Proc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logTo, logTo
	cmd.Env = append(os.Environ(), env...)
	// Own process group: Ctrl-C in the terminal reaches riptide-dev, which
	// then stops the children in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Proc{Name: name, cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	return p, nil
}

// StartProcess starts bin with extra environment variables, its output to
// logTo.
func StartProcess(name, bin string, env []string, logTo io.Writer) (*Proc, error) {
	return start(name, logTo, bin, nil, env)
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is the exit error once Done is closed.
func (p *Proc) Err() error { return p.err }

// Stop asks the process to exit (SIGTERM) and kills it after grace.
func (p *Proc) Stop(grace time.Duration) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.Kill()
	}
}

// Kill ends the process at once, as a crash would.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// TemporalOptions configure the Temporal dev server.
type TemporalOptions struct {
	Bin string
	// DBFile is the SQLite file that keeps state across restarts.
	DBFile string
	Port   int
	// UIPort 0 runs headless.
	UIPort    int
	Namespace string
	Log       io.Writer
	// UICodecEndpoint, when set, is the Codec Server the UI decodes
	// payloads with (riptide's /codec routes).
	UICodecEndpoint string
}

// StartTemporal starts `temporal server start-dev` and waits until its
// frontend answers health checks.
func StartTemporal(ctx context.Context, o TemporalOptions) (*Proc, error) {
	if err := os.MkdirAll(filepath.Dir(o.DBFile), 0o755); err != nil {
		return nil, err
	}
	args := []string{"server", "start-dev", "--ip", "127.0.0.1", "--port", strconv.Itoa(o.Port),
		"--db-filename", o.DBFile, "--log-level", "warn",
		// WAL with normal sync halves the dev server's write latency and
		// still survives a crash of the process.
		"--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"}
	// On a new database, registered before the server answers; see
	// ensureSearchAttributes for an existing one.
	for _, name := range workflows.SearchAttributes {
		args = append(args, "--search-attribute", name+"=Keyword")
	}
	if o.UIPort > 0 {
		args = append(args, "--ui-port", strconv.Itoa(o.UIPort))
		if o.UICodecEndpoint != "" {
			args = append(args, "--ui-codec-endpoint", o.UICodecEndpoint)
		}
	} else {
		args = append(args, "--headless")
	}
	if o.Namespace != "" && o.Namespace != "default" {
		args = append(args, "--namespace", o.Namespace)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(o.Port))
	for attempt := 1; ; attempt++ {
		p, err := start("temporal", o.Log, o.Bin, args, nil)
		if err != nil {
			return nil, err
		}
		err = waitFor(ctx, p, 2*time.Minute, func(ctx context.Context) error {
			c, err := client.Dial(client.Options{HostPort: addr, Namespace: o.Namespace, Logger: quietLogger{}})
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		})
		if err == nil {
			err = ensureSearchAttributes(ctx, addr, o.Namespace)
		}
		if err == nil {
			return p, nil
		}
		p.Kill()
		// The dev server picks free ports for its internal services as it
		// starts and exits when another process took one meanwhile (seen
		// with parallel tests): start it again.
		if errors.Is(err, ErrExited) && attempt < 3 {
			continue
		}
		return nil, fmt.Errorf("temporal dev server on %s: %w", addr, err)
	}
}

// ErrExited marks a process that exited before it was ready.
var ErrExited = errors.New("exited before it was ready")

// ensureSearchAttributes registers riptide's Keyword search attributes that
// the namespace lacks. start-dev's --search-attribute flag is not enough:
// it registers nothing when the database already exists, and `make dev`
// keeps its database across runs (made before riptide used them).
func ensureSearchAttributes(ctx context.Context, addr, namespace string) error {
	if namespace == "" {
		namespace = "default"
	}
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: namespace, Logger: quietLogger{}})
	if err != nil {
		return err
	}
	defer c.Close()
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("listing search attributes: %w", err)
	}
	add := map[string]enumspb.IndexedValueType{}
	for _, name := range workflows.SearchAttributes {
		if _, ok := resp.GetCustomAttributes()[name]; !ok {
			add[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
		}
	}
	if len(add) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: add,
	})
	if err != nil {
		return fmt.Errorf("adding search attributes: %w", err)
	}
	return nil
}

// S3Options configure the local S3 server.
type S3Options struct {
	Bin       string
	Dir       string
	Addr      string
	AccessKey string
	SecretKey string
	Log       io.Writer
}

// StartS3 starts versitygw serving Dir and waits until it accepts
// connections.
func StartS3(ctx context.Context, o S3Options) (*Proc, error) {
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	// Credentials go through the environment, not argv, so `ps` does not
	// show the secret.
	p, err := start("s3", o.Log, o.Bin, []string{"--port", o.Addr, "posix", o.Dir},
		[]string{"ROOT_ACCESS_KEY=" + o.AccessKey, "ROOT_SECRET_KEY=" + o.SecretKey})
	if err != nil {
		return nil, err
	}
	err = waitFor(ctx, p, 30*time.Second, func(ctx context.Context) error {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", o.Addr)
		if err == nil {
			conn.Close()
		}
		return err
	})
	if err != nil {
		p.Kill()
		return nil, fmt.Errorf("s3 server on %s: %w", o.Addr, err)
	}
	return p, nil
}

func waitFor(ctx context.Context, p *Proc, limit time.Duration, check func(context.Context) error) error {
	return WaitReady(ctx, p.done, func() error { return p.err }, limit, check)
}

// WaitReady polls check (3 s each) every 100 ms until it succeeds, the
// process whose end closes done exits (exitErr says how: an ErrExited
// error), ctx ends or limit passes.
func WaitReady(ctx context.Context, done <-chan struct{}, exitErr func() error, limit time.Duration, check func(context.Context) error) error {
	deadline := time.Now().Add(limit)
	for {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := check(cctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("%w: %v", ErrExited, exitErr())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %w", limit, err)
		}
	}
}

// FreePort returns a TCP port free on loopback right now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// quietLogger silences the SDK's connection retries while polling.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
