// Command riptide-api serves riptide's HTTP API (README: API).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/riptide-dev/riptide/api"
	"github.com/riptide-dev/riptide/internal/app"
	"github.com/riptide-dev/riptide/internal/config"
	"github.com/riptide-dev/riptide/internal/version"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "-version" {
		fmt.Println(version.String())
		return
	}
	cfg, err := config.Load()
	if err != nil {
		slog.Error("Loading configuration failed", "error", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := app.Exit("API", run(ctx, cfg))
	stop()
	os.Exit(code)
}

func run(ctx context.Context, cfg *config.Config) error {
	if err := api.CheckConfig(cfg); err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, os.Stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	return api.Serve(ctx, a)
}
