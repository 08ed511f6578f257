package config

import (
	"strings"
	"testing"
	"time"
)

func TestLiveSettingsStayWithinTheDownloadTimeout(t *testing.T) {
	for _, tt := range []struct {
		dur, wait time.Duration
		ok        bool
	}{
		{4 * time.Hour, time.Hour, true},
		{5*time.Hour + 50*time.Minute, 0, true},
		{5 * time.Hour, time.Hour, false}, // 6 h: the activity's whole timeout
		{0, time.Hour, false},
		{time.Hour, -time.Second, false},
	} {
		err := Worker{LiveMaxDuration: tt.dur, LiveMaxWait: tt.wait}.checkLive()
		if (err == nil) != tt.ok {
			t.Errorf("duration %s wait %s: err %v", tt.dur, tt.wait, err)
		}
		if err != nil && !strings.Contains(err.Error(), "LIVE_MAX") {
			t.Errorf("error names no setting: %v", err)
		}
	}
}
