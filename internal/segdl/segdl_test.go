package segdl

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/riptide-dev/riptide/internal/httpget"
	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/workflows"
)

// loopback serves h on 127.0.0.1.
func loopback(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.Listener = l
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

// fragments serves n random fragments at /f<i>, answering each after a
// random short delay so they complete out of order.
func fragments(t *testing.T, n int, size int) (*httptest.Server, [][]byte, *atomic.Int64) {
	t.Helper()
	data := make([][]byte, n)
	for i := range data {
		data[i] = make([]byte, size+i)
		_, _ = rand.Read(data[i])
	}
	var gets atomic.Int64
	srv := loopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		var i int
		if _, err := fmt.Sscanf(r.URL.Path, "/f%d", &i); err != nil || i >= n {
			http.NotFound(w, r)
			return
		}
		time.Sleep(time.Duration((i*7)%5) * time.Millisecond)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data[i]))
	}))
	return srv, data, &gets
}

func partsOf(t *testing.T, base string, n int) []Part {
	ps := make([]Part, n)
	for i := range ps {
		ps[i] = Part{URL: mustURL(t, fmt.Sprintf("%s/f%d", base, i))}
	}
	return ps
}

func TestPartsAreWrittenInOrderWhateverOrderTheyArrive(t *testing.T) {
	for _, conc := range []int{1, 4, 0} {
		t.Run(fmt.Sprint(conc), func(t *testing.T) {
			srv, data, _ := fragments(t, 40, 3000)
			dir := t.TempDir()
			s := Stream{Path: filepath.Join(dir, "out"), Parts: partsOf(t, srv.URL, 40)}
			d := New(Config{Client: srv.Client(), Concurrency: conc}, []Stream{s}, nil)
			sizes, err := d.Run(context.Background())
			require.NoError(t, err)
			got, err := os.ReadFile(s.Path)
			require.NoError(t, err)
			require.Equal(t, bytes.Join(data, nil), got)
			require.EqualValues(t, len(got), sizes[0])
			require.Equal(t, []Mark{{Parts: 40, Done: 40, Bytes: int64(len(got))}}, d.Marks())
			require.Zero(t, budgetInUse(), "every buffer is given back")
		})
	}
}

func TestTwoStreamsAtOnce(t *testing.T) {
	srv, data, _ := fragments(t, 10, 1000)
	dir := t.TempDir()
	a := Stream{Path: filepath.Join(dir, "v"), Parts: partsOf(t, srv.URL, 10)[:5]}
	b := Stream{Path: filepath.Join(dir, "a"), Parts: partsOf(t, srv.URL, 10)[5:]}
	_, err := New(Config{Client: srv.Client(), Concurrency: 2}, []Stream{a, b}, nil).Run(context.Background())
	require.NoError(t, err)
	va, _ := os.ReadFile(a.Path)
	vb, _ := os.ReadFile(b.Path)
	require.Equal(t, bytes.Join(data[:5], nil), va)
	require.Equal(t, bytes.Join(data[5:], nil), vb)
}

// Parts ahead of their turn wait for the memory budget; the part whose
// turn it is writes to the file without it, so even a budget of one chunk
// for parts of more than two chunks finishes.
func TestPartsAheadWaitForTheBudget(t *testing.T) {
	old := MemoryBudget
	MemoryBudget = chunkSize // one chunk for everything
	t.Cleanup(func() { MemoryBudget = old })
	srv, data, _ := fragments(t, 24, 600<<10)
	for _, conc := range []int{1, 2, 8} {
		for round := range 3 {
			t.Run(fmt.Sprintf("%d-%d", conc, round), func(t *testing.T) {
				dir := t.TempDir()
				s := Stream{Path: filepath.Join(dir, "out"), Parts: partsOf(t, srv.URL, 24)}
				// Stuck parts would hang: a deadline makes that a failure.
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				_, err := New(Config{Client: srv.Client(), Concurrency: conc}, []Stream{s}, nil).Run(ctx)
				require.NoError(t, err)
				got, _ := os.ReadFile(s.Path)
				require.True(t, bytes.Equal(bytes.Join(data, nil), got))
				left, _ := filepath.Glob(filepath.Join(dir, "*"))
				require.Equal(t, []string{s.Path}, left, "no other file")
				require.Zero(t, budgetInUse())
			})
		}
	}
}

