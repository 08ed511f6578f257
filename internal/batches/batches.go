// Package batches is the client side of the Batch workflow: starting a batch
// and reading its state. Like jobs, it reads everything from Temporal: the
// live state query while the batch runs, its memo otherwise.
package batches

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riptide-dev/riptide/workflows"
)

// Statuses a batch has besides the workflow's own (resolving, running,
// completed, finished): Temporal's verdict on a batch that did not end by
// itself.
const (
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// queryTimeout bounds the live state query; without a worker it cannot be
// answered and the memo is used instead.
const queryTimeout = 3 * time.Second

// ErrNotFound means no batch has the given ID.
var ErrNotFound = errors.New("batch not found")

// View is a batch as GET /batch/{id} returns it.
type View struct {
	ID      string  `json:"id"`
	BatchID string  `json:"batch_id"`
	ShowURL string  `json:"show_url"`
	Folder  *string `json:"folder"`
	Status  string  `json:"status"`
	// TotalEpisodes is null until the episode list is known.
	TotalEpisodes     *int       `json:"total_episodes"`
	CompletedEpisodes int        `json:"completed_episodes"`
	FailedEpisodes    int        `json:"failed_episodes"`
	RunningEpisodes   int        `json:"running_episodes"`
	PendingEpisodes   int        `json:"pending_episodes"`
	Cancelled         bool       `json:"cancelled"`
	Error             *string    `json:"error"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
	CompletedAt       *time.Time `json:"completed_at"`
	WorkflowID        string     `json:"workflow_id"`
	// started is how many episodes have a job workflow; the rest do not
	// exist yet.
	started int
}

// Started is how many episodes have been started (have a job).
func (v *View) Started() int { return v.started }

// Done reports whether the batch has ended.
func (v *View) Done() bool { return v.CompletedAt != nil }

// Start starts the Batch workflow. The workflow ID is derived from the batch
// ID and duplicates are rejected, so a retried start never runs a batch twice.
func Start(ctx context.Context, c client.Client, taskQueue string, in workflows.BatchInput) (client.WorkflowRun, error) {
	return c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    workflows.BatchWorkflowID(in.BatchID),
		TaskQueue:             taskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		Memo: map[string]any{workflows.BatchMemoKey: workflows.BatchState{
			BatchID: in.BatchID, ShowURL: in.ShowURL, Folder: in.Folder, Status: workflows.BatchResolving,
			UpdatedAt: time.Now().UTC(),
		}},
	}, workflows.Batch, in)
}

// Get reads the batch's state: the live query while it runs (falling back
// to the memo when no worker answers), the memo once it ended.
func Get(ctx context.Context, c client.Client, batchID string) (*View, error) {
	wid := workflows.BatchWorkflowID(batchID)
	//lint:ignore SA1019 DescribeWorkflow(...).RawResponse is this same call; fakes mock this method.
	resp, err := c.DescribeWorkflowExecution(ctx, wid, "")
	if err != nil {
		var notFound *serviceerror.NotFound
		if errors.As(err, &notFound) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("describe batch %s: %w", batchID, err)
	}
	info := resp.GetWorkflowExecutionInfo()
	var st workflows.BatchState
	if p, ok := info.GetMemo().GetFields()[workflows.BatchMemoKey]; ok {
		if err := converter.GetDefaultDataConverter().FromPayload(p, &st); err != nil {
			return nil, fmt.Errorf("decode state of batch %s: %w", batchID, err)
		}
	}
	running := info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	if running {
		qctx, cancel := context.WithTimeout(ctx, queryTimeout)
		if v, err := c.QueryWorkflow(qctx, wid, "", workflows.BatchStateQuery); err == nil {
			var live workflows.BatchState
			if v.Get(&live) == nil {
				st = live
			}
		}
		cancel()
	}
	v := &View{
		ID: batchID, BatchID: batchID, ShowURL: st.ShowURL, Folder: nullable(st.Folder), Status: st.Status,
		CompletedEpisodes: st.Completed, FailedEpisodes: st.Failed, RunningEpisodes: st.Running,
		Cancelled: st.Cancelled, Error: nullable(st.Error), CreatedAt: timeOf(info.GetStartTime()),
		UpdatedAt: st.UpdatedAt.UTC(), WorkflowID: wid, started: st.Started,
	}
	if st.Resolved {
		total := st.Total
		v.TotalEpisodes = &total
		v.PendingEpisodes = max(0, st.Total-st.Started)
	}
	if v.Status == "" {
		v.Status = workflows.BatchResolving
	}
	if !running {
		closed := timeOf(info.GetCloseTime())
		v.CompletedAt = &closed
		v.RunningEpisodes = 0
		switch info.GetStatus() {
		case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
			// The memo holds completed or finished.
		case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
			v.Status = StatusCancelled
		case enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
			// Describe without a run ID follows the chain; this is a race
			// with the next run's start: still running.
			v.CompletedAt = nil
		default:
			v.Status = StatusFailed
			if v.Error == nil {
				msg := "the batch workflow " + info.GetStatus().String()
				v.Error = &msg
			}
		}
	}
	if v.UpdatedAt.Before(v.CreatedAt) {
		v.UpdatedAt = v.CreatedAt
	}
	return v, nil
}

// WaitListed polls the batch until its episode list is known or it ended,
// for at most within. It returns the last view read.
func WaitListed(ctx context.Context, c client.Client, batchID string, within, every time.Duration) (*View, error) {
	deadline := time.Now().Add(within)
	for {
		v, err := Get(ctx, c, batchID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if v != nil && (v.TotalEpisodes != nil || v.Done()) {
			return v, nil
		}
		if time.Now().Add(every).After(deadline) {
			return v, nil
		}
		select {
		case <-ctx.Done():
			return v, nil
		case <-time.After(every):
		}
	}
}

// Cancel asks a running batch to cancel its unfinished episodes.
func Cancel(ctx context.Context, c client.Client, batchID string) error {
	err := c.SignalWorkflow(ctx, workflows.BatchWorkflowID(batchID), "", workflows.CancelBatchSignal, nil)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return ErrNotFound
	}
	return err
}

// JobIDs are the job IDs of episodes [from, to) of a batch.
func JobIDs(batchID string, from, to int) []string {
	ids := make([]string, 0, max(0, to-from))
	for i := from; i < to; i++ {
		ids = append(ids, workflows.EpisodeJobID(batchID, i))
	}
	return ids
}

func timeOf(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime().UTC()
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
