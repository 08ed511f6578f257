package app

import (
	"log/slog"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/riptide-dev/riptide/internal/config"
)

// ClientOptions are the options every riptide binary dials Temporal with.
// metrics may be nil.
func ClientOptions(c config.Temporal, logger *slog.Logger, metrics client.MetricsHandler) (client.Options, error) {
	return client.Options{
		HostPort:       c.Address,
		Namespace:      c.Namespace,
		Logger:         sdklog.NewStructuredLogger(logger),
		MetricsHandler: metrics,
	}, nil
}