func TestResumeFetchesOnlyThePartsNotWritten(t *testing.T) {
	srv, data, gets := fragments(t, 10, 100)
	dir := t.TempDir()
	s := Stream{Path: filepath.Join(dir, "out"), Parts: partsOf(t, srv.URL, 10)}
	head := bytes.Join(data[:6], nil)
	// A previous attempt wrote 6 parts, and some bytes of the 7th past its mark.
	require.NoError(t, os.WriteFile(s.Path, append(append([]byte{}, head...), "junk"...), 0o644))
	d := New(Config{Client: srv.Client(), Concurrency: 3}, []Stream{s}, []Mark{{Parts: 10, Done: 6, Bytes: int64(len(head))}})
	_, err := d.Run(context.Background())
	require.NoError(t, err)
	got, _ := os.ReadFile(s.Path)
	require.Equal(t, bytes.Join(data, nil), got)
	require.EqualValues(t, 4, gets.Load())

	// A mark of another plan (another number of parts) starts over.
	gets.Store(0)
	d = New(Config{Client: srv.Client(), Concurrency: 3}, []Stream{s}, []Mark{{Parts: 9, Done: 6, Bytes: int64(len(head))}})
	_, err = d.Run(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 10, gets.Load())
	// So does a mark past the end of the file (another worker's).
	require.NoError(t, os.WriteFile(s.Path, head[:10], 0o644))
	gets.Store(0)
	_, err = New(Config{Client: srv.Client(), Concurrency: 3}, []Stream{s}, []Mark{{Parts: 10, Done: 6, Bytes: int64(len(head))}}).Run(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 10, gets.Load())
	got, _ = os.ReadFile(s.Path)
	require.Equal(t, bytes.Join(data, nil), got)
}

func TestAFailingPartIsRetriedAndA404EndsTheDownload(t *testing.T) {
	var mu sync.Mutex
	fails := map[string]int{"/f3": 2}
	srv := loopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n := fails[r.URL.Path]
		fails[r.URL.Path] = n - 1
		mu.Unlock()
		if n > 0 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		if r.URL.Path == "/gone" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, r.URL.Path)
	}))
	dir := t.TempDir()
	s := Stream{Path: filepath.Join(dir, "out"), Parts: partsOf(t, srv.URL, 5)}
	_, err := New(Config{Client: srv.Client(), Concurrency: 2}, []Stream{s}, nil).Run(context.Background())
	require.NoError(t, err)
	got, _ := os.ReadFile(s.Path)
	require.Equal(t, "/f0/f1/f2/f3/f4", string(got))

	// A part that is gone ends the download at once, as a failure the
	// activity retries from a fresh resolution (signed URLs expire).
	s.Parts = append(s.Parts, Part{URL: mustURL(t, srv.URL+"/gone")})
	_, err = New(Config{Client: srv.Client(), Concurrency: 2}, []Stream{s}, nil).Run(context.Background())
	var ae *temporal.ApplicationError
	require.ErrorAs(t, err, &ae)
	require.False(t, ae.NonRetryable(), "%v", err)
	require.Equal(t, workflows.ErrTypeTechnical, ae.Type())
	require.Contains(t, err.Error(), "fresh look")
	mu.Lock()
	require.Equal(t, -1, fails["/gone"], "asked once: no part retries for a 404")
	mu.Unlock()
}

func TestTheByteCapStopsTheDownload(t *testing.T) {
	srv, _, _ := fragments(t, 20, 10000)
	dir := t.TempDir()
	s := Stream{Path: filepath.Join(dir, "out"), Parts: partsOf(t, srv.URL, 20)}
	_, err := New(Config{Client: srv.Client(), Concurrency: 4, MaxBytes: 50000}, []Stream{s}, nil).Run(context.Background())
	require.ErrorContains(t, err, "larger than")
	require.Zero(t, budgetInUse())
}

