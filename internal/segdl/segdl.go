// Package segdl downloads media natively in Go once yt-dlp (or riptide's
// own playlist reader) has resolved where it is: HLS and DASH fragments
// and large plain files split in byte ranges, several at once, each part
// retried on its own, streams (video and audio) side by side, every byte
// through the worker's guarded HTTP client (internal/httpget).
//
// A stream is a list of parts whose bodies, appended in order, are the
// stream's file. Parts of known length (byte ranges of an unencrypted
// file) are written in place as they arrive; the others go through a
// bounded in-memory buffer (spilled to a temporary file when the worker's
// buffer budget is spent) and are appended in order. Where each stream
// stands (parts written, bytes) is its Mark: the activity heartbeats the
// marks, and a retry on the same worker resumes from them.
package segdl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riptide-dev/riptide/internal/failure"
	"github.com/riptide-dev/riptide/internal/httpget"
	"github.com/riptide-dev/riptide/workflows"
	"go.temporal.io/sdk/temporal"
)

// Part is one request's worth of a stream: a whole resource, or the
// Length bytes at Offset of it.
type Part struct {
	URL    *url.URL
	Offset int64
	// Length > 0 asks for a byte range; 0 for the whole resource.
	Length int64
	// Key decrypts the part (HLS AES-128); nil: clear.
	Key *Key
}

// Key is an AES-128-CBC key (fetched once per URL) and the part's IV.
type Key struct {
	URL *url.URL
	IV  [16]byte
}

// Stream is one file to write from its parts.
type Stream struct {
	Path   string
	Header http.Header
	Parts  []Part
}

// inPlace tells whether every part's place in the file is known before it
// arrives: then parts are written where they belong, in any order.
func (s *Stream) inPlace() bool {
	for _, p := range s.Parts {
		if p.Length <= 0 || p.Key != nil {
			return false
		}
	}
	return true
}

// Mark is where a stream stands: Done parts (of Parts) are in its file,
// which holds Bytes bytes of them.
type Mark struct {
	Parts int   `json:"parts"`
	Done  int   `json:"done"`
	Bytes int64 `json:"bytes"`
}

// Config is how a Downloader fetches.
type Config struct {
	Client *http.Client
	// Concurrency is the number of parts in flight per stream; 0: adaptive
	// between MinAdaptive and MaxAdaptive.
	Concurrency int
	// MaxBytes caps the bytes of all streams together; 0: no cap.
	MaxBytes int64
	// EnsureSpace refuses a download that needs more disk space than is
	// left (httpget.Limits.EnsureSpace); nil: no check.
	EnsureSpace func(need int64) error
	// Attempts per part before the download fails (default 5).
	Attempts int
	// OnPrefix, when set, is called once per stream, from the goroutine
	// writing it, as soon as its file holds PrefixBytes (or all of it, n
	// whole): a caller can inspect the start of the media while
	// the rest downloads. The file must not be written to.
	OnPrefix func(stream int, path string, n int64, whole bool)
}

// PrefixBytes is how much of a stream OnPrefix waits for: enough for a
// probe to see the container and every stream's codec.
const PrefixBytes = 1 << 20

// Adaptive concurrency bounds.
const (
	MinAdaptive = 2
	MaxAdaptive = 16
)

// Downloader downloads streams; Marks and Bytes may be read while Run runs.
type Downloader struct {
	cfg     Config
	streams []Stream
	marks   []Mark
	mu      sync.Mutex // guards marks
	bytes   atomic.Int64
	sinceSC atomic.Int64 // bytes since the last free-space check
	keys    keyCache
}

