// Package pgtemporal runs the production-shaped Temporal server on loopback:
// PostgreSQL (a throwaway cluster of its own) and the multi-service
// temporal-server binary on it, with the postgres12 plugin for both the
// default and the visibility store, the schemas set up by temporal-sql-tool,
// the default namespace registered and riptide's search attributes added.
// The integration tests run on it with RIPTIDE_TEMPORAL_BACKEND=postgres
// (`make test-prod-temporal`).
package pgtemporal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/workflows"
)

// Environment variables naming the binaries; the Makefile sets them to the
// versions scripts/install-tools.sh caches.
const (
	ServerBinEnv  = "RIPTIDE_TEMPORAL_SERVER_BIN"
	SQLToolBinEnv = "RIPTIDE_TEMPORAL_SQL_TOOL_BIN"
	// PostgresBinDirEnv names the directory holding initdb and postgres;
	// unset, PATH and then /usr/lib/postgresql/<newest>/bin are searched.
	PostgresBinDirEnv = "RIPTIDE_POSTGRES_BIN_DIR"
)

// Bin returns the path of a binary from its environment variable or PATH.
func Bin(env, name string) (string, error) { return devstack.LookupTool(env, name, "make test-tools") }

// PostgresBinDir finds the directory of initdb and postgres.
func PostgresBinDir() (string, error) {
	if d := os.Getenv(PostgresBinDirEnv); d != "" {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			return "", fmt.Errorf("%s=%s: %w", PostgresBinDirEnv, d, err)
		}
		return d, nil
	}
	// Debian keeps the server binaries out of PATH.
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("PostgreSQL server binaries not found: run `make test-tools` or set %s", PostgresBinDirEnv)
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// proc is a running child process.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func startProc(bin string, args []string, cred *syscall.Credential, dir string, log io.Writer) (*proc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(bin), err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	return p, nil
}

// kill ends the process and its group (PostgreSQL's backends) at once.
func (p *proc) kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *proc) stop(sig syscall.Signal, grace time.Duration) {
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.kill()
	}
}

func waitFor(ctx context.Context, p *proc, limit time.Duration, check func(context.Context) error) error {
	return devstack.WaitReady(ctx, p.done, func() error { return p.err }, limit, check)
}

// LowPort returns a TCP port free on 127.0.0.1 right now, at most 32767:
// Temporal keeps membership ports in a SMALLINT column and exits on a
// higher one. The range also lies below Linux's ephemeral ports, so the
// port stays free across a restart of the server.
func LowPort() (int, error) {
	for range 200 {
		port := 20000 + rand.IntN(32767-20000+1)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			l.Close()
			return port, nil
		}
	}
	return 0, errors.New("no free TCP port at most 32767 on 127.0.0.1")
}

// Postgres is a PostgreSQL cluster of its own, listening on 127.0.0.1 only,
// with trust authentication for its superuser User.
type Postgres struct {
	Dir  string
	Port int
	User string
	bin  string
	cred *syscall.Credential
	log  io.Writer
	p    *proc
}

// StartPostgres creates a cluster in a new directory under the system's
// temporary directory (initdb; as the postgres user when running as root,
// since PostgreSQL refuses to run as root) and starts it. Remove deletes it.
func StartPostgres(ctx context.Context, log io.Writer) (*Postgres, error) {
	bin, err := PostgresBinDir()
	if err != nil {
		return nil, err
	}
	port, err := LowPort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "riptide-postgres-")
	if err != nil {
		return nil, err
	}
	pg := &Postgres{Dir: dir, Port: port, User: "temporal", bin: bin, log: log}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			pg.Remove()
			return nil, fmt.Errorf("running as root, PostgreSQL needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		pg.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		// Its data directory is the postgres user's.
		if err := os.Chown(dir, uid, gid); err != nil {
			pg.Remove()
			return nil, err
		}
	}
	if err := pg.initdb(); err != nil {
		pg.Remove()
		return nil, err
	}
	if err := pg.Start(ctx); err != nil {
		pg.Remove()
		return nil, err
	}
	return pg, nil
}

// Remove kills the cluster and deletes its directory.
func (pg *Postgres) Remove() {
	pg.Kill()
	_ = os.RemoveAll(pg.Dir)
}

func (pg *Postgres) initdb() error {
	initdb, err := startProc(filepath.Join(pg.bin, "initdb"), []string{"-D", pg.Dir, "-U", pg.User,
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"}, pg.cred, pg.Dir, pg.log)
	if err != nil {
		return err
	}
	<-initdb.done
	if initdb.err != nil {
		return fmt.Errorf("initdb %s: %w (see the services log)", pg.Dir, initdb.err)
	}
	return nil
}

// Addr is host:port of the cluster.
func (pg *Postgres) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(pg.Port))
}

