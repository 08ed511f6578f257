// Package heartbeat reports an activity's progress to Temporal while a
// transfer or an external program runs.
package heartbeat

import (
	"context"
	"time"

	"github.com/riptide-dev/riptide/workflows"
	"go.temporal.io/sdk/activity"
)

// Interval is how often the downloaders report progress. A var so tests
// can shorten it.
var Interval = time.Second

// Progress is n of total bytes (total 0: unknown), with its percentage.
func Progress(n, total int64) workflows.Progress {
	p := workflows.Progress{Bytes: n, Total: total}
	if total > 0 {
		p.Percent = min(100, float64(n)*100/float64(total))
	}
	return p
}

type proxyKey struct{}

// WithProxy returns a context whose heartbeats name the upstream proxy the
// attempt uses (workflows.Progress.Proxy), so the next attempt can tell.
func WithProxy(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, proxyKey{}, name)
}

// Record records p, stamped with the context's proxy.
func Record(ctx context.Context, p workflows.Progress) {
	if name, ok := ctx.Value(proxyKey{}).(string); ok && p.Proxy == "" {
		p.Proxy = name
	}
	activity.RecordHeartbeat(ctx, p)
}

// Final records a finished transfer's progress (what a retried download
// resumes from, the 100% the API shows while the activity ends) when the
// transfer lasted Interval or more. A shorter one had no heartbeat due and
// its result follows at once: a heartbeat would cost the server a write for
// nothing, twice per tiny job.
func Final(ctx context.Context, started time.Time, p workflows.Progress) {
	if time.Since(started) >= Interval && activity.IsActivity(ctx) {
		Record(ctx, p)
	}
}

// Every records the progress fn reports at each tick until the returned
// stop is called. The SDK throttles what reaches the server. Outside an
// activity (a library's own tests, a tool) there is nobody to tell: it
// records nothing, where the SDK would panic.
func Every(ctx context.Context, every time.Duration, fn func() workflows.Progress) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				Record(ctx, fn())
			case <-done:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() { close(done); <-finished }
}