// New prepares the download of streams, resuming from marks (a previous
// attempt's, or nil) where they still fit the stream and its file.
func New(cfg Config, streams []Stream, resume []Mark) *Downloader {
	if cfg.Attempts <= 0 {
		cfg.Attempts = 5
	}
	d := &Downloader{cfg: cfg, streams: streams, marks: make([]Mark, len(streams))}
	for i, s := range streams {
		d.marks[i] = Mark{Parts: len(s.Parts)}
		if i < len(resume) {
			m := resume[i]
			if m.Parts == len(s.Parts) && m.Done > 0 && m.Done <= len(s.Parts) && m.Bytes > 0 {
				if st, err := os.Stat(s.Path); err == nil && st.Size() >= m.Bytes {
					d.marks[i] = m
				}
			}
		}
		d.bytes.Add(d.marks[i].Bytes)
	}
	return d
}

// Marks is where each stream stands.
func (d *Downloader) Marks() []Mark {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Mark(nil), d.marks...)
}

// Bytes is how many bytes have arrived, written or not.
func (d *Downloader) Bytes() int64 { return d.bytes.Load() }

// Estimate is the expected size of every stream together, from the parts
// done so far; 0 until some part of each stream is done.
func (d *Downloader) Estimate() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	var total int64
	for _, m := range d.marks {
		if m.Done == 0 {
			return 0
		}
		total += m.Bytes * int64(m.Parts) / int64(m.Done)
	}
	return total
}

