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
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riptide-dev/riptide/internal/codec"
	"github.com/riptide-dev/riptide/workflows"
)

// Statuses a batch has besides the workflow's own (resolving, running,
// completed, finished): Temporal's verdict on a batch that did not end by
// itself.
const (
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// StatusProcessing is the hosted service's status of a batch riptide calls
// resolving (reading its episode list) or running.
const StatusProcessing = "processing"

// ReferenceStatus is the hosted service's name of a riptide batch status:
// processing for resolving and running, the others unchanged (completed,
// finished, and riptide's failed and cancelled).
func ReferenceStatus(riptide string) string {
	switch riptide {
	case workflows.BatchResolving, workflows.BatchRunning:
		return StatusProcessing
	}
	return riptide
}

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
	// Status is the hosted service's (processing, completed, finished, and
	// riptide's failed, cancelled); RiptideStatus is riptide's own, which
	// tells resolving from running.
	Status        string `json:"status"`
	RiptideStatus string `json:"riptide_status"`
	// Paused: created paused and not started yet (POST /batch/{id}/start).
	Paused bool `json:"paused"`
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
	// format is the episodes' container (their filenames' extension).
	format string
}

// Format is the container the batch's episodes are written in.
func (v *View) Format() string { return v.format }

// Started is how many episodes have been started (have a job).
func (v *View) Started() int { return v.started }

// Done reports whether the batch has ended.
func (v *View) Done() bool { return v.CompletedAt != nil }

// Start starts the Batch workflow. The workflow ID is derived from the batch
// ID and a closed batch's ID is never reused; a start for a batch that is
// already running returns that run, so a retried start never runs a batch
// twice.
func Start(ctx context.Context, c client.Client, taskQueue string, in workflows.BatchInput) (client.WorkflowRun, error) {
	return c.ExecuteWorkflow(ctx, startOptions(taskQueue, in), workflows.Batch, in)
}

func startOptions(taskQueue string, in workflows.BatchInput) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       workflows.BatchWorkflowID(in.BatchID),
		TaskQueue:                taskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    workflows.TenantSearchAttributes(in.TenantOf()),
		Memo: map[string]any{workflows.BatchMemoKey: workflows.BatchState{
			BatchID: in.BatchID, ShowURL: in.ShowURL, Folder: in.Folder, Status: workflows.BatchResolving,
			UpdatedAt: time.Now().UTC(),
		}},
	}
}

// StartListed starts the batch and waits up to within for its episode list
// with one update-with-start call (the workflow's listed update). It
// returns the batch's view once the list is known or could not be read
// (status failed), or nil when within passed first; the batch is started
// either way. Clusters that refuse update-with-start (servers older than
// 1.24, or with frontend.enableExecuteMultiOperation off) get the batch
// started and then polled every pollEvery instead.
func StartListed(ctx context.Context, c client.Client, taskQueue string, in workflows.BatchInput, within, pollEvery time.Duration) (*View, error) {
	op := c.NewWithStartWorkflowOperation(startOptions(taskQueue, in), workflows.Batch, in)
	wctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	h, err := c.UpdateWithStartWorkflow(wctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateName: workflows.BatchListedUpdate, WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err == nil {
		var st workflows.BatchState
		if err = h.Get(wctx, &st); err == nil {
			return listedView(in.BatchID, st), nil
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if unsupported(err) {
		if _, err := Start(ctx, c, taskQueue, in); err != nil {
			return nil, err
		}
		// The batch runs: a failed read only leaves its list unknown.
		v, err := WaitListed(ctx, c, in.BatchID, within, pollEvery)
		if err != nil || v == nil || (v.TotalEpisodes == nil && v.Status != StatusFailed) {
			return nil, nil
		}
		return v, nil
	}
	// Out of time, or the update failed: the start may or may not have
	// reached the server. Starting again returns the running batch
	// (conflict policy USE_EXISTING), starts it now, or says why it cannot.
	if _, err := Start(ctx, c, taskQueue, in); err != nil && !alreadyStarted(err) {
		return nil, err
	}
	return nil, nil
}

// listedView is the view of a batch as its listed update answered.
func listedView(batchID string, st workflows.BatchState) *View {
	v := &View{ID: batchID, BatchID: batchID, ShowURL: st.ShowURL, Folder: nullable(st.Folder), Status: st.Status,
		Error: nullable(st.Error), WorkflowID: workflows.BatchWorkflowID(batchID), started: st.Started,
		Paused: st.Paused, format: st.Format}
	switch {
	case st.Resolved:
		total := st.Total
		v.TotalEpisodes = &total
	case st.Error != "":
		v.Status = StatusFailed
	}
	v.settle()
	return v
}

// settle turns the riptide status in v.Status into the hosted service's,
// keeping riptide's as RiptideStatus.
func (v *View) settle() {
	v.RiptideStatus = v.Status
	v.Status = ReferenceStatus(v.Status)
}

// unsupported tells an update-with-start the cluster does not offer from
// other failures.
func unsupported(err error) bool {
	var denied *serviceerror.PermissionDenied
	var unimplemented *serviceerror.Unimplemented
	return errors.As(err, &denied) || errors.As(err, &unimplemented)
}

func alreadyStarted(err error) bool {
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	return errors.As(err, &started)
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
		if err := codec.Of(c).FromPayload(p, &st); err != nil {
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
		Paused: st.Paused, format: st.Format,
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
		v.Paused = false
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
	v.settle()
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