func TestFreeSpaceIsCheckedWhileWriting(t *testing.T) {
	old := httpget.SpaceCheckEvery
	httpget.SpaceCheckEvery = 4096
	t.Cleanup(func() { httpget.SpaceCheckEvery = old })
	srv, _, _ := fragments(t, 20, 10000)
	var checks atomic.Int64
	s := Stream{Path: filepath.Join(t.TempDir(), "out"), Parts: partsOf(t, srv.URL, 20)}
	_, err := New(Config{Client: srv.Client(), Concurrency: 2, EnsureSpace: func(need int64) error {
		if checks.Add(1) > 3 {
			return temporal.NewNonRetryableApplicationError("disk full", "DiskFull", nil)
		}
		return nil
	}}, []Stream{s}, nil).Run(context.Background())
	require.ErrorContains(t, err, "disk full")
}

func TestRangesAreWrittenInPlace(t *testing.T) {
	data := make([]byte, 3*RangePart+12345)
	_, _ = rand.Read(data)
	var ranged atomic.Int64
	srv := loopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/file", http.StatusFound)
			return
		}
		if r.Header.Get("Range") != "" {
			ranged.Add(1)
		}
		http.ServeContent(w, r, "f.mp4", time.Time{}, bytes.NewReader(data))
	}))
	parts, size, err := PlanFile(context.Background(), srv.Client(), nil, mustURL(t, srv.URL+"/moved"))
	require.NoError(t, err)
	require.EqualValues(t, len(data), size)
	require.Len(t, parts, 4)
	require.Equal(t, "/file", parts[0].URL.Path, "the redirect is followed once")
	s := Stream{Path: filepath.Join(t.TempDir(), "out"), Parts: parts}
	require.True(t, s.inPlace())
	_, err = New(Config{Client: srv.Client(), Concurrency: 4}, []Stream{s}, nil).Run(context.Background())
	require.NoError(t, err)
	got, _ := os.ReadFile(s.Path)
	require.True(t, bytes.Equal(data, got))
	require.EqualValues(t, 5, ranged.Load(), "the probe and one request per range")

	// A small file is one request.
	small := loopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "f.mp4", time.Time{}, bytes.NewReader(data[:1000]))
	}))
	parts, _, err = PlanFile(context.Background(), small.Client(), nil, mustURL(t, small.URL+"/x"))
	require.NoError(t, err)
	require.Equal(t, []Part{{URL: mustURL(t, small.URL+"/x")}}, parts)
}

func encrypt(t *testing.T, key []byte, iv [16]byte, plain []byte) []byte {
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	in := append(append([]byte{}, plain...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, err := aes.NewCipher(key)
	require.NoError(t, err)
	cipher.NewCBCEncrypter(block, iv[:]).CryptBlocks(in, in)
	return in
}

func TestAES128SegmentsAreDecrypted(t *testing.T) {
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	plain := [][]byte{make([]byte, 100000), make([]byte, 33), make([]byte, 16)}
	for _, p := range plain {
		_, _ = rand.Read(p)
	}
	var keyGets atomic.Int64
	srv := loopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/key" {
			keyGets.Add(1)
			_, _ = w.Write(key)
			return
		}
		var i int
		_, _ = fmt.Sscanf(r.URL.Path, "/s%d", &i)
		var iv [16]byte
		iv[15] = byte(i) // the sequence number's IV
		_, _ = w.Write(encrypt(t, key, iv, plain[i]))
	}))
	playlist := "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-KEY:METHOD=AES-128,URI=\"/key\"\n" +
		"#EXTINF:1,\ns0\n#EXTINF:1,\ns1\n#EXTINF:1,\ns2\n#EXT-X-ENDLIST\n"
	m, err := ParseMedia(mustURL(t, srv.URL+"/index.m3u8"), []byte(playlist))
	require.NoError(t, err)
	require.Len(t, m.Parts, 3)
	require.Equal(t, byte(2), m.Parts[2].Key.IV[15])
	s := Stream{Path: filepath.Join(t.TempDir(), "out"), Parts: m.Parts}
	_, err = New(Config{Client: srv.Client(), Concurrency: 3}, []Stream{s}, nil).Run(context.Background())
	require.NoError(t, err)
	got, _ := os.ReadFile(s.Path)
	require.True(t, bytes.Equal(bytes.Join(plain, nil), got))
	require.EqualValues(t, 1, keyGets.Load())

	// The wrong key fails for good, and says why.
	_, _ = rand.Read(key)
	s.Parts = m.Parts[:1]
	_, err = New(Config{Client: srv.Client(), Concurrency: 1}, []Stream{s}, []Mark{}).Run(context.Background())
	if err != nil { // a wrong key can, rarely, leave valid-looking padding
		require.ErrorContains(t, err, "padding")
	}
}