// Run downloads every stream at once and returns their sizes.
func (d *Downloader) Run(ctx context.Context) ([]int64, error) {
	if err := d.checkSpace(0); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sizes := make([]int64, len(d.streams))
	errs := make([]error, len(d.streams))
	var wg sync.WaitGroup
	for i := range d.streams {
		wg.Go(func() {
			sizes[i], errs[i] = d.runStream(ctx, i)
			if errs[i] != nil {
				cancel(errs[i])
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return sizes, nil
}

// piece is a fetched part on its way to the file.
type piece struct {
	buf   *buffer // nil when written in place, or by the part itself
	bytes int64
	err   error
}

// turn is whose turn it is to write a stream's file: the writer waits for
// part head, which then writes straight to the file at offset at.
type turn struct {
	head atomic.Int64
	at   atomic.Int64
	f    *os.File
}

// runStream downloads stream i: workers fetch parts in order of index,
// at most window ahead of the writer, which appends them in order.
func (d *Downloader) runStream(ctx context.Context, i int) (int64, error) {
	s := &d.streams[i]
	start := d.Marks()[i]
	f, err := os.OpenFile(s.Path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return 0, failure.Technical(err, "opening the download file: %v", err)
	}
	defer f.Close()
	inPlace := s.inPlace()
	offsets := make([]int64, len(s.Parts)+1)
	if inPlace {
		for j, p := range s.Parts {
			offsets[j+1] = offsets[j] + p.Length
		}
		if d.cfg.MaxBytes > 0 && d.Bytes()-start.Bytes+offsets[len(s.Parts)] > d.cfg.MaxBytes {
			return 0, httpget.TooLarge(d.cfg.MaxBytes)
		}
	}
	if err := f.Truncate(start.Bytes); err != nil {
		return 0, failure.Technical(err, "preparing the download file: %v", err)
	}
	if start.Done == len(s.Parts) {
		if d.cfg.OnPrefix != nil {
			d.cfg.OnPrefix(i, s.Path, start.Bytes, true)
		}
		return start.Bytes, nil
	}

	tn := &turn{f: f}
	tn.head.Store(-1)
	lim := newLimiter(d.cfg.Concurrency)
	defer lim.close()
	window := 2 * lim.max
	tokens := make(chan struct{}, window)
	results := make([]chan piece, len(s.Parts))
	for j := range results {
		results[j] = make(chan piece, 1)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	go func() {
		defer close(next)
		for j := start.Done; j < len(s.Parts); j++ {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case next <- j:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range lim.max {
		wg.Go(func() {
			for j := range next {
				var p piece
				if inPlace {
					p.bytes, p.err = d.fetchAt(ctx, s, s.Parts[j], f, offsets[j], lim)
				} else {
					p.buf, p.bytes, p.err = d.fetchBuffered(ctx, s, s.Parts[j], tn, j, lim)
				}
				results[j] <- p
			}
		})
	}
	defer func() {
		cancel()
		wg.Wait()
		// Drop what was fetched but never written.
		for _, r := range results {
			select {
			case p := <-r:
				p.buf.release()
			default:
			}
		}
	}()

	at := start.Bytes
	// OnPrefix once the file holds PrefixBytes; a resumed stream that
	// does already, after its first new part.
	prefixed := false
	for j := start.Done; j < len(s.Parts); j++ {
		var p piece
		select {
		case p = <-results[j]:
		default:
			// Part j's turn: it writes itself from here on.
			tn.at.Store(at)
			tn.head.Store(int64(j))
			wakeBudget()
			lim.wake()
			select {
			case p = <-results[j]:
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
		if p.err != nil {
			return 0, p.err
		}
		if p.buf != nil {
			err := p.buf.writeTo(io.NewOffsetWriter(f, at))
			p.buf.release()
			if err != nil {
				return 0, failure.Technical(err, "writing the download: %v", err)
			}
		}
		at += p.bytes
		<-tokens
		d.mu.Lock()
		d.marks[i].Done, d.marks[i].Bytes = j+1, at
		d.mu.Unlock()
		if !prefixed && at >= PrefixBytes && j+1 < len(s.Parts) && d.cfg.OnPrefix != nil {
			prefixed = true
			d.cfg.OnPrefix(i, s.Path, at, false)
		}
	}
	if inPlace {
		at = offsets[len(s.Parts)]
	} else if err := f.Truncate(at); err != nil { // past a failed attempt's bytes
		return 0, failure.Technical(err, "writing the download: %v", err)
	}
	if !prefixed && d.cfg.OnPrefix != nil {
		d.cfg.OnPrefix(i, s.Path, at, true)
	}
	return at, nil
}

// count adds n arrived bytes, enforcing the byte cap and checking free
// space every httpget.SpaceCheckEvery bytes.
func (d *Downloader) count(n int64) error {
	total := d.bytes.Add(n)
	if d.cfg.MaxBytes > 0 && total > d.cfg.MaxBytes {
		return httpget.TooLarge(d.cfg.MaxBytes)
	}
	if d.sinceSC.Add(n) >= httpget.SpaceCheckEvery {
		d.sinceSC.Store(0)
		return d.checkSpace(total)
	}
	return nil
}

// checkSpace asks for room for what is still to come (by the estimate)
// and for the muxed copy of all of it.
func (d *Downloader) checkSpace(have int64) error {
	if d.cfg.EnsureSpace == nil {
		return nil
	}
	est := max(d.Estimate(), have)
	return d.cfg.EnsureSpace(est - have + est)
}

// fetchAt fetches a part of known length straight to its place in f.
func (d *Downloader) fetchAt(ctx context.Context, s *Stream, p Part, f *os.File, off int64, lim *limiter) (int64, error) {
	return p.Length, d.retry(ctx, lim, never, func(ctx context.Context) error {
		w := &countingWriter{w: io.NewOffsetWriter(f, off), count: d.count}
		n, err := d.get(ctx, s, p, w)
		if err == nil && n != p.Length {
			err = failure.Technical(nil, "a part of %s ended after %d of its %d bytes", p.URL.Redacted(), n, p.Length)
		}
		if err != nil {
			d.bytes.Add(-w.n) // rewritten by the next attempt
		}
		return err
	})
}

// fetchBuffered fetches a part for the in-order writer: into a buffer
// while earlier parts are still to be written, straight into the file
// once its turn comes (see sink). It returns the buffer (nil when the
// part wrote itself) and the part's size.
func (d *Downloader) fetchBuffered(ctx context.Context, s *Stream, p Part, tn *turn, j int, lim *limiter) (*buffer, int64, error) {
	var out *buffer
	var size int64
	first := func() bool { return tn.head.Load() == int64(j) }
	err := d.retry(ctx, lim, first, func(ctx context.Context) error {
		k := &sink{ctx: ctx, tn: tn, j: int64(j), buf: &buffer{}}
		w := &countingWriter{w: k, count: d.count}
		n, err := d.get(ctx, s, p, w)
		if err != nil {
			d.bytes.Add(-w.n)
			k.buf.release()
			return err
		}
		if k.direct {
			out, size = nil, n
		} else {
			out, size = k.buf, k.buf.size
		}
		return nil
	})
	return out, size, err
}

// sink receives one attempt at a part: into chunks of the memory budget
// while it waits for its turn, into the file once the writer waits for
// it (after writing out what it buffered).
type sink struct {
	ctx    context.Context
	tn     *turn
	j      int64
	buf    *buffer
	direct bool
	at     int64
}

func (k *sink) myTurn() bool { return k.tn.head.Load() == k.j }

func (k *sink) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if !k.direct && k.myTurn() {
			k.direct, k.at = true, k.tn.at.Load()
			w := io.NewOffsetWriter(k.tn.f, k.at)
			if err := k.buf.writeTo(w); err != nil {
				return 0, err
			}
			k.at += k.buf.size
			k.buf.release()
		}
		if k.direct {
			m, err := k.tn.f.WriteAt(p, k.at)
			k.at += int64(m)
			if err != nil {
				return n - len(p) + m, err
			}
			return n, nil
		}
		b := k.buf
		if len(b.chunks) == 0 || b.last == chunkSize {
			c, err := takeChunk(k.ctx, k.myTurn)
			if err != nil {
				return n - len(p), err
			}
			if c == nil {
				continue // its turn came
			}
			b.chunks = append(b.chunks, c)
			b.last = 0
		}
		m := copy(b.chunks[len(b.chunks)-1][b.last:], p)
		b.last += m
		b.size += int64(m)
		p = p[m:]
	}
	return n, nil
}

// retry runs one part's attempts: a failure that may pass (a broken
// connection, a stall, a 5xx, a 429) is tried again after a pause, up to
// Config.Attempts times; one that cannot (a refused address, a 404) ends
// the download at once.
func (d *Downloader) retry(ctx context.Context, lim *limiter, first func() bool, attempt func(context.Context) error) error {
	pause := 250 * time.Millisecond
	for n := 1; ; n++ {
		if err := lim.acquire(ctx, first); err != nil {
			return err
		}
		started := time.Now()
		t := &timing{}
		err := attempt(withTiming(ctx, t))
		lim.release(t.ttfb(started), time.Since(started), isRateLimited(err))
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !retryable(err) || n >= d.cfg.Attempts {
			return resolveAgain(err)
		}
		wait := pause
		if ra := retryAfter(err); ra > 0 {
			wait = min(ra, 10*time.Second)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		pause = min(2*pause, 4*time.Second)
	}
}

// resolveAgain turns a part's 401, 403, 404 or 410 into a failure the
// activity retries: the part's URL came from a resolution (yt-dlp's, or a
// playlist's) that may have expired, as signed CDN URLs do, and the retry
// resolves afresh. The source URL's own refusal stays final (httpget).
func resolveAgain(err error) error {
	if ae, ok := errors.AsType[*temporal.ApplicationError](err); ok && ae.NonRetryable() &&
		(ae.Type() == workflows.ErrTypeNotFound || ae.Type() == workflows.ErrTypeContentUnavailable) {
		return failure.Technical(err, "%s; the download starts again from a fresh look at the source", ae.Message())
	}
	return err
}

// never is the turn test of parts written in place: they need no turn.
func never() bool { return false }

// retryable tells whether a part's failure may pass on another try.
func retryable(err error) bool {
	if ae, ok := errors.AsType[*temporal.ApplicationError](err); ok {
		return !ae.NonRetryable()
	}
	return true
}

// get sends a part's request and copies its (decrypted) body to w,
// ending a transfer that receives nothing for httpget.StallTimeout.
func (d *Downloader) get(ctx context.Context, s *Stream, p Part, w io.Writer) (int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	h := s.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if p.Length > 0 {
		h.Set("Range", "bytes="+strconv.FormatInt(p.Offset, 10)+"-"+strconv.FormatInt(p.Offset+p.Length-1, 10))
	}
	var key []byte
	if p.Key != nil {
		var err error
		if key, err = d.keys.get(ctx, d.cfg.Client, s.Header, p.Key.URL); err != nil {
			return 0, err
		}
	}
	stall := time.AfterFunc(httpget.StallTimeout, func() { cancel(errStalled) })
	defer stall.Stop()
	resp, err := httpget.Get(ctx, d.cfg.Client, p.URL, h)
	if err != nil {
		return 0, stalled(ctx, err)
	}
	defer resp.Body.Close()
	timingOf(ctx).got()
	var body io.Reader = resp.Body
	if p.Length > 0 {
		switch resp.StatusCode {
		case http.StatusPartialContent:
			if !rangeStartsAt(resp.Header.Get("Content-Range"), p.Offset) {
				return 0, failure.Technical(nil, "the server answered another byte range than asked for %s", p.URL.Redacted())
			}
		default:
			// The server sends the whole resource: skip to the range.
			if _, err := io.CopyN(io.Discard, body, p.Offset); err != nil {
				return 0, stalled(ctx, failure.Technical(err, "reading %s: the connection broke off", p.URL.Redacted()))
			}
		}
		body = io.LimitReader(body, p.Length)
	}
	if key != nil {
		body = newCBCReader(body, key, p.Key.IV)
	}
	r := &stallReader{r: body, timer: stall}
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	n, err := io.CopyBuffer(w, r, *buf)
	if err != nil {
		if ae, ok := errors.AsType[*temporal.ApplicationError](err); ok && ae.NonRetryable() {
			return n, err // the byte cap, the disk, a broken key
		}
		if ctx.Err() != nil {
			return n, stalled(ctx, ctx.Err())
		}
		return n, failure.Technical(err, "reading %s: %v", p.URL.Redacted(), err)
	}
	return n, nil
}

var errStalled = errors.New("transfer stalled")

// stalled names a stall as such (the request's context was canceled by the
// stall timer, not by the caller).
func stalled(ctx context.Context, err error) error {
	if errors.Is(context.Cause(ctx), errStalled) {
		return failure.Technical(errStalled, "the source sent nothing for %s", httpget.StallTimeout)
	}
	return err
}

// rangeStartsAt tells whether a Content-Range header starts at off.
func rangeStartsAt(cr string, off int64) bool {
	var start, end, total int64
	if _, err := fmt.Sscanf(cr, "bytes %d-%d/%d", &start, &end, &total); err == nil {
		return start == off
	}
	var star string
	if _, err := fmt.Sscanf(cr, "bytes %d-%d/%s", &start, &end, &star); err == nil {
		return start == off
	}
	return false
}

// stallReader pushes the stall timer back on every read that brings data.
type stallReader struct {
	r     io.Reader
	timer *time.Timer
}

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.timer.Reset(httpget.StallTimeout)
	}
	return n, err
}

// countingWriter counts what passes to w through count, which may refuse
// it (the byte cap, the disk).
type countingWriter struct {
	w     io.Writer
	n     int64
	count func(int64) error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if err := c.count(int64(len(p))); err != nil {
		c.n += int64(len(p))
		return 0, err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// isRateLimited tells whether err is a 429 or a bot check.
func isRateLimited(err error) bool {
	ae, ok := errors.AsType[*temporal.ApplicationError](err)
	return ok && ae.Type() == workflows.ErrTypeRateLimited
}

// retryAfter is the delay a failure asks for, 0 for none.
func retryAfter(err error) time.Duration {
	if ae, ok := errors.AsType[*temporal.ApplicationError](err); ok {
		return ae.NextRetryDelay()
	}
	return 0
}
