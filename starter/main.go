// Command starter starts a riptide job straight on Temporal, without the
// HTTP API: copy it to start jobs from your own Go code. Settings come from
// the same RIPTIDE_* variables as the worker (Temporal address, namespace,
// task queue).
//
//	go run ./starter -url https://example.com/video.mp4 -wait
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/google/uuid"
	"github.com/schollz/progressbar/v3"
	"go.temporal.io/sdk/client"

	"github.com/riptide-dev/riptide/internal/app"
	"github.com/riptide-dev/riptide/internal/config"
	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/workflows"
)

func main() {
	in := workflows.JobInput{JobID: uuid.NewString()}
	flag.StringVar(&in.URL, "url", "", "media URL to download (required)")
	flag.StringVar(&in.WebhookURL, "webhook-url", "", "URL that receives the job's webhooks")
	flag.StringVar(&in.Folder, "folder", "", "folder (key prefix) in the bucket")
	flag.BoolVar(&in.EnableProgressWebhook, "progress-webhook", false, "send a webhook at each stage")
	flag.BoolVar(&in.DownloadSubtitles, "subtitles", false, "download subtitles too")
	flag.StringVar(&in.Format, "format", workflows.DefaultFormat, "container: mp4, mkv, webm or mov")
	wait := flag.Bool("wait", false, "show progress until the job ends")
	flag.Parse()
	if in.URL == "" {
		flag.Usage()
		os.Exit(2)
	}

	cfg, err := config.Load()
	if err != nil {
		log.Fatal(err)
	}
	// One client per process: it is heavyweight and safe to share.
	opts, err := app.ClientOptions(cfg.Temporal, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), nil)
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.Dial(opts)
	if err != nil {
		log.Fatalf("connecting to Temporal: %v", err)
	}
	defer c.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// jobs.Start uses the API's options: workflow id "job-<job id>",
	// duplicates rejected, and a Pending state in the memo.
	run, err := jobs.Start(ctx, c, cfg.Temporal.TaskQueue, in)
	if err != nil {
		log.Fatalf("starting job: %v", err)
	}
	fmt.Printf("job_id:      %s\nworkflow_id: %s\n", in.JobID, run.GetID())
	if !*wait {
		return
	}

	v, err := waitForJob(ctx, c, in.JobID)
	if err != nil {
		log.Fatalf("waiting for job: %v", err) // the job itself goes on
	}
	out, _ := json.MarshalIndent(v, "", "  ")
	fmt.Println(string(out))
	if v.Status == workflows.StatusFailed || v.Status == jobs.StatusCancelled {
		c.Close()
		os.Exit(1)
	}
}

// waitForJob polls the job every 500 ms, drawing its step and percentage,
// until it ends.
func waitForJob(ctx context.Context, c client.Client, jobID string) (*jobs.View, error) {
	bar := progressbar.NewOptions(100, progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription(workflows.StepQueued), progressbar.OptionSetWidth(40),
		progressbar.OptionShowDescriptionAtLineEnd(), progressbar.OptionSetPredictTime(false))
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		v, err := jobs.Get(ctx, c, jobID)
		if err != nil {
			return nil, err
		}
		bar.Describe(fmt.Sprintf("%-11s %s", v.Step, v.Status))
		_ = bar.Set(v.ProgressPercent)
		if v.Done() {
			_ = bar.Exit()
			fmt.Fprintln(os.Stderr)
			return v, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}
