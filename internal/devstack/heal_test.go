//go:build integration

package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/riptide-dev/riptide/internal/config"
	"github.com/riptide-dev/riptide/workflows"
)

// The children riptide-dev up runs, by the program each one is.
var devChildren = map[string]string{"temporal": "temporal", "s3": "versitygw", "worker": "riptide-worker", "api": "riptide-api"}

// TestDevStackHeals runs `riptide-dev up` as `make dev` does (real
// binaries, real Temporal dev server and S3 server, on free loopback
// ports), then:
//   - kills -9 the worker, the Temporal server and the API in turn: each
//     comes back as a new process that is healthy (the worker polls the
//     queue again, Temporal answers health checks, the API /healthz),
//     while the other children keep their PIDs;
//   - checks the dev env file (mode 0600, the stack's settings), and that
//     a worker started by hand with nothing but RIPTIDE_DATA_DIR refuses
//     the stack's work directory, naming it and the dev worker's PID;
//     joins the stack (the Temporal address and S3 endpoint it uses come
//     from the file) given a work directory of its own; refuses to start
//     with a bucket other than the stack's; jobs submitted through the API
//     complete, some of them on the hand-started worker;
//   - SIGTERM stops riptide-dev and every child.
func TestDevStackHeals(t *testing.T) {
	temporalBin, err1 := Tool(TemporalBinEnv, "temporal")
	s3Bin, err2 := Tool(VersitygwBinEnv, "versitygw")
	_, err3 := exec.LookPath("ffmpeg")
	_, err4 := exec.LookPath("yt-dlp")
	for _, err := range []error{err1, err2, err3, err4} {
		if err != nil {
			if os.Getenv("RIPTIDE_REQUIRE_INTEGRATION") == "1" {
				t.Fatal(err)
			}
			t.Skip(err)
		}
	}
	bin := t.TempDir()
	for name, pkg := range map[string]string{"riptide-dev": "../cmd/riptide-dev", "riptide-worker": "../../worker/cmd", "riptide-api": "../../api/cmd"} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, name), pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	port := func() string {
		p, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		return "127.0.0.1:" + strconv.Itoa(p)
	}
	data := filepath.Join(t.TempDir(), "data")
	temporalAddr, s3Addr, apiAddr, samplesAddr := port(), port(), port(), port()
	const queue = "riptide-heal"
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "RIPTIDE_DATA_DIR=" + data}
	devEnv := append(append([]string{}, base...),
		TemporalBinEnv+"="+temporalBin, VersitygwBinEnv+"="+s3Bin,
		"RIPTIDE_TEMPORAL_ADDRESS="+temporalAddr, "RIPTIDE_TEMPORAL_TASK_QUEUE="+queue,
		"RIPTIDE_TEMPORAL_UI_URL=", // headless
		"RIPTIDE_S3_ENDPOINT=http://"+s3Addr, "RIPTIDE_API_ADDR="+apiAddr,
		"RIPTIDE_API_METRICS_ADDR="+port(), "RIPTIDE_WORKER_METRICS_ADDR="+port(),
		"RIPTIDE_DEV_SAMPLES_ADDR="+samplesAddr)
	var out syncBuffer
	dev := exec.Command(filepath.Join(bin, "riptide-dev"), "up")
	dev.Env, dev.Stdout, dev.Stderr = devEnv, &out, &out
	dev.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := dev.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- dev.Wait() }()
	t.Cleanup(func() {
		_ = dev.Process.Kill()
		if t.Failed() {
			t.Logf("riptide-dev output:\n%s", out.String())
		}
	})
	eventually(t, 3*time.Minute, "riptide-dev up ready", func() error {
		select {
		case err := <-exited:
			t.Fatalf("riptide-dev exited: %v", err)
		default:
		}
		if !strings.Contains(out.String(), "riptide is running.") {
			return errors.New("no banner yet")
		}
		return nil
	})
	pids := childPids(t, dev.Process.Pid)
	for name := range devChildren {
		if pids[name] == 0 {
			t.Fatalf("no %s child of riptide-dev: %v", name, pids)
		}
	}
	c, err := client.Dial(client.Options{HostPort: temporalAddr, Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	healthy := map[string]func(pid int) error{
		"temporal": func(int) error {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		},
		"worker": func(pid int) error { return polling(c, queue, pid) },
		"api": func(int) error {
			resp, err := http.Get("http://" + apiAddr + "/healthz")
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("/healthz: %s", resp.Status)
			}
			return nil
		},
	}
	for _, name := range []string{"temporal", "worker", "api"} {
		eventually(t, time.Minute, name+" healthy", func() error { return healthy[name](pids[name]) })
	}

	for _, victim := range []string{"worker", "temporal", "api"} {
		old := pids[victim]
		killedAt := time.Now()
		if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		var now map[string]int
		eventually(t, time.Minute, victim+" restarted and healthy", func() error {
			now = childPids(t, dev.Process.Pid)
			if now[victim] == 0 || now[victim] == old {
				return fmt.Errorf("no new %s process yet", victim)
			}
			return healthy[victim](now[victim])
		})
		t.Logf("kill -9 %s (pid %d): healed in %s (new pid %d)", victim, old, time.Since(killedAt).Round(10*time.Millisecond), now[victim])
		for name, pid := range pids {
			if name != victim && now[name] != pid {
				t.Errorf("%s changed pid %d -> %d when only %s was killed", name, pid, now[name], victim)
			}
		}
		pids = now
	}
	if !strings.Contains(out.String(), "exited after") || !strings.Contains(out.String(), "signal: killed") {
		t.Errorf("riptide-dev did not log why a child exited")
	}
	// After Temporal's restart the worker polls again (matching forgets
	// its pollers on restart, so this is a new poll).
	eventually(t, time.Minute, "worker polls the restarted Temporal", func() error { return polling(c, queue, pids["worker"]) })

	// The dev env file: private, with the settings the children got.
	envFile := filepath.Join(data, config.DevEnvFile)
	info, err := os.Stat(envFile)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", envFile, info.Mode().Perm())
	}
	vars, err := config.ReadEnvFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range vars {
		got[kv[0]] = kv[1]
	}
	for k, want := range map[string]string{"RIPTIDE_S3_ENDPOINT": "http://" + s3Addr, "RIPTIDE_TEMPORAL_ADDRESS": temporalAddr,
		"RIPTIDE_TEMPORAL_TASK_QUEUE": queue, "RIPTIDE_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8,::1", "RIPTIDE_DATA_DIR": data} {
		if got[k] != want {
			t.Errorf("dev env file: %s=%q, want %q", k, got[k], want)
		}
	}
	if got["RIPTIDE_S3_SECRET_ACCESS_KEY"] == "" || got["RIPTIDE_API_KEYS"] == "" || got["RIPTIDE_ENCRYPTION_KEYS"] == "" {
		t.Errorf("dev env file lacks the S3 secret, the API key or the encryption key: %v", got)
	}
	// The UI's codec endpoint: the samples server passes it to the API
	// with the dev key (a browser cannot send one).
	codecRes, err := http.Post("http://"+samplesAddr+"/codec/decode", "application/json", strings.NewReader(`{"payloads":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	codecBody, _ := io.ReadAll(codecRes.Body)
	codecRes.Body.Close()
	if codecRes.StatusCode != http.StatusOK || !strings.Contains(string(codecBody), "payloads") && string(codecBody) != "{}" {
		t.Errorf("dev codec endpoint: %d %s", codecRes.StatusCode, codecBody)
	}

	// A worker started by hand with nothing but the data directory (and
	// no metrics listener, which would clash with the dev worker's).
	handWorker := func(extra ...string) *exec.Cmd {
		cmd := exec.Command(filepath.Join(bin, "riptide-worker"))
		cmd.Env = append(append(append([]string{}, base...), "RIPTIDE_WORKER_METRICS_ADDR="), extra...)
		return cmd
	}
	refused := func(cmd *exec.Cmd, want ...string) {
		t.Helper()
		done := make(chan struct{})
		var b []byte
		var err error
		go func() { b, err = cmd.CombinedOutput(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("worker did not refuse to start:\n%s", b)
		}
		if err == nil {
			t.Errorf("worker exited 0, want a refusal:\n%s", b)
		}
		for _, w := range want {
			if !bytes.Contains(b, []byte(w)) {
				t.Errorf("refusal does not say %q:\n%s", w, b)
			}
		}
	}
	workDir := filepath.Join(data, "work")
	refused(handWorker(), "work directory in use", workDir, "process "+strconv.Itoa(pids["worker"]))
	refused(handWorker("RIPTIDE_WORKER_WORK_DIR="+filepath.Join(data, "work-3"), "RIPTIDE_S3_BUCKET=elsewhere"),
		"RIPTIDE_S3_BUCKET", "elsewhere", envFile)

	var joinOut syncBuffer
	joined := handWorker("RIPTIDE_WORKER_WORK_DIR=" + filepath.Join(data, "work-2"))
	joined.Stdout, joined.Stderr = &joinOut, &joinOut
	if err := joined.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = joined.Process.Kill(); _ = joined.Wait() }()
	eventually(t, time.Minute, "hand-started worker polls the dev stack's queue", func() error {
		return polling(c, queue, joined.Process.Pid)
	})
	for _, want := range []string{"s3_endpoint=http://" + s3Addr, "temporal=" + temporalAddr} {
		if !strings.Contains(joinOut.String(), want) {
			t.Errorf("hand-started worker does not use the dev stack's %s:\n%s", want, joinOut.String())
		}
	}
	// Jobs submitted through the API complete, those the hand-started
	// worker takes included (it has the stack's loopback allowance for
	// the sample media and its S3 credentials): rounds of jobs until one
	// ran there (each lands on either worker).
	onHand := 0
	for round := 0; round < 10 && onHand == 0; round++ {
		var ids []string
		for range 4 {
			ids = append(ids, submitJob(t, apiAddr, got["RIPTIDE_API_KEYS"], "http://"+samplesAddr+"/"+SampleMP4))
		}
		for _, id := range ids {
			eventually(t, 2*time.Minute, "job "+id+" completed", func() error { return jobCompleted(t, apiAddr, got["RIPTIDE_API_KEYS"], id) })
			if ranOn(t, c, id, joined.Process.Pid) {
				onHand++
			}
		}
	}
	if onHand == 0 {
		t.Fatal("no job ran on the hand-started worker in 40")
	}
	t.Logf("jobs completed, %d of them on the hand-started worker", onHand)

	// The case: a batch running on both workers while the dev
	// stack's worker is killed; every episode completes (before the lock
	// and the settings check, a second worker failed most of them).
	key := got["RIPTIDE_API_KEYS"]
	batchID := submitBatch(t, apiAddr, key, "http://"+samplesAddr+"/"+SampleFeed)
	eventually(t, 2*time.Minute, "a first episode of the batch completed", func() error {
		b := batchView(t, apiAddr, key, batchID)
		if b.CompletedEpisodes == 0 {
			return fmt.Errorf("batch: %+v", b)
		}
		return nil
	})
	if err := syscall.Kill(pids["worker"], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Minute, "the batch completed with every episode", func() error {
		b := batchView(t, apiAddr, key, batchID)
		if b.FailedEpisodes > 0 {
			t.Fatalf("batch episodes failed: %+v", b)
		}
		if b.RiptideStatus != "completed" || b.CompletedEpisodes != SampleFeedEpisodes {
			return fmt.Errorf("batch: %+v", b)
		}
		return nil
	})
	onHand = 0
	for i := range SampleFeedEpisodes {
		if ranOn(t, c, workflows.EpisodeJobID(batchID, i), joined.Process.Pid) {
			onHand++
		}
	}
	t.Logf("batch of %d completed across a killed worker, %d episodes on the hand-started worker", SampleFeedEpisodes, onHand)
	_ = joined.Process.Signal(syscall.SIGTERM)
	_ = joined.Wait()

	// SIGTERM stops riptide-dev and every child.
	if err := dev.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("riptide-dev after SIGTERM: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("riptide-dev did not stop on SIGTERM")
	}
	for name, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d) still runs after riptide-dev stopped", name, pid)
		}
	}
}

func submitJob(t *testing.T, apiAddr, key, url string) string {
	t.Helper()
	var out struct {
		JobID string `json:"job_id"`
	}
	post(t, apiAddr, key, "/jobs", map[string]string{"url": url, "folder": "heal"}, &out)
	if out.JobID == "" {
		t.Fatal("POST /jobs answered no job_id")
	}
	return out.JobID
}

// submitBatch starts a batch of the feed at url and returns its ID.
func submitBatch(t *testing.T, apiAddr, key, url string) string {
	t.Helper()
	var out struct {
		BatchID string `json:"batch_id"`
	}
	post(t, apiAddr, key, "/batches", map[string]string{"show_url": url, "folder": "heal-batch"}, &out)
	if out.BatchID == "" {
		t.Fatal("POST /batches answered no batch_id")
	}
	return out.BatchID
}

// post sends body to the API's path and decodes its 2xx answer into out;
// anything else fails the test.
func post(t *testing.T, apiAddr, key, path string, body, out any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, "http://"+apiAddr+path, bytes.NewReader(raw))
	req.Header.Set("x-api-key", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 || json.Unmarshal(b, out) != nil {
		t.Fatalf("POST %s: %s %s", path, resp.Status, b)
	}
}

type batchCounts struct {
	RiptideStatus     string `json:"riptide_status"`
	CompletedEpisodes int    `json:"completed_episodes"`
	FailedEpisodes    int    `json:"failed_episodes"`
}

// batchView reads GET /batch/{id}'s counts (zero when it cannot be read).
func batchView(t *testing.T, apiAddr, key, id string) batchCounts {
	var v batchCounts
	req, _ := http.NewRequest(http.MethodGet, "http://"+apiAddr+"/batch/"+id, nil)
	req.Header.Set("x-api-key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return v
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(&v)
	return v
}

// jobCompleted is nil once the job is Completed; a failed job fails the
// test.
func jobCompleted(t *testing.T, apiAddr, key, id string) error {
	req, _ := http.NewRequest(http.MethodGet, "http://"+apiAddr+"/jobs/"+id, nil)
	req.Header.Set("x-api-key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("GET /jobs/%s: %s %s", id, resp.Status, b)
	}
	switch v.Status {
	case workflows.StatusCompleted:
		return nil
	case workflows.StatusFailed:
		t.Fatalf("job %s failed: %s", id, b)
	}
	return fmt.Errorf("job %s is %s", id, v.Status)
}

// ranOn reports whether a process pid ran one of the job's activities.
func ranOn(t *testing.T, c client.Client, id string, pid int) bool {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), workflows.JobWorkflowID(id), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := e.GetActivityTaskStartedEventAttributes(); a != nil && strings.HasPrefix(a.GetIdentity(), strconv.Itoa(pid)+"@") {
			return true
		}
	}
	return false
}

// childPids maps each dev child to the PID of the child of parent running
// its program.
func childPids(t *testing.T, parent int) map[string]int {
	t.Helper()
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", parent))
	out := map[string]int{}
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, field := range strings.Fields(string(b)) {
			pid, _ := strconv.Atoi(field)
			cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if err != nil || len(cmdline) == 0 {
				continue
			}
			prog := filepath.Base(string(bytes.SplitN(cmdline, []byte{0}, 2)[0]))
			for name, p := range devChildren {
				if p == prog {
					out[name] = pid
				}
			}
		}
	}
	return out
}

// polling reports whether the process pid polls the queue's workflow
// tasks (the SDK's identity starts with the PID).
func polling(c client.Client, queue string, pid int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := c.DescribeTaskQueue(ctx, queue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		return err
	}
	for _, p := range resp.GetPollers() {
		if strings.HasPrefix(p.GetIdentity(), strconv.Itoa(pid)+"@") {
			return nil
		}
	}
	return fmt.Errorf("pid %d does not poll %s", pid, queue)
}

func eventually(t *testing.T, limit time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s: %v", what, limit, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for a process's output and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
