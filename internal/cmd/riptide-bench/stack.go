package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/riptide-dev/riptide/api"
	"github.com/riptide-dev/riptide/internal/app"
	"github.com/riptide-dev/riptide/internal/config"
	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/internal/storage"
)

const benchAPIKey = "sk_bench"

// benchAllowedNetworks lets the worker and the API reach the loopback media
// server and S3 despite the SSRF guard.
const benchAllowedNetworks = "127.0.0.0/8"

// stack is the same system the e2e tests run: the Temporal dev server,
// versitygw, the API in-process, media served by http.FileServer, and
// worker processes started from the real worker binary.
type stack struct {
	dir       string
	cfg       *config.Config
	temporal  client.Client
	store     *storage.Store
	apiURL    string
	mediaURL  string
	mediaDir  string
	workerBin string
	logs      *os.File
	closers   []func()
	// The servers, for their CPU use.
	temporalProc, s3Proc *devstack.Proc
}

func startStack(ctx context.Context, dir string, s3cfg config.S3) (*stack, error) {
	st := &stack{dir: dir, mediaDir: filepath.Join(dir, "media")}
	var err error
	if st.logs, err = os.Create(filepath.Join(dir, "services.log")); err != nil {
		return nil, err
	}
	temporalBin, err := devstack.Tool(devstack.TemporalBinEnv, "temporal")
	if err != nil {
		return nil, err
	}
	s3Bin, err := devstack.Tool(devstack.VersitygwBinEnv, "versitygw")
	if err != nil {
		return nil, err
	}
	tPort, err := devstack.FreePort()
	if err != nil {
		return nil, err
	}
	tp, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{
		Bin: temporalBin, DBFile: filepath.Join(dir, "temporal.db"), Port: tPort, Namespace: "default", Log: st.logs,
	})
	if err != nil {
		return nil, err
	}
	st.temporalProc = tp
	st.closers = append(st.closers, func() { tp.Stop(10 * time.Second) })
	s3Port, err := devstack.FreePort()
	if err != nil {
		return st, err
	}
	s3Addr := fmt.Sprintf("127.0.0.1:%d", s3Port)
	sp, err := devstack.StartS3(ctx, devstack.S3Options{
		Bin: s3Bin, Dir: filepath.Join(dir, "s3"), Addr: s3Addr, AccessKey: "bench", SecretKey: "bench-secret", Log: st.logs,
	})
	if err != nil {
		return st, err
	}
	st.s3Proc = sp
	st.closers = append(st.closers, func() { sp.Stop(10 * time.Second) })

	s3cfg.Endpoint, s3cfg.Region, s3cfg.Bucket = "http://"+s3Addr, "us-east-1", "bench"
	s3cfg.AccessKeyID, s3cfg.SecretAccessKey, s3cfg.PathStyle, s3cfg.PresignTTL = "bench", "bench-secret", true, time.Hour
	st.cfg = &config.Config{
		Temporal:             config.Temporal{Address: fmt.Sprintf("127.0.0.1:%d", tPort), Namespace: "default", TaskQueue: "riptide-bench"},
		S3:                   s3cfg,
		API:                  config.API{Keys: []string{benchAPIKey}, MaxBodyBytes: 64 << 10},
		AllowPrivateNetworks: []string{benchAllowedNetworks},
		Log:                  config.Log{Level: "warn"},
	}
	// The API runs in this process on the production wiring; its logs
	// go with the services'.
	a, err := app.New(ctx, st.cfg, st.logs)
	if err != nil {
		return st, err
	}
	st.closers = append(st.closers, a.Close)
	st.temporal, st.store = a.Temporal, a.Store
	if err := st.store.EnsureBucket(ctx); err != nil {
		return st, err
	}

	st.workerBin = filepath.Join(dir, "riptide-worker")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", st.workerBin, "github.com/riptide-dev/riptide/worker/cmd").CombinedOutput(); err != nil {
		return st, fmt.Errorf("building the worker: %v: %s", err, out)
	}

	if err := os.MkdirAll(st.mediaDir, 0o755); err != nil {
		return st, err
	}
	mediaURL, stop, err := serve(http.FileServer(http.Dir(st.mediaDir)))
	if err != nil {
		return st, err
	}
	st.mediaURL = mediaURL
	st.closers = append(st.closers, stop)

	h, err := api.New(a)
	if err != nil {
		return st, err
	}
	apiURL, stop, err := serve(h)
	if err != nil {
		return st, err
	}
	st.apiURL = apiURL
	st.closers = append(st.closers, stop)
	return st, nil
}

