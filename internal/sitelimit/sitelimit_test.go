package sitelimit

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSiteIsTheRegistrableDomain(t *testing.T) {
	for host, want := range map[string]string{
		"www.youtube.com": "youtube.com", "M.YouTube.com.": "youtube.com", "youtu.be": "youtu.be",
		"a.b.example.co.uk": "example.co.uk", "127.0.0.1:8080": "127.0.0.1", "[::1]:80": "::1", "localhost": "localhost",
	} {
		require.Equal(t, want, Site(host), host)
	}
}

func TestStrikesDoubleUpToTheMaximumAndResetOnSuccess(t *testing.T) {
	l := &Limiter{Backoff: time.Minute, MaxBackoff: 5 * time.Minute}
	var got []time.Duration
	for range 5 {
		got = append(got, l.Strike("youtube.com"))
	}
	require.Equal(t, []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute}, got)
	require.Greater(t, l.Cooldown("youtube.com"), 4*time.Minute)
	require.Greater(t, l.Reserve("youtube.com"), 4*time.Minute, "a cooling site makes everyone wait")
	require.Zero(t, l.Reserve("vimeo.com"), "other sites are not slowed")
	l.OK("youtube.com")
	require.Equal(t, time.Minute, l.Strike("youtube.com"))
	var none *Limiter
	require.Zero(t, none.Reserve("x"))
}

func TestBucketSpacesRequests(t *testing.T) {
	l := &Limiter{PerMinute: map[string]float64{"youtube.com": 6}}
	require.Zero(t, l.Reserve("youtube.com"), "a burst of one passes")
	w := l.Reserve("youtube.com")
	require.InDelta(t, 10*time.Second, w, float64(time.Second))
	require.Zero(t, l.Reserve("vimeo.com"), "no budget set for it")
}
