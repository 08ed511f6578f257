//go:build integration

package devstack

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/riptide-dev/riptide/internal/app"
	"github.com/riptide-dev/riptide/workflows"
)

// TestComposeStackCommandsOnHost runs what docker-compose.temporal.yml's
// containers run, as processes on this machine, with the environment the
// compose file gives each: PostgreSQL (checked with the postgresql
// service's pg_isready), deploy/temporal/setup-schema.sh with
// temporal-sql-tool, `temporal-server start` without flags (the server
// image's entrypoint: the embedded config template, fed by the temporal
// service's variables, with deploy/temporal/dynamicconfig.yaml), the
// server's wget health check, deploy/temporal/setup-riptide.sh with the
// temporal CLI (twice: every `up` runs it), the admin tools' health check,
// a workflow started with riptide's search attributes at once, and riptide's
// worker and API built from this tree with the compose settings and the
// image's ENV (S3 on versitygw) until their health checks pass. Only the
// addresses change: loopback and free ports instead of service names. Not
// exercised: the images themselves, container networking, compose's
// ordering and restarts.
func TestComposeStackCommandsOnHost(t *testing.T) {
	serverBin := integrationTool(t, "RIPTIDE_TEMPORAL_SERVER_BIN", "temporal-server")
	sqlTool := integrationTool(t, "RIPTIDE_TEMPORAL_SQL_TOOL_BIN", "temporal-sql-tool")
	cli := integrationTool(t, TemporalBinEnv, "temporal")
	pgBin := postgresBinDir(t)
	m := loadCompose(t, map[string]string{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// PostgreSQL, as the postgresql service (trust authentication here:
	// the password is not what this test checks).
	base, err := os.MkdirTemp("", "riptide-compose-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(base, "pg")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	cred := postgresCredential(t, data)
	pgUser := m.Services["postgresql"].Environment["POSTGRES_USER"]
	initdb := exec.CommandContext(ctx, filepath.Join(pgBin, "initdb"), "-D", data, "-U", pgUser, "--auth=trust")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	pgPort := lowPort(t)
	pg := exec.Command(filepath.Join(pgBin, "postgres"), "-D", data, "-p", strconv.Itoa(pgPort),
		"-c", "listen_addresses=127.0.0.1", "-k", data)
	pg.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var pgLog syncBuffer
	pg.Stdout, pg.Stderr = &pgLog, &pgLog
	pgDone := startProcess(t, pg, syscall.SIGINT)
	health := m.Services["postgresql"].Healthcheck.Test[1:]
	health = append(health, "-h", "127.0.0.1", "-p", strconv.Itoa(pgPort))
	eventuallyServing(t, ctx, "postgresql health check", &pgLog, pgDone, func() error { return run(ctx, nil, health...) })

	// The schema job, twice: it runs at every `docker compose up`.
	schemaEnv := serviceEnv(m.Services["temporal-schema"], map[string]string{
		"SQL_HOST": "127.0.0.1", "SQL_PORT": strconv.Itoa(pgPort), "PATH": filepath.Dir(sqlTool) + ":" + os.Getenv("PATH"),
	})
	for range 2 {
		if err := run(ctx, schemaEnv, "sh", "../../deploy/temporal/setup-schema.sh"); err != nil {
			t.Fatal("setup-schema.sh: ", err)
		}
	}

	// The server, as its image's entrypoint starts it.
	grpcPort, httpPort := lowPort(t), lowPort(t)
	overrides := map[string]string{
		"POSTGRES_SEEDS": "127.0.0.1", "DB_PORT": strconv.Itoa(pgPort), "BIND_ON_IP": "127.0.0.1",
		"FRONTEND_GRPC_PORT": strconv.Itoa(grpcPort), "FRONTEND_HTTP_PORT": strconv.Itoa(httpPort),
		"DYNAMIC_CONFIG_FILE_PATH": absPath(t, "../../deploy/temporal/dynamicconfig.yaml"),
	}
	for _, svc := range []string{"FRONTEND", "HISTORY", "MATCHING", "WORKER"} {
		overrides[svc+"_MEMBERSHIP_PORT"] = strconv.Itoa(lowPort(t))
		if svc != "FRONTEND" {
			overrides[svc+"_GRPC_PORT"] = strconv.Itoa(lowPort(t))
		}
	}
	server := exec.Command(serverBin, "start")
	server.Dir = base
	server.Env = serviceEnv(m.Services["temporal"], overrides)
	var serverLog syncBuffer
	server.Stdout, server.Stderr = &serverLog, &serverLog
	serverDone := startProcess(t, server, syscall.SIGTERM)
	probe := slices.Clone(m.Services["temporal"].Healthcheck.Test[1:])
	for i, a := range probe {
		probe[i] = strings.Replace(a, "127.0.0.1:7243", "127.0.0.1:"+strconv.Itoa(httpPort), 1)
	}
	eventuallyServing(t, ctx, "temporal health check "+strings.Join(probe, " "), &serverLog, serverDone, func() error {
		return run(ctx, nil, probe...)
	})

	// The namespace and search-attribute job, twice, then the admin
	// tools' health check.
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(grpcPort))
	cliPath := map[string]string{"TEMPORAL_ADDRESS": addr, "PATH": filepath.Dir(cli) + ":" + os.Getenv("PATH")}
	setupEnv := serviceEnv(m.Services["riptide-setup"], cliPath)
	for range 2 {
		if err := run(ctx, setupEnv, "sh", "../../deploy/temporal/setup-riptide.sh"); err != nil {
			t.Fatalf("setup-riptide.sh: %v\nserver log:\n%s", err, lastLines(serverLog.String(), 30))
		}
	}
	adminHealth := slices.Clone(m.Services["temporal-admin-tools"].Healthcheck.Test[1:])
	if adminHealth[0] == "temporal" {
		adminHealth[0] = cli // exec looks programs up in this process's PATH
	}
	if err := run(ctx, serviceEnv(m.Services["temporal-admin-tools"], cliPath), adminHealth...); err != nil {
		t.Fatal("admin tools health check: ", err)
	}

	// What the worker checks before it polls, in the namespace it is given.
	ns := m.Services["riptide-worker"].Environment["RIPTIDE_TEMPORAL_NAMESPACE"]
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: ns, Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := app.CheckSearchAttributes(ctx, c, ns); err != nil {
		t.Fatal("the worker would refuse to start: ", err)
	}
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	if missing := app.MissingSearchAttributes(resp.GetCustomAttributes()); len(missing) > 0 {
		t.Fatalf("missing search attributes %v", missing)
	}
	// Usable at once, without the tests' forceSearchAttributesCacheRefreshOnRead:
	// a job starts with them and is found by them.
	run1, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: "compose-search-attributes", TaskQueue: "compose-none",
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.StatusKey.ValueSet(workflows.StatusPending),
			workflows.FolderKey.ValueSet("f"), workflows.BatchIDKey.ValueSet("b")),
	}, "NoWorkerRunsThis")
	if err != nil {
		t.Fatal("starting a workflow with riptide's search attributes: ", err)
	}
	defer func() { _ = c.TerminateWorkflow(context.Background(), run1.GetID(), "", "test over") }()
	query := fmt.Sprintf("%s = %q AND %s = 'f' AND %s = 'b'", workflows.SearchAttrStatus, workflows.StatusPending,
		workflows.SearchAttrFolder, workflows.SearchAttrBatchID)
	eventuallyServing(t, ctx, "listing by "+query, &serverLog, serverDone, func() error {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: ns, Query: query})
		if err != nil {
			return err
		}
		if len(resp.GetExecutions()) != 1 || resp.GetExecutions()[0].GetExecution().GetWorkflowId() != run1.GetID() {
			return fmt.Errorf("listed %d executions", len(resp.GetExecutions()))
		}
		return nil
	})
	desc, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := time.ParseDuration(m.Services["riptide-setup"].Environment["NAMESPACE_RETENTION"])
	if got := desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(); got != want {
		t.Errorf("namespace retention %v, want %v", got, want)
	}
	info, err := c.WorkflowService().GetSystemInfo(ctx, &workflowservice.GetSystemInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if v := info.GetServerVersion(); v != TemporalServerVersion {
		t.Errorf("server reports version %s, want %s", v, TemporalServerVersion)
	}
	t.Logf("temporal-server %s on PostgreSQL: namespace %s has riptide's search attributes", info.GetServerVersion(), ns)

	// riptide's worker and API with the compose file's settings (and the
	// image's listeners, on free ports), on versitygw for S3, until their
	// compose health checks pass.
	s3Bin := integrationTool(t, VersitygwBinEnv, "versitygw")
	s3Dir := filepath.Join(base, "s3")
	bucket := m.Services["riptide-worker"].Environment["RIPTIDE_S3_BUCKET"]
	if err := os.MkdirAll(filepath.Join(s3Dir, bucket), 0o755); err != nil {
		t.Fatal(err)
	}
	s3Addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(lowPort(t)))
	var riptideLog syncBuffer
	s3, err := StartS3(ctx, S3Options{Bin: s3Bin, Dir: s3Dir, Addr: s3Addr, AccessKey: "compose", SecretKey: "compose-secret", Log: &riptideLog})
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Stop(10 * time.Second)
	image := dockerfileEnv(t)
	running := map[string]<-chan struct{}{}
	for _, c := range []struct{ svc, pkg, port, addrSetting string }{
		{"riptide-worker", "./worker/cmd", "9464", "RIPTIDE_WORKER_METRICS_ADDR"},
		{"riptide-api", "./api/cmd", "8080", "RIPTIDE_API_ADDR"},
	} {
		bin := filepath.Join(base, c.svc)
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, c.pkg)
		build.Dir = "../.."
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", c.pkg, err, out)
		}
		port := strconv.Itoa(lowPort(t))
		overrides := map[string]string{}
		for k, v := range image { // the image's ENV, listeners on loopback ports
			overrides[k] = strings.Replace(v, "0.0.0.0:", "127.0.0.1:", 1)
			if strings.HasSuffix(k, "_ADDR") && k != c.addrSetting {
				overrides[k] = "127.0.0.1:0"
			}
		}
		for k, v := range map[string]string{
			c.addrSetting: "127.0.0.1:" + port, "RIPTIDE_DATA_DIR": filepath.Join(base, c.svc+"-data"),
			"RIPTIDE_TEMPORAL_ADDRESS": addr, "RIPTIDE_S3_ENDPOINT": "http://" + s3Addr, "RIPTIDE_S3_PATH_STYLE": "true",
			"RIPTIDE_S3_ACCESS_KEY_ID": "compose", "RIPTIDE_S3_SECRET_ACCESS_KEY": "compose-secret",
			"RIPTIDE_API_KEYS": "sk_compose", "RIPTIDE_METRICS_TOKEN": "compose-token",
		} {
			overrides[k] = v
		}
		proc := exec.Command(bin)
		proc.Env = serviceEnv(m.Services[c.svc], overrides)
		proc.Stdout, proc.Stderr = &riptideLog, &riptideLog
		done := startProcess(t, proc, syscall.SIGTERM)
		script := strings.ReplaceAll(m.Services[c.svc].Healthcheck.Test[3], "/dev/tcp/127.0.0.1/"+c.port, "/dev/tcp/127.0.0.1/"+port)
		eventuallyServing(t, ctx, c.svc+" health check", &riptideLog, done, func() error {
			return run(ctx, proc.Env, "bash", "-c", script)
		})
		running[c.svc] = done
	}
	// The worker's metrics listen before it checks the search attributes:
	// it must still be running once the API is up too.
	for svc, done := range running {
		select {
		case <-done:
			t.Fatalf("%s exited after passing its health check:\n%s", svc, lastLines(riptideLog.String(), 30))
		default:
		}
	}
	if !strings.Contains(riptideLog.String(), "Worker starting") {
		t.Errorf("the worker never logged that it started:\n%s", lastLines(riptideLog.String(), 30))
	}
}

