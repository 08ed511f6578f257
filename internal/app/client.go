package app

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/riptide-dev/riptide/internal/config"
)

// ClientOptions are the options every riptide binary dials Temporal with:
// address and namespace, TLS or mTLS, an API key, the process's logger and
// metrics handler (nil for none).
func ClientOptions(c config.Temporal, logger *slog.Logger, metrics client.MetricsHandler) (client.Options, error) {
	opts := client.Options{
		HostPort:       c.Address,
		Namespace:      c.Namespace,
		Logger:         sdklog.NewStructuredLogger(logger),
		MetricsHandler: metrics,
	}
	tlsCfg, err := clientTLS(c)
	if err != nil {
		return opts, err
	}
	opts.ConnectionOptions.TLS = tlsCfg
	if c.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(c.APIKey)
	}
	return opts, nil
}

// clientTLS builds the TLS settings, or nil for a plain connection. An API
// key is never sent in the clear, so it turns TLS on.
func clientTLS(c config.Temporal) (*tls.Config, error) {
	if !c.TLS && c.TLSCert == "" && c.TLSKey == "" && c.TLSCA == "" && c.APIKey == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.TLSServerName}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return nil, errors.New("config: set both RIPTIDE_TEMPORAL_TLS_CERT and RIPTIDE_TEMPORAL_TLS_KEY for mTLS, or neither")
	}
	if c.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("config: Temporal client certificate (RIPTIDE_TEMPORAL_TLS_CERT/_KEY): %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if c.TLSCA != "" {
		pem, err := os.ReadFile(c.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("config: RIPTIDE_TEMPORAL_TLS_CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("config: RIPTIDE_TEMPORAL_TLS_CA: no PEM certificate in %s", c.TLSCA)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