// Start starts the cluster (again) on its directory and port and waits
// until it accepts connections.
func (pg *Postgres) Start(ctx context.Context) error {
	p, err := startProc(filepath.Join(pg.bin, "postgres"), []string{"-D", pg.Dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "port=" + strconv.Itoa(pg.Port),
		"-c", "unix_socket_directories=", "-c", "max_connections=200", "-c", "log_min_messages=warning",
		// A test cluster: durability against a machine crash is not needed,
		// against a crash of the server it is kept.
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"},
		pg.cred, pg.Dir, pg.log)
	if err != nil {
		return err
	}
	err = waitFor(ctx, p, time.Minute, func(ctx context.Context) error {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", pg.Addr())
		if err == nil {
			conn.Close()
		}
		return err
	})
	if err != nil {
		p.kill()
		return fmt.Errorf("postgres on %s: %w", pg.Addr(), err)
	}
	pg.p = p
	return nil
}

// Kill ends PostgreSQL at once, as a crash would.
func (pg *Postgres) Kill() {
	if pg.p != nil {
		pg.p.kill()
		pg.p = nil
	}
}

// Stop shuts PostgreSQL down (fast shutdown), killing it after grace.
func (pg *Postgres) Stop(grace time.Duration) {
	if pg.p != nil {
		pg.p.stop(syscall.SIGINT, grace)
		pg.p = nil
	}
}

// ServerOptions configure a Temporal server on a Postgres cluster.
type ServerOptions struct {
	ServerBin, SQLToolBin string
	Postgres              *Postgres
	// Database names the default store's database; the visibility store's
	// is Database + "_visibility". Several servers can share one cluster.
	Database string
	// Dir receives the config files.
	Dir       string
	Namespace string
	Log       io.Writer
	// DynamicConfig is added to (and overrides) DefaultDynamicConfig.
	DynamicConfig map[string]any
}

// DefaultDynamicConfig is what riptide relies on beyond the server's
// defaults, as the Temporal CLI's dev server sets it.
var DefaultDynamicConfig = map[string]any{
	// Updates (the batch's `listed` update) and update-with-start.
	"frontend.enableUpdateWorkflowExecution": true,
	// A search attribute added is usable at once, not after the cache
	// refreshes; the persistence limits are raised to match, as the dev
	// server does.
	"system.forceSearchAttributesCacheRefreshOnRead": true,
	"frontend.persistenceMaxQPS":                     10000,
	"history.persistenceMaxQPS":                      45000,
	// The dashboard and the job listings count and list through visibility.
	"frontend.namespaceRPS.visibility": 100,
	"history.hostLevelCacheMaxSize":    8192,
}

// Server is a running temporal-server.
type Server struct {
	o      ServerOptions
	config string
	addr   string
	p      *proc
}

// StartServer creates the two databases and their schemas, writes the
// server's config and dynamic config, starts the server, registers the
// namespace and riptide's search attributes, and returns once all answer.
func StartServer(ctx context.Context, o ServerOptions) (*Server, error) {
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.Database == "" {
		o.Database = "temporal"
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	for _, s := range []struct{ db, schema string }{
		{o.Database, "postgresql/v12/temporal"},
		{o.Database + "_visibility", "postgresql/v12/visibility"},
	} {
		if err := o.setupSchema(ctx, s.db, s.schema); err != nil {
			return nil, err
		}
	}
	s := &Server{o: o, config: filepath.Join(o.Dir, "temporal.yaml")}
	if err := s.writeConfig(); err != nil {
		return nil, err
	}
	if err := s.Start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// setupSchema runs temporal-sql-tool as the schema-setup job of a
// deployment does. No -q: it would turn errors into exit status 0.
func (o ServerOptions) setupSchema(ctx context.Context, db, schema string) error {
	base := []string{"--plugin", "postgres12", "--ep", "127.0.0.1", "-p", strconv.Itoa(o.Postgres.Port),
		"-u", o.Postgres.User, "--db", db}
	for _, args := range [][]string{
		{"create-database"},
		{"setup-schema", "-v", "0.0"},
		{"update-schema", "--schema-name", schema},
	} {
		cmd := exec.CommandContext(ctx, o.SQLToolBin, append(append([]string{}, base...), args...)...)
		// Its output (every statement, at debug level) only on failure.
		out, err := cmd.CombinedOutput()
		if err != nil {
			if o.Log != nil {
				_, _ = o.Log.Write(out)
			}
			return fmt.Errorf("temporal-sql-tool %s on %s: %w: %s", args[0], db, err, lastLines(string(out), 5))
		}
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// Addr is the frontend's host:port.
func (s *Server) Addr() string { return s.addr }

// writeConfig picks the ports (kept for restarts) and writes the files.
func (s *Server) writeConfig() error {
	ports := map[string][3]int{}
	for _, svc := range []string{"frontend", "history", "matching", "worker"} {
		var p [3]int
		for i := range p {
			if svc != "frontend" && i == 2 {
				break // HTTP is the frontend's only
			}
			port, err := LowPort()
			if err != nil {
				return err
			}
			p[i] = port
		}
		ports[svc] = p
	}
	fe := ports["frontend"]
	s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(fe[0]))
	dyn := filepath.Join(s.o.Dir, "dynamicconfig.yaml")
	if err := os.WriteFile(dyn, []byte(dynamicConfigYAML(s.o.DynamicConfig)), 0o644); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "log:\n  stdout: true\n  level: warn\n")
	fmt.Fprintf(&b, "persistence:\n  defaultStore: default\n  visibilityStore: visibility\n  numHistoryShards: 4\n  datastores:\n")
	for _, ds := range []struct {
		name, db string
		conns    int
	}{{"default", s.o.Database, 20}, {"visibility", s.o.Database + "_visibility", 5}} {
		fmt.Fprintf(&b, "    %s:\n      sql:\n        pluginName: postgres12\n        databaseName: %s\n"+
			"        connectAddr: %q\n        connectProtocol: tcp\n        user: %s\n        password: \"\"\n"+
			"        maxConns: %d\n        maxIdleConns: %d\n        maxConnLifetime: 1h\n",
			ds.name, ds.db, s.o.Postgres.Addr(), s.o.Postgres.User, ds.conns, ds.conns)
	}
	fmt.Fprintf(&b, "global:\n  membership:\n    maxJoinDuration: 30s\n    broadcastAddress: 127.0.0.1\n  pprof:\n    port: 0\n")
	fmt.Fprintf(&b, "services:\n")
	for _, svc := range []string{"frontend", "history", "matching", "worker"} {
		p := ports[svc]
		fmt.Fprintf(&b, "  %s:\n    rpc:\n      grpcPort: %d\n      membershipPort: %d\n      bindOnIP: 127.0.0.1\n", svc, p[0], p[1])
		if p[2] != 0 {
			fmt.Fprintf(&b, "      httpPort: %d\n", p[2])
		}
	}
	fmt.Fprintf(&b, "clusterMetadata:\n  enableGlobalNamespace: false\n  failoverVersionIncrement: 10\n"+
		"  masterClusterName: active\n  currentClusterName: active\n  clusterInformation:\n    active:\n"+
		"      enabled: true\n      initialFailoverVersion: 1\n      rpcName: frontend\n      rpcAddress: %q\n"+
		"      httpAddress: %q\n", s.addr, net.JoinHostPort("127.0.0.1", strconv.Itoa(fe[2])))
	fmt.Fprintf(&b, "dcRedirectionPolicy:\n  policy: noop\n")
	fmt.Fprintf(&b, "archival:\n  history:\n    state: disabled\n  visibility:\n    state: disabled\n")
	fmt.Fprintf(&b, "namespaceDefaults:\n  archival:\n    history:\n      state: disabled\n    visibility:\n      state: disabled\n")
	fmt.Fprintf(&b, "dynamicConfigClient:\n  filepath: %q\n  pollInterval: 10s\n", dyn)
	return os.WriteFile(s.config, []byte(b.String()), 0o644)
}

// dynamicConfigYAML renders DefaultDynamicConfig with extra over it, one
// unconstrained value per key.
func dynamicConfigYAML(extra map[string]any) string {
	all := map[string]any{}
	for k, v := range DefaultDynamicConfig {
		all[k] = v
	}
	for k, v := range extra {
		all[k] = v
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := all[k]
		if s, ok := v.(string); ok {
			v = strconv.Quote(s)
		}
		fmt.Fprintf(&b, "%s:\n  - value: %v\n", k, v)
	}
	return b.String()
}

// Start starts the server (again) on its config, databases and ports and
// waits until the namespace and its search attributes answer.
func (s *Server) Start(ctx context.Context) error {
	p, err := startProc(s.o.ServerBin, []string{"--config-file", s.config, "--allow-no-auth", "start"}, nil, s.o.Dir, s.o.Log)
	if err != nil {
		return err
	}
	err = waitFor(ctx, p, 2*time.Minute, func(ctx context.Context) error {
		c, err := client.Dial(client.Options{HostPort: s.addr, Namespace: s.o.Namespace, Logger: quietLogger{}})
		if err != nil {
			return err
		}
		defer c.Close()
		if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			return err
		}
		return s.ensureNamespace(ctx, c)
	})
	if err != nil {
		p.kill()
		return fmt.Errorf("temporal server on %s: %w", s.addr, err)
	}
	s.p = p
	return nil
}

// ensureNamespace registers the namespace and riptide's Keyword search
// attributes where missing.
func (s *Server) ensureNamespace(ctx context.Context, c client.Client) error {
	ns := s.o.Namespace
	_, err := c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: ns, WorkflowExecutionRetentionPeriod: durationpb.New(72 * time.Hour),
	})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("registering namespace %s: %w", ns, err)
	}
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
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
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: ns, SearchAttributes: add,
	}); err != nil {
		return fmt.Errorf("adding search attributes: %w", err)
	}
	return errors.New("search attributes added; checking they list")
}

// Kill ends the server at once, as a crash would.
func (s *Server) Kill() {
	if s.p != nil {
		s.p.kill()
		s.p = nil
	}
}

// Stop asks the server to exit (SIGTERM) and kills it after grace.
func (s *Server) Stop(grace time.Duration) {
	if s.p != nil {
		s.p.stop(syscall.SIGTERM, grace)
		s.p = nil
	}
}

// quietLogger silences the SDK's connection retries while polling.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
