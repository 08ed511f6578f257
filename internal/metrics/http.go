package metrics

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riptide-dev/riptide/workflows"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// InstrumentHTTP counts and times the API's requests by route and status.
// POST /jobs answered 201 is the number of jobs submitted.
func (m *Metrics) InstrumentHTTP(next http.Handler) http.Handler {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "riptide_http_requests_total",
		Help: "API requests by route and status code.",
	}, []string{"method", "route", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "riptide_http_request_duration_seconds",
		Help:    "API request latency by route.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "route"})
	m.Registry.MustRegister(requests, duration)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		route := routeOf(r.URL.Path)
		requests.WithLabelValues(r.Method, route, strconv.Itoa(sw.code)).Inc()
		duration.WithLabelValues(r.Method, route).Observe(time.Since(start).Seconds())
	})
}

// routeOf maps a path to its route, so job ids do not become labels.
func routeOf(path string) string {
	switch {
	case path == "/jobs" || path == "/healthz":
		return path
	case strings.HasPrefix(path, "/jobs/") && !strings.Contains(path[len("/jobs/"):], "/"):
		return "/jobs/{id}"
	default:
		return "other"
	}
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// jobsInFlightQuery selects the jobs still running, cluster-wide.
const jobsInFlightQuery = "WorkflowType = '" + workflows.JobWorkflowType + "' AND ExecutionStatus = 'Running'"

// RegisterJobsInFlight adds riptide_jobs_in_flight, counted by Temporal's
// visibility store at each scrape: the number is the cluster's, not one
// process's, and needs no state in riptide.
func (m *Metrics) RegisterJobsInFlight(c client.Client, namespace string) {
	m.Registry.MustRegister(&inFlightCollector{c: c, ns: namespace,
		desc: prometheus.NewDesc("riptide_jobs_in_flight", "Job workflows running now, per Temporal's visibility store.", nil, nil)})
}

type inFlightCollector struct {
	c    client.Client
	ns   string
	desc *prometheus.Desc
}

func (i *inFlightCollector) Describe(ch chan<- *prometheus.Desc) { ch <- i.desc }

func (i *inFlightCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := i.c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: i.ns, Query: jobsInFlightQuery})
	if err != nil {
		ch <- prometheus.NewInvalidMetric(i.desc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(i.desc, prometheus.GaugeValue, float64(resp.GetCount()))
}
