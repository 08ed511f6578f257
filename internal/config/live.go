package config

import (
	"fmt"
	"time"

	"github.com/riptide-dev/riptide/workflows"
)

// liveMargin is what a live recording leaves of the download activity's
// timeout after its wait and its cap: the segments in flight, the probe
// of the file, the heartbeat that reports the end.
const liveMargin = 10 * time.Minute

// checkLive keeps a live recording inside the download activity's
// timeout: a recording the timeout cut off would fail and start over.
func (w Worker) checkLive() error {
	if w.LiveMaxDuration < time.Second || w.LiveMaxWait < 0 {
		return fmt.Errorf("config: %s_WORKER_LIVE_MAX_DURATION must be at least 1s and %s_WORKER_LIVE_MAX_WAIT 0 or more", Prefix, Prefix)
	}
	if limit := workflows.DownloadTimeout() - liveMargin; w.LiveMaxDuration+w.LiveMaxWait > limit {
		return fmt.Errorf("config: %s_WORKER_LIVE_MAX_DURATION plus %s_WORKER_LIVE_MAX_WAIT must be at most %s (the download activity's %s timeout less %s)",
			Prefix, Prefix, limit, workflows.DownloadTimeout(), liveMargin)
	}
	return nil
}
