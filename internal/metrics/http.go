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

// InstrumentHTTP counts and times the API's requests by method, route and
// status. POST /jobs answered 201 is the number of jobs submitted.
//
// Every label comes from a closed set, so no client, keyless or not, can
// create series: the method is one of httpMethods or "other", and the
// route is the registered route the router reports with SetRoute (a path
// template such as /jobs/{id}), or "unmatched" for any other path.
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
		slot := &routeSlot{}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), routeKey{}, slot)))
		route := slot.route
		if route == "" {
			route = UnmatchedRoute
		}
		method := MethodLabel(r.Method)
		requests.WithLabelValues(method, route, codeLabel(sw.code)).Inc()
		duration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
	})
}

// UnmatchedRoute is the route label of requests no registered route
// matched.
const UnmatchedRoute = "unmatched"

// httpMethods are the method label's values besides "other".
var httpMethods = map[string]bool{
	http.MethodGet: true, http.MethodPost: true, http.MethodPut: true, http.MethodPatch: true,
	http.MethodDelete: true, http.MethodHead: true, http.MethodOptions: true,
}

// MethodLabel is the method label of a request: its method when a
// standard one the API could serve, else "other".
func MethodLabel(method string) string {
	if httpMethods[method] {
		return method
	}
	return "other"
}

// codeLabel is the code label: the status code, which the API's handlers
// and net/http choose from a small set; anything outside 100–599 is
// "other".
func codeLabel(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code)
}

type routeKey struct{}

// routeSlot receives the route of one request from the router.
type routeSlot struct{ route string }

// SetRoute records, for InstrumentHTTP, the registered route that matched
// the request of ctx: a template in the router's syntax ("/jobs/:id"),
// labelled in OpenAPI's ("/jobs/{id}"). An empty route leaves the request
// "unmatched". Without InstrumentHTTP around the router it does nothing.
func SetRoute(ctx context.Context, route string) {
	slot, ok := ctx.Value(routeKey{}).(*routeSlot)
	if !ok || route == "" {
		return
	}
	parts := strings.Split(route, "/")
	for i, p := range parts {
		if len(p) > 1 && (p[0] == ':' || p[0] == '*') {
			parts[i] = "{" + p[1:] + "}"
		}
	}
	slot.route = strings.Join(parts, "/")
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