func TestParseMedia(t *testing.T) {
	base := mustURL(t, "https://cdn.example/v/index.m3u8")
	t.Run("byte ranges without offsets follow the previous one", func(t *testing.T) {
		m, err := ParseMedia(base, []byte("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI=\"all.mp4\",BYTERANGE=\"700@0\"\n"+
			"#EXTINF:1,\n#EXT-X-BYTERANGE:1000@700\nall.mp4\n#EXTINF:1,\n#EXT-X-BYTERANGE:500\nall.mp4\n#EXTINF:1,\n#EXT-X-BYTERANGE:20@0\nall.mp4\n#EXT-X-ENDLIST\n"))
		require.NoError(t, err)
		require.True(t, m.FMP4)
		require.Equal(t, "mp4", m.FileExt())
		require.InDelta(t, 3, m.Duration, 0.001)
		var got []string
		for _, p := range m.Parts {
			got = append(got, fmt.Sprintf("%s %d+%d", p.URL.Path, p.Offset, p.Length))
		}
		require.Equal(t, []string{"/v/all.mp4 0+700", "/v/all.mp4 700+1000", "/v/all.mp4 1700+500", "/v/all.mp4 0+20"}, got)
	})
	for name, pl := range map[string]string{
		"live":           "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:1,\na.ts\n",
		"empty":          "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-ENDLIST\n",
		"sample-aes":     "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"k\"\n#EXTINF:1,\na.ts\n#EXT-X-ENDLIST\n",
		"changing map":   "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI=\"i1.mp4\"\n#EXTINF:1,\na.m4s\n#EXT-X-MAP:URI=\"i2.mp4\"\n#EXTINF:1,\nb.m4s\n#EXT-X-ENDLIST\n",
		"not a playlist": "<html>",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseMedia(base, []byte(pl))
			require.True(t, IsNotNative(err), "%v", err)
		})
	}
	t.Run("a file URI is refused", func(t *testing.T) {
		_, err := ParseMedia(base, []byte("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:1,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n"))
		var ae *temporal.ApplicationError
		require.ErrorAs(t, err, &ae)
		require.True(t, ae.NonRetryable())
		require.False(t, IsNotNative(err), "not left to yt-dlp either")
	})
	t.Run("a discontinuity keeps every segment, in order", func(t *testing.T) {
		// An ad break: the segments are appended as they are, as yt-dlp does.
		m, err := ParseMedia(base, []byte("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.ts\n#EXT-X-DISCONTINUITY\n"+
			"#EXTINF:1.5,\nad/b.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:2,\nc.ts\n#EXT-X-ENDLIST\n"))
		require.NoError(t, err)
		var got []string
		for _, p := range m.Parts {
			got = append(got, p.URL.Path)
		}
		require.Equal(t, []string{"/v/a.ts", "/v/ad/b.ts", "/v/c.ts"}, got)
		require.InDelta(t, 5.5, m.Duration, 0.001)
	})
	t.Run("an explicit IV and a clear key", func(t *testing.T) {
		m, err := ParseMedia(base, []byte("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:7\n"+
			"#EXT-X-KEY:METHOD=AES-128,URI=\"k\",IV=0x000102030405060708090a0b0c0d0e0f\n#EXTINF:1,\na.ts\n"+
			"#EXT-X-KEY:METHOD=NONE\n#EXTINF:1,\nb.ts\n#EXT-X-ENDLIST\n"))
		require.NoError(t, err)
		require.Equal(t, byte(0x0f), m.Parts[0].Key.IV[15])
		require.Equal(t, "/v/k", m.Parts[0].Key.URL.Path)
		require.Nil(t, m.Parts[1].Key)
		require.Equal(t, "ts", m.FileExt())
	})
}

