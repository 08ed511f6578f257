// Package retryafter reads HTTP Retry-After headers.
package retryafter

import (
	"net/http"
	"strconv"
	"time"
)

// Max caps how long a server's Retry-After can hold riptide back.
const Max = 10 * time.Minute

// Parse reads a Retry-After header: delay seconds or an HTTP date.
// Missing, malformed or past values give 0; large ones are capped at Max.
func Parse(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		d = time.Duration(min(secs, int64(Max/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now).Round(time.Second)
	}
	return max(0, min(d, Max))
}