func (st *stack) Close() {
	for i := len(st.closers) - 1; i >= 0; i-- {
		st.closers[i]()
	}
	if st.logs != nil {
		st.logs.Close()
	}
}

// serve runs h on a free loopback port.
func serve(h http.Handler) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	// Media at the reader's pace: idle connections closed, no write limit.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 30 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String(), func() { _ = srv.Close() }, nil
}

// workerProc is a riptide worker running as its own process, so its memory
// can be read from /proc.
type workerProc struct {
	*devstack.Proc
}

func (st *stack) startWorker(ctx context.Context, name string, concurrency int, extraEnv ...string) (*workerProc, error) {
	c := st.cfg
	env := []string{
		"RIPTIDE_TEMPORAL_ADDRESS=" + c.Temporal.Address,
		"RIPTIDE_TEMPORAL_TASK_QUEUE=" + c.Temporal.TaskQueue,
		"RIPTIDE_S3_ENDPOINT=" + c.S3.Endpoint,
		"RIPTIDE_S3_BUCKET=" + c.S3.Bucket,
		"RIPTIDE_S3_ACCESS_KEY_ID=" + c.S3.AccessKeyID,
		"RIPTIDE_S3_SECRET_ACCESS_KEY=" + c.S3.SecretAccessKey,
		"RIPTIDE_S3_PATH_STYLE=true",
		"RIPTIDE_S3_PART_SIZE=" + strconv.FormatInt(c.S3.PartSize, 10),
		"RIPTIDE_S3_CONCURRENCY=" + strconv.Itoa(c.S3.Concurrency),
		"RIPTIDE_WORKER_CONCURRENCY=" + strconv.Itoa(concurrency),
		"RIPTIDE_WORKER_WORK_DIR=" + filepath.Join(st.dir, "work-"+name),
		// Its own data directory: not make dev's, whose dev.env it would load.
		"RIPTIDE_DATA_DIR=" + filepath.Join(st.dir, "data-"+name),
		"RIPTIDE_LOG_LEVEL=warn",
		"RIPTIDE_WORKER_METRICS_ADDR=", // several workers, and maybe make dev, share the host
		// The media server and S3 are on loopback, which the SSRF guard
		// refuses by default.
		"RIPTIDE_ALLOW_PRIVATE_NETWORKS=" + benchAllowedNetworks,
	}
	env = append(env, extraEnv...)
	p, err := devstack.StartProcess(name, st.workerBin, env, st.logs)
	if err != nil {
		return nil, err
	}
	// Wait until the worker polls the task queue, so the first job's
	// timings do not include the worker's start-up.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if st.hasPoller(ctx, p.Pid()) {
			return &workerProc{p}, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.Stop(5 * time.Second)
	return nil, fmt.Errorf("worker %s never polled the task queue", name)
}

// peakRSS is the process's high-water resident set (VmHWM), in bytes.
func peakRSS(pid int) (int64, error) {
	return procStatusKB(pid, "VmHWM:")
}

func procStatusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("%s not in /proc/%d/status", field, pid)
}

// hasPoller tells whether the worker process pid polls the activity task
// queue yet (the SDK's default identity starts with "pid@").
func (st *stack) hasPoller(ctx context.Context, pid int) bool {
	resp, err := st.temporal.DescribeTaskQueue(ctx, st.cfg.Temporal.TaskQueue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
	if err != nil {
		return false
	}
	for _, p := range resp.GetPollers() {
		if strings.HasPrefix(p.GetIdentity(), strconv.Itoa(pid)+"@") {
			return true
		}
	}
	return false
}
