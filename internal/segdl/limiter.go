package segdl

import (
	"context"
	"sync"
	"time"
)

// limiter bounds the parts in flight of one stream: a fixed number, or
// an adaptive one. Adaptive, it starts at MinAdaptive and doubles, up to
// MaxAdaptive, while the time to first byte is a large share of each
// part's time (the transfer is latency-bound: more at once hide the
// latency); a rate-limited answer halves it. It judges one round (as many
// parts as it allows) at a time.
type limiter struct {
	mu       sync.Mutex
	cond     *sync.Cond
	adaptive bool
	cur, max int
	inFlight int
	// The current round's observations.
	seen              int
	ttfbSum, totalSum time.Duration
	throttled         bool
}

// latencyBound is the share of a part's time spent waiting for its first
// byte above which more parts at once pay.
const latencyBound = 0.25

func newLimiter(fixed int) *limiter {
	l := &limiter{cur: fixed, max: fixed}
	if fixed <= 0 {
		l.adaptive, l.cur, l.max = true, MinAdaptive, MaxAdaptive
	}
	l.cond = sync.NewCond(&l.mu)
	limitersMu.Lock()
	limiters[l] = struct{}{}
	limitersMu.Unlock()
	return l
}

// MaxInFlight bounds the part requests of one worker across all its
// downloads: sixteen jobs at sixteen fragments each would otherwise hold
// 256 connections (and their buffers) to what is often one CDN. 32 kept
// sixteen 20 ms-latency HLS jobs as fast as 64 did, at 89 MiB of peak
// worker RSS instead of 104 (make bench, segmem).
const MaxInFlight = 32

// inFlight is the worker's part requests now, under inFlightMu.
var (
	inFlightMu  sync.Mutex
	inFlightAll int
)

// acquire waits for room for one more part, in the stream and in the
// worker; a part for which first() says its turn came takes room at once:
// the parts ahead of it may all wait for memory only its writing frees.
func (l *limiter) acquire(ctx context.Context, first func() bool) error {
	stop := context.AfterFunc(ctx, func() {
		l.mu.Lock()
		l.cond.Broadcast()
		l.mu.Unlock()
	})
	defer stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		if l.inFlight < l.cur && takeWorkerSlot(false) {
			break
		}
		if first() {
			takeWorkerSlot(true)
			break
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		l.cond.Wait()
	}
	l.inFlight++
	return nil
}

// takeWorkerSlot takes one of the worker's MaxInFlight slots; force takes
// one beyond the bound.
func takeWorkerSlot(force bool) bool {
	inFlightMu.Lock()
	defer inFlightMu.Unlock()
	if inFlightAll >= MaxInFlight && !force {
		return false
	}
	inFlightAll++
	return true
}

// limiters are the streams' limiters now, woken when a worker slot frees.
var (
	limitersMu sync.Mutex
	limiters   = map[*limiter]struct{}{}
)

func giveWorkerSlot() {
	inFlightMu.Lock()
	inFlightAll--
	inFlightMu.Unlock()
	limitersMu.Lock()
	ls := make([]*limiter, 0, len(limiters))
	for l := range limiters {
		ls = append(ls, l)
	}
	limitersMu.Unlock()
	for _, l := range ls {
		l.wake()
	}
}

// close forgets the limiter.
func (l *limiter) close() {
	limitersMu.Lock()
	delete(limiters, l)
	limitersMu.Unlock()
}

// release ends one part's attempt, with how long it waited for its first
// byte and took in all.
func (l *limiter) release(ttfb, total time.Duration, throttled bool) {
	l.mu.Lock()
	l.inFlight--
	l.observe(ttfb, total, throttled)
	l.cond.Broadcast()
	l.mu.Unlock()
	giveWorkerSlot()
}

func (l *limiter) observe(ttfb, total time.Duration, throttled bool) {
	if !l.adaptive {
		return
	}
	l.seen++
	l.ttfbSum += ttfb
	l.totalSum += total
	l.throttled = l.throttled || throttled
	if l.seen < l.cur && !throttled {
		return
	}
	switch {
	case l.throttled:
		l.cur = max(MinAdaptive, l.cur/2)
	case l.totalSum > 0 && float64(l.ttfbSum) > latencyBound*float64(l.totalSum):
		l.cur = min(l.max, 2*l.cur)
	}
	l.seen, l.ttfbSum, l.totalSum, l.throttled = 0, 0, 0, false
}

// wake has the waiting parts look again at whether their turn came.
func (l *limiter) wake() {
	l.mu.Lock()
	l.cond.Broadcast()
	l.mu.Unlock()
}

// level is the current bound (for tests and metrics).
func (l *limiter) level() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur
}

// timing records when a part's response arrived.
type timing struct {
	mu        sync.Mutex
	firstByte time.Time
}

func (t *timing) got() {
	if t == nil {
		return
	}
	t.mu.Lock()
	if t.firstByte.IsZero() {
		t.firstByte = time.Now()
	}
	t.mu.Unlock()
}

// ttfb is the time from started to the response; the whole time when none
// came.
func (t *timing) ttfb(started time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.firstByte.IsZero() {
		return time.Since(started)
	}
	return t.firstByte.Sub(started)
}

type timingKey struct{}

func withTiming(ctx context.Context, t *timing) context.Context {
	return context.WithValue(ctx, timingKey{}, t)
}

func timingOf(ctx context.Context) *timing {
	t, _ := ctx.Value(timingKey{}).(*timing)
	return t
}

// workerSlots is the worker's part requests now (for tests).
func workerSlots() int {
	inFlightMu.Lock()
	defer inFlightMu.Unlock()
	return inFlightAll
}