func TestAdaptiveConcurrencyFollowsLatency(t *testing.T) {
	l := newLimiter(0)
	require.Equal(t, MinAdaptive, l.level())
	require.Zero(t, workerSlots())
	// Latency-bound parts (most of each part's time before its first byte).
	for l.level() < MaxAdaptive {
		before := l.level()
		for range before {
			require.NoError(t, l.acquire(context.Background(), never))
			l.release(20*time.Millisecond, 25*time.Millisecond, false)
		}
		require.Equal(t, min(2*before, MaxAdaptive), l.level())
	}
	// A rate-limited answer halves it.
	require.NoError(t, l.acquire(context.Background(), never))
	l.release(time.Millisecond, 2*time.Millisecond, true)
	require.Equal(t, MaxAdaptive/2, l.level())
	// Bandwidth-bound parts leave it where it is.
	for range 3 * MaxAdaptive {
		require.NoError(t, l.acquire(context.Background(), never))
		l.release(time.Millisecond, 100*time.Millisecond, false)
	}
	require.Equal(t, MaxAdaptive/2, l.level())

	l.close()
	fixed := newLimiter(3)
	defer fixed.close()
	for range 10 {
		require.NoError(t, fixed.acquire(context.Background(), never))
		fixed.release(20*time.Millisecond, 21*time.Millisecond, false)
	}
	require.Equal(t, 3, fixed.level())
	require.Zero(t, workerSlots(), "every slot given back")
}

func TestAStalledPartIsRetried(t *testing.T) {
	old := httpget.StallTimeout
	httpget.StallTimeout = 200 * time.Millisecond
	t.Cleanup(func() { httpget.StallTimeout = old })
	var n atomic.Int64
	srv := loopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Content-Length", "10")
			_, _ = io.WriteString(w, "abc")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		_, _ = io.WriteString(w, "abcdefghij")
	}))
	s := Stream{Path: filepath.Join(t.TempDir(), "out"), Parts: []Part{{URL: mustURL(t, srv.URL+"/x")}}}
	_, err := New(Config{Client: srv.Client(), Concurrency: 1}, []Stream{s}, nil).Run(context.Background())
	require.NoError(t, err)
	got, _ := os.ReadFile(s.Path)
	require.Equal(t, "abcdefghij", string(got))
	require.EqualValues(t, 2, n.Load())
}

// However many downloads run, the worker has at most MaxInFlight part
// requests out (plus one per stream whose turn it is).
func TestTheWorkerBoundsItsRequests(t *testing.T) {
	var now, peak atomic.Int64
	srv := loopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := now.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		now.Add(-1)
		_, _ = io.WriteString(w, r.URL.Path)
	}))
	const streams = 8
	var wg sync.WaitGroup
	for j := range streams {
		wg.Go(func() {
			s := Stream{Path: filepath.Join(t.TempDir(), "out")}
			for i := range 60 {
				s.Parts = append(s.Parts, Part{URL: mustURL(t, fmt.Sprintf("%s/%d/%d", srv.URL, j, i))})
			}
			_, err := New(Config{Client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}, Concurrency: 32}, []Stream{s}, nil).Run(context.Background())
			require.NoError(t, err)
		})
	}
	wg.Wait()
	require.LessOrEqual(t, peak.Load(), int64(MaxInFlight+streams))
	require.Greater(t, peak.Load(), int64(streams), "the bound is not one at a time")
	require.Zero(t, workerSlots())
}

// A playlist may name any address: every fragment and key request goes
// through the client the worker gives (the network guard's), and a
// refused address fails the download for good at once, the server never
// asked.
func TestABlockedAddressFailsAtOnce(t *testing.T) {
	var gets atomic.Int64
	srv := loopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		_, _ = io.WriteString(w, "x")
	}))
	strict := &http.Client{Transport: netguard.New(nil).Transport()} // loopback refused
	for name, p := range map[string]Part{
		"fragment": {URL: mustURL(t, srv.URL+"/f0")},
		"key":      {URL: mustURL(t, "https://cdn.invalid/f0"), Key: &Key{URL: mustURL(t, srv.URL+"/key")}},
	} {
		t.Run(name, func(t *testing.T) {
			s := Stream{Path: filepath.Join(t.TempDir(), "out"), Parts: []Part{p}}
			_, err := New(Config{Client: strict, Concurrency: 1}, []Stream{s}, nil).Run(context.Background())
			var ae *temporal.ApplicationError
			require.ErrorAs(t, err, &ae)
			require.Equal(t, workflows.ErrTypeBlockedAddress, ae.Type(), "%v", err)
			require.True(t, ae.NonRetryable())
		})
	}
	require.Zero(t, gets.Load(), "the guard refused before any request")
}