// serviceEnv is a minimal process environment holding a service's
// variables with the given overrides, as a container would see them.
func serviceEnv(s composeService, overrides map[string]string) []string {
	env := map[string]string{"PATH": os.Getenv("PATH"), "HOME": os.Getenv("HOME")}
	for k, v := range s.Environment {
		env[k] = v
	}
	for k, v := range overrides {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// run runs a command (with env, or this process's environment when nil),
// returning its output in the error.
func run(ctx context.Context, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	if env != nil {
		cmd.Env = env
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, lastLines(string(out), 30))
	}
	return nil
}

// startProcess starts cmd and stops it with sig when the test ends; the
// channel closes when it exits.
func startProcess(t *testing.T, cmd *exec.Cmd, sig os.Signal) <-chan struct{} {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(sig)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return done
}

// eventually runs check every second until it passes; it fails the test
// when the process whose log is given exits or ctx ends first.
func eventuallyServing(t *testing.T, ctx context.Context, what string, log *syncBuffer, exited <-chan struct{}, check func() error) {
	t.Helper()
	var err error
	for ctx.Err() == nil {
		if err = check(); err == nil {
			return
		}
		select {
		case <-exited:
			t.Fatalf("%s: the process exited\nlog:\n%s", what, lastLines(log.String(), 40))
		case <-time.After(time.Second):
		}
	}
	t.Fatalf("%s never passed: %v\nlog:\n%s", what, err, lastLines(log.String(), 40))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// integrationTool finds a binary from its variable or PATH; it skips the
// test without one unless RIPTIDE_REQUIRE_INTEGRATION=1.
func integrationTool(t *testing.T, env, name string) string {
	t.Helper()
	p, err := Tool(env, name)
	if err != nil {
		if os.Getenv("RIPTIDE_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return p
}

// postgresBinDir is Debian's newest /usr/lib/postgresql/<major>/bin.
func postgresBinDir(t *testing.T) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(dirs) == 0 {
		if os.Getenv("RIPTIDE_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("PostgreSQL not installed (/usr/lib/postgresql/<major>/bin)")
		}
		t.Skip("PostgreSQL not installed")
	}
	slices.Sort(dirs)
	return filepath.Dir(dirs[len(dirs)-1])
}

// postgresCredential is the postgres user's when running as root (initdb
// refuses root), owning dir; nil otherwise.
func postgresCredential(t *testing.T, dir string) *syscall.Credential {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatal("running as root needs the postgres user: ", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// lowPort is a free loopback port at most 32767: Temporal stores
// membership ports in a SMALLINT column.
func lowPort(t *testing.T) int {
	t.Helper()
	for range 200 {
		port := 20000 + rand.IntN(32767-20000+1)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port at most 32767")
	return 0
}

func absPath(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
