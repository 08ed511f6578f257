package activities

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riptide-dev/riptide/internal/ffmpeg"
	"github.com/riptide-dev/riptide/internal/httpget"
	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/workflows"
	"go.temporal.io/sdk/testsuite"
)

// BenchmarkDirectDownload profiles the direct-download path against a plain
// GET to disk of the same file from the same loopback http.FileServer, in
// alternating order (whichever runs second inherits the first's dirty
// pages). It is a measuring tool, run by hand:
//
//	RIPTIDE_DIRECT_BENCH_FILE=/path/to/big.mp4 go test -run '^$' \
//	  -bench DirectDownload -benchtime 1x -v ./activities
//
// with RIPTIDE_DIRECT_BENCH_ROUNDS (default 4), RIPTIDE_DIRECT_BENCH_DIR (where
// the downloads land; default a temporary directory; /dev/shm takes the disk
// out) and RIPTIDE_DIRECT_BENCH_PROFILES (a directory for CPU profiles of
// each step). It logs (-v: all of it) wall time, CPU time and read/write syscalls per step
// and reports the median ratios plain GET / riptide.
func BenchmarkDirectDownload(b *testing.B) {
	src := os.Getenv("RIPTIDE_DIRECT_BENCH_FILE")
	if src == "" {
		b.Skip("RIPTIDE_DIRECT_BENCH_FILE not set")
	}
	rounds, _ := strconv.Atoi(os.Getenv("RIPTIDE_DIRECT_BENCH_ROUNDS"))
	if rounds <= 0 {
		rounds = 4
	}
	profDir := os.Getenv("RIPTIDE_DIRECT_BENCH_PROFILES")
	work := os.Getenv("RIPTIDE_DIRECT_BENCH_DIR")
	if work == "" {
		work = b.TempDir()
	} else {
		var err error
		if work, err = os.MkdirTemp(work, "directbench-"); err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(work)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Dir(src))))
	defer srv.Close()
	u := srv.URL + "/" + filepath.Base(src)
	pu, _ := url.Parse(u)
	guard := netguard.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	client := &http.Client{Transport: guard.Transport()}

	step := func(name string, fn func() error) time.Duration {
		syscall.Sync()
		if profDir != "" {
			f, err := os.Create(filepath.Join(profDir, name+".pprof"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
		var ru0, ru1 syscall.Rusage
		io0 := procIO()
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
		start := time.Now()
		if err := fn(); err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		d := time.Since(start)
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
		io1 := procIO()
		user := time.Duration(ru1.Utime.Nano() - ru0.Utime.Nano())
		sys := time.Duration(ru1.Stime.Nano() - ru0.Stime.Nano())
		b.Logf("%-9s wall %6v  cpu user %5v sys %5v  syscalls read %5d write %5d", name, d.Round(time.Millisecond),
			user.Round(time.Millisecond), sys.Round(time.Millisecond), io1["syscr"]-io0["syscr"], io1["syscw"]-io0["syscw"])
		return d
	}
	plain := func() error {
		res, err := http.Get(u)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		f, err := os.Create(filepath.Join(work, "raw.mp4"))
		if err != nil {
			return err
		}
		_, err = io.Copy(f, res.Body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	a := &Activities{HTTP: client, WorkDir: filepath.Join(work, "w"), Ffprobe: "ffprobe", MinFreeBytes: 1 << 30}
	activityRun := func() error {
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestActivityEnvironment()
		env.RegisterActivity(a)
		_, err := env.ExecuteActivity(a.Download, workflows.DownloadInput{JobID: testJob, URL: u})
		return err
	}
	dir := filepath.Join(work, "f")
	var dst string
	fetch := func() error {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		var err error
		dst, _, err = httpget.Fetch(context.Background(), client, dir, pu, httpget.Limits{
			MaxBytes:    a.jobByteCap(context.Background()),
			EnsureSpace: func(need int64) error { return a.ensureDiskSpace(dir, need) },
		})
		return err
	}
	var actRatio, fetchRatio []float64
	for i := range rounds {
		var raw, act, fet time.Duration
		run := []func(){
			func() { raw = step("plainget", plain); _ = os.Remove(filepath.Join(work, "raw.mp4")) },
			func() { act = step("activity", activityRun); _ = os.RemoveAll(a.WorkDir) },
			func() {
				fet = step("fetch", fetch)
				step("inspect", func() error { _, err := ffmpeg.Inspect(context.Background(), "ffprobe", dst); return err })
				_ = os.RemoveAll(dir)
			},
		}
		if i%2 == 1 {
			slices.Reverse(run)
		}
		for _, r := range run {
			r()
		}
		actRatio = append(actRatio, raw.Seconds()/act.Seconds())
		fetchRatio = append(fetchRatio, raw.Seconds()/fet.Seconds())
	}
	b.Logf("plain GET / Download activity per round %.2f; plain GET / Fetch %.2f", actRatio, fetchRatio)
	b.ReportMetric(median(actRatio), "plain/activity")
	b.ReportMetric(median(fetchRatio), "plain/fetch")
}

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// procIO reads this process's /proc/self/io counters.
func procIO() map[string]int64 {
	b, _ := os.ReadFile("/proc/self/io")
	m := map[string]int64{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ": "); ok {
			m[k], _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return m
}
