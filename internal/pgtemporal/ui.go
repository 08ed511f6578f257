package pgtemporal

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// UIBinEnv names the Temporal Web UI server binary (temporalio/ui-server,
// which embeds the built UI).
const UIBinEnv = "RIPTIDE_TEMPORAL_UI_BIN"

// UIOptions configure a Temporal Web UI server.
type UIOptions struct {
	Bin string
	// Dir receives its config.
	Dir string
	// TemporalAddr is the frontend's gRPC host:port.
	TemporalAddr string
	Namespace    string
	Log          io.Writer
}

// UI is a running Temporal Web UI server on 127.0.0.1.
type UI struct {
	url string
	p   *proc
}

// StartUI writes the UI server's config, starts it and waits until it
// serves its settings.
func StartUI(ctx context.Context, o UIOptions) (*UI, error) {
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	port, err := LowPort()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(o.Dir, "config")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		return nil, err
	}
	yaml := fmt.Sprintf("temporalGrpcAddress: %q\nhost: 127.0.0.1\nport: %d\nenableUi: true\n"+
		"defaultNamespace: %q\nrefreshInterval: 1m\ndisableNewsFetch: true\nnotifyOnNewVersion: false\n"+
		"auth:\n  enabled: false\n", o.TemporalAddr, port, o.Namespace)
	if err := os.WriteFile(filepath.Join(conf, "riptide.yaml"), []byte(yaml), 0o644); err != nil {
		return nil, err
	}
	p, err := startProc(o.Bin, []string{"--root", o.Dir, "--config", "config", "--env", "riptide", "start"}, nil, o.Dir, o.Log)
	if err != nil {
		return nil, err
	}
	u := &UI{url: "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), p: p}
	err = waitFor(ctx, p, time.Minute, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.url+"/api/v1/settings", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("settings: %s", res.Status)
		}
		return nil
	})
	if err != nil {
		p.kill()
		return nil, fmt.Errorf("temporal ui on %s: %w", u.url, err)
	}
	return u, nil
}

// URL is the UI's base URL.
func (u *UI) URL() string { return u.url }

// Stop stops the UI server.
func (u *UI) Stop() { u.p.stop(syscall.SIGTERM, 5*time.Second) }
