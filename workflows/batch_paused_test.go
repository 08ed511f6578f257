package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// answer collects what one update answered.
type answer[T any] struct {
	rejected, err error
	done          bool
	v             T
}

func (a *answer[T]) callbacks() *testsuite.TestUpdateCallback {
	return &testsuite.TestUpdateCallback{
		OnReject: func(err error) { a.rejected, a.done = err, true },
		OnAccept: func() {},
		OnComplete: func(v any, err error) {
			a.err, a.done = err, true
			if t, ok := v.(T); ok {
				a.v = t
			}
		},
	}
}

func (be *batchEnv) queryState(t *testing.T) BatchState {
	t.Helper()
	v, err := be.env.QueryWorkflow(BatchStateQuery)
	require.NoError(t, err)
	var st BatchState
	require.NoError(t, v.Get(&st))
	return st
}

// mockRenames applies RenameEpisodes to f.names, as the activity writes
// them into the manifest BatchEpisodes then serves.
func mockRenames(be *batchEnv, f fakeManifest, calls *[]RenameEpisodesInput) {
	be.env.OnActivity(RenameEpisodes.Name(), mock.Anything, mock.Anything).Return(
		func(_ context.Context, in RenameEpisodesInput) (*RenameEpisodesResult, error) {
			*calls = append(*calls, in)
			for _, r := range in.Renames {
				f.names[r.Index] = r.Filename
			}
			return &RenameEpisodesResult{ManifestKey: in.NewKey, Updated: len(in.Renames)}, nil
		})
}

// TestPausedBatchWaitsThenRunsRenamedEpisodes: a paused batch lists its
// episodes and starts none, for a month, with no timer; renames go to the
// manifest; the start runs every episode, the renamed one under its new
// filename; a second start and a rename after the start are refused.
func TestPausedBatchWaitsThenRunsRenamedEpisodes(t *testing.T) {
	f := fakeManifest{n: 3, names: map[int]string{}}
	be := newBatchEnv(t, f)
	var renameCalls []RenameEpisodesInput
	mockRenames(be, f, &renameCalls)
	in := batchInput()
	in.Paused = true

	second := EpisodeJobID(testBatchID, 1)
	var listed updateAnswer
	var paused BatchState
	var rename, badRename, lateRename answer[RenameEpisodesResult]
	var start, again answer[StartBatchResult]
	var downloadsWhilePaused int
	be.env.RegisterDelayedCallback(func() { be.env.UpdateWorkflow(BatchListedUpdate, "listed", listed.callbacks(t)) }, 0)
	be.env.RegisterDelayedCallback(func() {
		paused = be.queryState(t)
		be.env.UpdateWorkflow(RenameEpisodesUpdate, "r1", rename.callbacks(), []EpisodeRename{{JobID: second, Filename: "second.mp4"}})
		be.env.UpdateWorkflow(RenameEpisodesUpdate, "r2", badRename.callbacks(), []EpisodeRename{{JobID: "not-an-episode", Filename: "x.mp4"}})
	}, time.Hour)
	be.env.RegisterDelayedCallback(func() {
		be.mu.Lock()
		downloadsWhilePaused = len(be.downloaded)
		be.mu.Unlock()
		be.env.UpdateWorkflow(StartBatchUpdate, "s1", start.callbacks())
		be.env.UpdateWorkflow(StartBatchUpdate, "s2", again.callbacks())
		be.env.UpdateWorkflow(RenameEpisodesUpdate, "r3", lateRename.callbacks(), []EpisodeRename{{JobID: second, Filename: "late.mp4"}})
	}, 30*24*time.Hour)
	be.env.ExecuteWorkflow(Batch, in)

	require.NoError(t, be.env.GetWorkflowError())
	require.True(t, listed.ok)
	require.Equal(t, BatchPaused, listed.st.Status, "the create answer lists the episodes of a paused batch")
	require.Equal(t, 3, listed.st.Total)
	require.True(t, paused.Paused)
	require.Equal(t, BatchPaused, paused.Status)
	require.Zero(t, paused.Started)

	require.NoError(t, rename.rejected)
	require.NoError(t, rename.err)
	require.Equal(t, 1, rename.v.Updated)
	require.Equal(t, []RenameEpisodesInput{{
		ManifestKey: ManifestKey(testBatchID), NewKey: ManifestRevisionKey(testBatchID, 1),
		Renames: []IndexedRename{{Index: 1, EpisodeRename: EpisodeRename{JobID: second, Filename: "second.mp4"}}},
	}}, renameCalls)
	requireBatchState(t, badRename.rejected, "not an episode of this batch")

	require.Zero(t, downloadsWhilePaused, "no episode starts while paused")
	require.NoError(t, start.rejected)
	require.NoError(t, start.err)
	require.Equal(t, 3, start.v.StartedJobs)
	requireBatchState(t, again.rejected, "not paused")
	requireBatchState(t, lateRename.rejected, "not paused")

	var st BatchState
	require.NoError(t, be.env.GetWorkflowResult(&st))
	require.Equal(t, BatchCompleted, st.Status)
	require.False(t, st.Paused)
	require.Equal(t, 3, st.Completed)
	require.ElementsMatch(t, []string{
		"show/second.mp4",
		ObjectKey("show", "Episode 0", EpisodeJobID(testBatchID, 0), "mp4"),
		ObjectKey("show", "Episode 2", EpisodeJobID(testBatchID, 2), "mp4"),
	}, be.uploaded)
}

func requireBatchState(t *testing.T, err error, contains string) {
	t.Helper()
	require.Error(t, err)
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	require.Equal(t, ErrTypeBatchState, app.Type())
	require.Contains(t, app.Error(), contains)
}

