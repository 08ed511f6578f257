package api

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/config"
	"github.com/riptide-dev/riptide/internal/metrics"
)

// TestMetricsLabelsStayBoundedUnderInventedMethodsAndPaths is the attack
// of issue 13 item 6: 500 keyless requests, each with an invented method
// and a random path (and a few with job ids on real routes), against the
// API as api.New instruments it. The scrape has a small, fixed number of
// series, every method label from the closed set and every route label a
// registered route or "unmatched".
func TestMetricsLabelsStayBoundedUnderInventedMethodsAndPaths(t *testing.T) {
	m, err := metrics.New()
	require.NoError(t, err)
	router := NewRouter(Deps{Keys: []string{testKey}})
	routes := map[string]bool{metrics.UnmatchedRoute: true}
	for _, r := range router.Routes() {
		routes[strings.NewReplacer(":id", "{id}", ":event_id", "{event_id}").Replace(r.Path)] = true
	}
	srv := httptest.NewServer(m.InstrumentHTTP(router))
	defer srv.Close()

	rng := rand.New(rand.NewPCG(13, 6))
	word := func(n int) string {
		const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
		b := make([]byte, n)
		for i := range b {
			b[i] = letters[rng.IntN(len(letters))]
		}
		return string(b)
	}
	for i := range 500 {
		method, path := strings.ToUpper(word(3+rng.IntN(8))), "/"+word(4)+"/"+word(6)
		switch i % 5 {
		case 1:
			method = http.MethodGet // real method, invented path
		case 2:
			path = "/jobs/" + word(12) // invented method, a route's shape
		case 3:
			method, path = http.MethodGet, "/jobs/"+word(12) // a real route, an id of its own
		}
		req, err := http.NewRequest(method, srv.URL+path, nil)
		require.NoError(t, err)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Contains(t, []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusMethodNotAllowed}, resp.StatusCode)
	}

	rec := httptest.NewRecorder()
	m.HTTPHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	series := 0
	for line := range strings.Lines(rec.Body.String()) {
		if !strings.HasPrefix(line, "riptide_http_") {
			continue
		}
		series++
		labels := line[strings.Index(line, "{")+1 : strings.LastIndex(line, "}")]
		for kv := range strings.SplitSeq(labels, ",") {
			k, v, _ := strings.Cut(kv, "=")
			v = strings.Trim(v, `"`)
			switch k {
			case "method":
				require.Contains(t, []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "other"}, v, line)
			case "route":
				require.True(t, routes[v], "route label %q is no registered route: %s", v, line)
			}
		}
	}
	// Requests fell in {GET, other} × {unmatched, /jobs/{id}} × {401}: 4
	// counters and 4 histograms of 14 lines (11 buckets, +Inf, sum,
	// count) each, 60 lines; the unbounded labels made thousands.
	t.Logf("%d riptide_http_* lines after 500 requests", series)
	require.Positive(t, series)
	require.LessOrEqual(t, series, 60)
}

// apiConfig is the configuration the API's server reads its timeouts and
// connection bounds from.
func apiConfig(idle time.Duration, perIP, total int) *config.Config {
	c := &config.Config{}
	c.API.IdleTimeout, c.API.MaxConnsPerIP, c.API.MaxConns = idle, perIP, total
	c.Batch.ListWait = 5 * time.Second
	return c
}

// serveAPI runs the API's own http.Server (newHTTPServer: timeouts and
// connection bounds) on a loopback port.
func serveAPI(t *testing.T, cfg *config.Config) (addr string, l *limitListener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv, wrapped := newHTTPServer(NewRouter(Deps{Keys: []string{testKey}}), ln, cfg)
	go func() { _ = srv.Serve(wrapped) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), wrapped.(*limitListener)
}

// keepAlive opens a connection, makes one keyless request on it (a 401,
// the connection kept alive) and returns it with its reader.
func keepAlive(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	_, err = io.WriteString(c, "GET /jobs HTTP/1.1\r\nHost: riptide\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(c)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.False(t, resp.Close, "the connection is kept alive")
	return c, br
}

// closedByServer reports whether the server closed c: a read ends with
// EOF (or a reset) rather than the test's own deadline.
func closedByServer(t *testing.T, c net.Conn, br *bufio.Reader, within time.Duration) error {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(within)))
	_, err := br.ReadByte()
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
		return nil
	}
	return fmt.Errorf("connection still open: read returned %v", err)
}

// TestIdleKeepAliveConnectionsAreClosed is the attack of item 7: 50
// keyless keep-alive connections, idle after one request, are all closed
// by the server once its idle timeout has passed.
func TestIdleKeepAliveConnectionsAreClosed(t *testing.T) {
	addr, _ := serveAPI(t, apiConfig(300*time.Millisecond, 0, 0))
	type held struct {
		c  net.Conn
		br *bufio.Reader
	}
	var conns []held
	for range 50 {
		c, br := keepAlive(t, addr)
		conns = append(conns, held{c, br})
	}
	for i, h := range conns {
		require.NoError(t, closedByServer(t, h.c, h.br, 10*time.Second), "connection %d", i)
	}
}

// TestConnectionsPerClientAreBounded: with a bound of 3 per address, a
// fourth connection from the same address is closed before it is read,
// the three keep working, and once one closes a new one is served. The
// overall bound refuses the same way.
func TestConnectionsPerClientAreBounded(t *testing.T) {
	addr, l := serveAPI(t, apiConfig(time.Minute, 3, 0))
	var first []net.Conn
	for range 3 {
		c, _ := keepAlive(t, addr)
		first = append(first, c)
	}
	over, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer over.Close()
	_, _ = io.WriteString(over, "GET /jobs HTTP/1.1\r\nHost: riptide\r\n\r\n")
	require.NoError(t, closedByServer(t, over, bufio.NewReader(over), 10*time.Second), "the fourth connection is refused")
	require.Equal(t, 1, l.refusedCount())

	// The three held ones still answer.
	for _, c := range first {
		_, err := io.WriteString(c, "GET /jobs HTTP/1.1\r\nHost: riptide\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	}
	// A place freed is a place given again.
	first[0].Close()
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return false
		}
		defer c.Close()
		_, _ = io.WriteString(c, "GET /jobs HTTP/1.1\r\nHost: riptide\r\n\r\n")
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		return err == nil && resp.StatusCode == http.StatusUnauthorized
	}, 10*time.Second, 50*time.Millisecond)

	// The overall bound.
	addr, l = serveAPI(t, apiConfig(time.Minute, 0, 2))
	keepAlive(t, addr)
	keepAlive(t, addr)
	over2, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer over2.Close()
	require.NoError(t, closedByServer(t, over2, bufio.NewReader(over2), 10*time.Second), "over the overall bound")
	require.Equal(t, 1, l.refusedCount())
}

// TestAPIServerSetsEveryTimeout: the API's http.Server has each timeout,
// the write timeout longer than a batch listing wait.
func TestAPIServerSetsEveryTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	cfg := apiConfig(30*time.Second, 64, 4096)
	cfg.Batch.ListWait = 5 * time.Minute
	srv, _ := newHTTPServer(http.NotFoundHandler(), ln, cfg)
	require.Positive(t, srv.ReadHeaderTimeout)
	require.Positive(t, srv.ReadTimeout)
	require.Greater(t, srv.WriteTimeout, cfg.Batch.ListWait)
	require.Equal(t, 30*time.Second, srv.IdleTimeout)
}
