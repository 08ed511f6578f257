package retryafter

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	now := time.Date(2026, 1, 19, 6, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":      0,
		"5":     5 * time.Second,
		"0":     0,
		"-3":    0,
		"soon":  0,
		"99999": Max,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
		now.Add(time.Hour).Format(http.TimeFormat):        Max,
	} {
		require.Equal(t, want, Parse(v, now), v)
	}
}
