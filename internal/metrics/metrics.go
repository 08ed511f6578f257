// Package metrics exposes riptide's Prometheus metrics: the Temporal SDK's
// own (requests, task latencies, pollers, …) and riptide's job, stage,
// byte and webhook counters, both on one registry served at /metrics.
//
// riptide's worker metrics go through the SDK's metrics handler
// (workflow.GetMetricsHandler / activity.GetMetricsHandler) rather than
// straight to Prometheus: the workflow handler drops what a replay emits
// again, so a job is counted once however often its history is replayed.
// The handler is the SDK's OpenTelemetry one exported to Prometheus;
// go.temporal.io/sdk/contrib/tally has not been released since 2022.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// Names of riptide's metrics as the SDK handler receives them. Prometheus
// sees counters with a _total suffix and timers as <name>_seconds
// histograms.
const (
	JobsStarted        = "riptide_jobs_started"
	JobsFinished       = "riptide_jobs_finished"        // label status
	StageDuration      = "riptide_stage_duration"       // labels stage, outcome
	BytesMoved         = "riptide_bytes_moved"          // label stage
	WebhookDeliveries  = "riptide_webhook_deliveries"   // label outcome
	ActivitiesInFlight = "riptide_activities_in_flight" // label stage
)

// durationBuckets suit both the SDK's sub-second latencies and transfers
// that take an hour.
var durationBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200}

// Metrics is one process's registry and the SDK handler feeding it.
type Metrics struct {
	Registry *prometheus.Registry
	// Handler goes into client.Options.MetricsHandler.
	Handler client.MetricsHandler
}

// New builds a registry with Go runtime and process metrics and an SDK
// metrics handler exporting into it.
func New() (*Metrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Prometheus-style names: counters end in _total, timers in _seconds.
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo(),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes))
	if err != nil {
		return nil, err
	}
	provider := sdkmetric.NewMeterProvider(
		sdkmetric.WithReader(exp),
		sdkmetric.WithView(sdkmetric.NewView(
			sdkmetric.Instrument{Kind: sdkmetric.InstrumentKindHistogram},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: durationBuckets}},
		)),
	)
	handler := temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter: provider.Meter("riptide"),
		// The default panics; a metric must never take a worker down.
		OnError: func(error) {},
		// Prometheus counters, not gauges: rate() and _total names work.
		UseMonotonicCounters: true,
	})
	return &Metrics{Registry: reg, Handler: handler}, nil
}

// HTTPHandler serves the registry in the Prometheus exposition format.
func (m *Metrics) HTTPHandler() http.Handler {
	// ContinueOnError: a Temporal outage must not hide the other metrics.
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry, ErrorHandling: promhttp.ContinueOnError})
}
