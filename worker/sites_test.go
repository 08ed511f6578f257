package worker

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/activities"
	"github.com/riptide-dev/riptide/internal/cookies"
	"github.com/riptide-dev/riptide/internal/proxypool"
)

func TestSiteMetricsShowJarsAndProxies(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "youtube.com.txt"), []byte(".youtube.com\tTRUE\t/\tTRUE\t1000\tSID\tsecret\n"), 0o600))
	store, err := cookies.Open(cookies.Options{Dir: dir})
	require.NoError(t, err)
	defer store.Close()
	pool, err := proxypool.Parse([]string{"http://u:hunter2@proxy.example:3128"}, nil, time.Hour)
	require.NoError(t, err)
	pool.Pick("youtube.com", "").Fail()
	reg := prometheus.NewRegistry()
	registerSiteMetrics(reg, &activities.Sites{Cookies: store, Proxies: pool})
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var b strings.Builder
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			b.WriteString(mf.GetName() + "{")
			for i, l := range m.GetLabel() {
				if i > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, "%s=%q", l.GetName(), l.GetValue())
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			fmt.Fprintf(&b, "} %g\n", v)
		}
	}
	text := b.String()
	require.Contains(t, text, `riptide_cookie_jar_state{jar="youtube.com",state="expired"} 1`)
	require.Contains(t, text, `riptide_cookie_jar_state{jar="youtube.com",state="ok"} 0`)
	require.Contains(t, text, `riptide_cookie_jar_auth_expiry_timestamp_seconds{jar="youtube.com"} 1000`)
	require.Contains(t, text, `riptide_upstream_proxy_resting{host="proxy.example:3128",proxy="p0"} 1`)
	require.Contains(t, text, `riptide_upstream_proxy_failures_total{host="proxy.example:3128",proxy="p0"} 1`)
	require.NotContains(t, text, "hunter2")
	require.NotContains(t, text, "secret")
}
