package segdl

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkStreamsVsSequentialGET (RIPTIDE_SEGDL_BENCH=1): two streams of
// 2 MiB fragments from a loopback file server, segdl against GETs of
// every fragment in order to two files, in the same run.
func BenchmarkStreamsVsSequentialGET(b *testing.B) {
	if os.Getenv("RIPTIDE_SEGDL_BENCH") == "" {
		b.Skip("set RIPTIDE_SEGDL_BENCH=1")
	}
	src := b.TempDir()
	const n, size = 130, 2 << 20
	buf := make([]byte, size)
	for i := range 2 * n {
		_, _ = rand.Read(buf[:4096])
		if err := os.WriteFile(filepath.Join(src, fmt.Sprintf("f%d", i)), buf, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	srv := loopback(&testing.T{}, http.FileServer(http.Dir(src)))
	defer srv.Close()
	dst := os.Getenv("RIPTIDE_SEGDL_BENCH_DIR")
	if dst == "" {
		dst = b.TempDir()
	}
	for round := range 3 {
		start := time.Now()
		for s := range 2 {
			f, _ := os.Create(filepath.Join(dst, fmt.Sprintf("seq%d", s)))
			for i := range n {
				resp, err := srv.Client().Get(fmt.Sprintf("%s/f%d", srv.URL, s*n+i))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(f, resp.Body)
				resp.Body.Close()
			}
			f.Close()
		}
		seq := time.Since(start)
		for _, conc := range []int{0, 2, 8} {
			var streams []Stream
			for s := range 2 {
				st := Stream{Path: filepath.Join(dst, fmt.Sprintf("seg%d", s))}
				for i := range n {
					st.Parts = append(st.Parts, Part{URL: mustURL(&testing.T{}, fmt.Sprintf("%s/f%d", srv.URL, s*n+i))})
				}
				streams = append(streams, st)
			}
			start = time.Now()
			if _, err := New(Config{Client: srv.Client(), Concurrency: conc}, streams, nil).Run(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.Logf("round %d: sequential GET %v, segdl conc %d: %v (ratio %.2f)", round, seq, conc, time.Since(start), seq.Seconds()/time.Since(start).Seconds())
		}
	}
}
