// Command starter starts a riptide job straight on Temporal, without the HTTP
// API; with -wait it draws the job's progress from its status query. It needs
// only the Temporal SDK and riptide's workflows and codec packages: copy it.
// With RIPTIDE_ENCRYPTION_KEYS set (as the worker's) it encrypts the job's
// input and decrypts its state, as the API does.
//
//	RIPTIDE_TEMPORAL_ADDRESS=localhost:7233 go run ./starter -url https://example.com/a.mp4 -wait
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/riptide-dev/riptide/internal/codec"
	"github.com/riptide-dev/riptide/workflows"
)

func main() {
	in := workflows.JobInput{JobID: uuid.NewString()}
	flag.StringVar(&in.URL, "url", "", "media URL to download (required)")
	flag.StringVar(&in.WebhookURL, "webhook-url", "", "URL that receives the job's webhooks")
	flag.StringVar(&in.Folder, "folder", "", "folder (key prefix) in the bucket")
	flag.StringVar(&in.Format, "format", workflows.DefaultFormat, "mp4, mkv, webm, mov or an audio format")
	wait := flag.Bool("wait", false, "show progress until the job ends")
	if flag.Parse(); in.URL == "" {
		flag.Usage()
		os.Exit(2)
	}
	opts := client.Options{HostPort: os.Getenv("RIPTIDE_TEMPORAL_ADDRESS"), Namespace: os.Getenv("RIPTIDE_TEMPORAL_NAMESPACE")}
	var cd *codec.Codec // nil without keys: nothing encrypted
	if env := os.Getenv("RIPTIDE_ENCRYPTION_KEYS"); env != "" {
		keys, err := codec.ParseKeys(strings.Split(env, ","))
		if err == nil {
			cd, err = codec.New(keys)
		}
		if err != nil {
			log.Fatalf("RIPTIDE_ENCRYPTION_KEYS: %v", err)
		}
	}
	codec.Options(&opts, cd)
	c, err := client.Dial(opts)
	if err != nil {
		log.Fatalf("connecting to Temporal: %v", err)
	}
	defer c.Close()
	ctx, queue := context.Background(), cmp.Or(os.Getenv("RIPTIDE_TEMPORAL_TASK_QUEUE"), workflows.DefaultTaskQueue)
	run, err := c.ExecuteWorkflow(ctx, workflows.JobStartOptions(queue, in, time.Now()), workflows.Job, in)
	if err != nil {
		log.Fatalf("starting job: %v", err)
	}
	fmt.Printf("job_id:      %s\nworkflow_id: %s\n", in.JobID, run.GetID())
	done, final := make(chan error, 1), new(workflows.JobState)
	go func() { done <- run.Get(ctx, final) }()
	for tick := time.Tick(500 * time.Millisecond); *wait; {
		select {
		case err := <-done:
			if err != nil {
				log.Fatalf("\njob %s did not complete: %v", in.JobID, err)
			}
			out, _ := json.MarshalIndent(draw(*final), "", "  ")
			fmt.Printf("\n%s\n", out)
			return
		case <-tick:
			var st workflows.JobState
			if v, err := c.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), workflows.StatusQuery); err == nil && v.Get(&st) == nil {
				draw(st)
			}
		}
	}
}

func draw(st workflows.JobState) workflows.JobState { // the progress bar, on stderr
	fmt.Fprintf(os.Stderr, "\r[%-40s] %3d%% %-11s %s", strings.Repeat("#", st.ProgressPercent*40/100), st.ProgressPercent, st.Step, st.Status)
	return st
}
