package heartbeat

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riptide-dev/riptide/workflows"
)

// TestOutsideAnActivityNothingIsRecorded: a transfer run outside an
// activity (a library's own tests, on a loaded machine, outlasted the
// heartbeat interval) made the SDK panic.
func TestOutsideAnActivityNothingIsRecorded(t *testing.T) {
	var calls atomic.Int32
	stop := Every(context.Background(), time.Millisecond, func() workflows.Progress {
		calls.Add(1)
		return workflows.Progress{}
	})
	time.Sleep(20 * time.Millisecond)
	stop()
	if n := calls.Load(); n != 0 {
		t.Fatalf("progress asked %d times outside an activity", n)
	}
	Final(context.Background(), time.Now().Add(-time.Hour), workflows.Progress{}) // must not panic
}
