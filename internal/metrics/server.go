package metrics

import (
	"context"
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

// Listen starts serving m at http://addr/metrics.
func (m *Metrics) Listen(addr string) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.HTTPHandler())
	s := &Server{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, addr: l.Addr().String()}
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.addr }

// Shutdown stops the server, letting a running scrape finish.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }
