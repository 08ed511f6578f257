package workflows

import (
	"slices"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// ChangeEpisodeResults versions how a batch's episodes report their end.
// Before it every episode signalled the batch (EpisodeDoneSignal) and then
// waited for the signal's confirmation: per episode a transfer task, two
// events and one workflow task more in the episode and a signal in the
// batch, on top of the child-completion event Temporal records in the batch
// anyway. Now an episode started by the current run (JobInput.ReportByResult)
// reports by its result, which that run reads from the child's future; only
// when the run is about to continue as new does it tell its running
// episodes (BatchMovedSignal) to report by signal instead, to whichever run
// is current by then. Episodes carried over from earlier runs always
// signal.
//
// The batch asks for the version once per run; the episode asks only when
// its input says ReportByResult, so jobs started through the API and
// episodes of batches started before record no marker.
const ChangeEpisodeResults = "episode-results"

// BatchMovedSignal tells a running episode that the batch run that started
// it is continuing as new: it reports its end by EpisodeDoneSignal instead
// of by its result. No payload.
const BatchMovedSignal = "batch-moved"

// resultsVersion settles whether this run's new episodes report by result.
func (b *batch) resultsVersion(ctx workflow.Context) {
	b.byResult = map[string]bool{}
	b.resultsOn = workflow.GetVersion(ctx, ChangeEpisodeResults, workflow.DefaultVersion, 1) == 1
}

// awaitResult counts an episode started by this run from its result. It
// runs once the child's start is confirmed.
func (b *batch) awaitResult(ctx workflow.Context, jobID string, fut workflow.ChildWorkflowFuture) {
	var st JobState
	err := fut.Get(ctx, &st)
	d := EpisodeDone{JobID: jobID, Status: st.Status, Bytes: st.FileSizeBytes}
	switch {
	case temporal.IsCanceledError(err):
		d.Status = StatusCancelled
	case err != nil:
		// Failed, terminated or timed out.
		d.Status = StatusFailed
	case d.Status == "":
		d.Status = StatusFailed
	}
	b.done(d)
}

// handOver tells the running episodes that report by result to report by
// signal from now on, before the run continues as new. One whose signal
// fails has closed already: its result is on its way to this run, which
// waits for it.
func (b *batch) handOver(ctx workflow.Context) {
	var ids []string
	for _, id := range b.running {
		if b.byResult[id] {
			ids = append(ids, id)
		}
	}
	futures := make([]workflow.Future, len(ids))
	for i, id := range ids {
		futures[i] = workflow.SignalExternalWorkflow(ctx, JobWorkflowID(id), "", BatchMovedSignal, nil)
	}
	for i, f := range futures {
		if err := f.Get(ctx, nil); err != nil {
			id := ids[i]
			_ = workflow.Await(ctx, func() bool { return !slices.Contains(b.running, id) })
		}
	}
}

// reportsByResult reports whether a job of this run reports by result (and
// the batch's reconciliation need not count it: its future will).
func (b *batch) reportsByResult(jobID string) bool { return b.byResult[jobID] }
