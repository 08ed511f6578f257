package metrics

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"time"
)

// Server serves /metrics on its own listener, apart from the API's routes
// and API key, as Prometheus scrapes expect.
type Server struct {
	srv  *http.Server
	addr string
}

// Timeouts of the metrics server. A scrape is one small request and a
// response of some hundred KiB, written in well under a second; the
// Temporal count behind riptide_jobs_in_flight gives up after 5 s.
const (
	serverReadHeaderTimeout = 5 * time.Second
	serverReadTimeout       = 10 * time.Second
	serverWriteTimeout      = 30 * time.Second
	// serverIdleTimeout outlasts Prometheus's usual 15–60 s scrape
	// interval a little, so a scraper keeps its connection and nobody
	// else does for long.
	serverIdleTimeout = 90 * time.Second
)

// Listen starts serving m at http://addr/metrics. A non-empty token is
// required of every scrape as "Authorization: Bearer <token>" (401
// without it), for listeners bound beyond loopback.
func (m *Metrics) Listen(addr, token string) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", RequireBearer(token, m.HTTPHandler()))
	s := &Server{srv: &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: serverReadHeaderTimeout,
		ReadTimeout:       serverReadTimeout,
		WriteTimeout:      serverWriteTimeout,
		IdleTimeout:       serverIdleTimeout,
	}, addr: l.Addr().String()}
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

// RequireBearer lets through the requests that carry "Authorization:
// Bearer <token>", compared in constant time, and answers the others 401;
// an empty token lets every request through.
func RequireBearer(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := sha256.Sum256([]byte("Bearer " + token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="riptide metrics"`)
			http.Error(w, "metrics need Authorization: Bearer <RIPTIDE_METRICS_TOKEN>", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.addr }

// Shutdown stops the server, letting a running scrape finish.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }
