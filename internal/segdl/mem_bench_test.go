package segdl

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"testing"
	"time"
)

// BenchmarkSixteenStreamsMemory (RIPTIDE_SEGDL_BENCH=1): 16 streams of 120
// fragments at 20 ms per request at once; logs the runtime's memory.
func BenchmarkSixteenStreamsMemory(b *testing.B) {
	if os.Getenv("RIPTIDE_SEGDL_BENCH") == "" {
		b.Skip("set RIPTIDE_SEGDL_BENCH=1")
	}
	frag := make([]byte, 140<<10)
	_, _ = rand.Read(frag)
	srv := loopback(&testing.T{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		_, _ = w.Write(frag)
	}))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
	dir := b.TempDir()
	var peak runtime.MemStats
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.HeapInuse {
				peak = m
			}
		}
	}()
	var wg sync.WaitGroup
	for j := range 16 {
		wg.Go(func() {
			s := Stream{Path: filepath.Join(dir, fmt.Sprint(j))}
			for i := range 120 {
				s.Parts = append(s.Parts, Part{URL: mustURL(&testing.T{}, fmt.Sprintf("%s/%d/%d", srv.URL, j, i))})
			}
			if _, err := New(Config{Client: client}, []Stream{s}, nil).Run(context.Background()); err != nil {
				b.Error(err)
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	if f, err := os.Create("/tmp/segbench/heap.out"); err == nil {
		_ = pprof.WriteHeapProfile(f)
		f.Close()
	}
	wg.Wait()
	close(stop)
	b.Logf("peak HeapInuse %d MiB, HeapSys %d MiB, Sys %d MiB, StackInuse %d MiB, goroutines now %d",
		peak.HeapInuse>>20, peak.HeapSys>>20, peak.Sys>>20, peak.StackInuse>>20, runtime.NumGoroutine())
}