// TestStartOfABatchNotPausedIsRefused: the start and rename updates refuse
// a batch created running, which runs as before.
func TestStartOfABatchNotPausedIsRefused(t *testing.T) {
	be := newBatchEnv(t, fakeManifest{n: 2})
	var start answer[StartBatchResult]
	var rename answer[RenameEpisodesResult]
	be.env.RegisterDelayedCallback(func() {
		be.env.UpdateWorkflow(StartBatchUpdate, "s1", start.callbacks())
		be.env.UpdateWorkflow(RenameEpisodesUpdate, "r1", rename.callbacks(),
			[]EpisodeRename{{JobID: EpisodeJobID(testBatchID, 0), Filename: "a.mp4"}})
	}, 0)
	be.env.ExecuteWorkflow(Batch, batchInput())
	require.NoError(t, be.env.GetWorkflowError())
	require.True(t, start.done)
	requireBatchState(t, start.rejected, "batch is not paused (current status: ")
	requireBatchState(t, rename.rejected, "not paused")
	require.Len(t, be.downloaded, 2)
}

// TestCancelWhilePaused: cancelling a paused batch ends it with every
// episode counted failed and none started; a start afterwards is refused.
func TestCancelWhilePaused(t *testing.T) {
	be := newBatchEnv(t, fakeManifest{n: 4})
	in := batchInput()
	in.Paused = true
	be.env.RegisterDelayedCallback(func() { be.env.SignalWorkflow(CancelBatchSignal, nil) }, 7*24*time.Hour)
	be.env.ExecuteWorkflow(Batch, in)
	require.NoError(t, be.env.GetWorkflowError())
	var st BatchState
	require.NoError(t, be.env.GetWorkflowResult(&st))
	require.True(t, st.Cancelled)
	require.False(t, st.Paused)
	require.Equal(t, BatchFinished, st.Status)
	require.Equal(t, 4, st.Failed)
	require.Empty(t, be.downloaded)
	done := be.ofType("batch_completed")
	require.Len(t, done, 1)
	require.Equal(t, float64(4), done[0]["failed_episodes"])
}

// TestPausedBatchCarriedAcrossContinueAsNew: a run that a paused batch
// continued as new (its list known, renames written, still paused) waits
// again without listing, writes the next manifest revision, and runs from
// the latest manifest once started.
func TestPausedBatchCarriedAcrossContinueAsNew(t *testing.T) {
	var pages []BatchEpisodesInput
	f := fakeManifest{n: 2, names: map[int]string{0: "kept.mp4"}, pages: &pages}
	be := newBatchEnv(t, f)
	var renameCalls []RenameEpisodesInput
	mockRenames(be, f, &renameCalls)
	in := batchInput()
	in.Paused, in.Renames, in.Total = true, 2, 2
	in.ManifestKey = ManifestRevisionKey(testBatchID, 2)
	var rename answer[RenameEpisodesResult]
	var start answer[StartBatchResult]
	var st BatchState
	be.env.RegisterDelayedCallback(func() {
		st = be.queryState(t)
		be.env.UpdateWorkflow(RenameEpisodesUpdate, "r", rename.callbacks(), []EpisodeRename{{JobID: EpisodeJobID(testBatchID, 1), Filename: "two.mp4"}})
	}, time.Hour)
	be.env.RegisterDelayedCallback(func() { be.env.UpdateWorkflow(StartBatchUpdate, "s", start.callbacks()) }, 2*time.Hour)
	be.env.ExecuteWorkflow(Batch, in)
	require.NoError(t, be.env.GetWorkflowError())
	require.Equal(t, BatchPaused, st.Status)
	require.NoError(t, rename.err)
	require.Len(t, renameCalls, 1)
	require.Equal(t, ManifestRevisionKey(testBatchID, 2), renameCalls[0].ManifestKey)
	require.Equal(t, ManifestRevisionKey(testBatchID, 3), renameCalls[0].NewKey)
	require.NoError(t, start.err)
	require.NotEmpty(t, pages)
	require.Equal(t, ManifestRevisionKey(testBatchID, 3), pages[0].ManifestKey, "episodes come from the latest manifest")
	require.ElementsMatch(t, []string{"show/kept.mp4", "show/two.mp4"}, be.uploaded)
}

// TestPausedBatchStartedWhileListing: a start that arrives before the
// episodes are listed answers once they are, with their count, and runs
// them.
func TestPausedBatchStartedWhileListing(t *testing.T) {
	be := newBatchEnv(t, fakeManifest{n: 2})
	in := batchInput()
	in.Paused, in.ShowURL = true, "https://feed.example/slow.rss"
	be.env.OnActivity(ResolveBatch.Name(), mock.Anything, ResolveBatchInput{BatchID: testBatchID, ShowURL: in.ShowURL}).
		After(time.Hour).Return(&ResolveBatchResult{ManifestKey: ManifestKey(testBatchID), Total: 2, Source: "feed"}, nil)
	var start answer[StartBatchResult]
	var listing BatchState
	be.env.RegisterDelayedCallback(func() {
		listing = be.queryState(t)
		be.env.UpdateWorkflow(StartBatchUpdate, "s", start.callbacks())
	}, time.Minute)
	be.env.ExecuteWorkflow(Batch, in)
	require.NoError(t, be.env.GetWorkflowError())
	require.Equal(t, BatchResolving, listing.Status, "the start came while listing")
	require.True(t, start.done)
	require.NoError(t, start.rejected)
	require.NoError(t, start.err)
	require.Equal(t, 2, start.v.StartedJobs)
	var st BatchState
	require.NoError(t, be.env.GetWorkflowResult(&st))
	require.Equal(t, BatchCompleted, st.Status)
	require.Len(t, be.downloaded, 2)
}
