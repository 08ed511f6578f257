package workflows

import (
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riptide-dev/riptide/internal/webhook"
)

// Subscriptions (issue #16).
//
// A subscription is three Temporal things:
//
//   - a Schedule, ID SubscriptionScheduleID, that starts a Sweep every
//     interval (overlap policy SKIP: while a sweep, batch included, runs,
//     further triggers are dropped, so two sweeps of one subscription
//     never run at once). PATCH pauses, resumes or re-times it, DELETE
//     deletes it, POST /subscriptions/{id}/check triggers it now.
//   - the Subscription entity workflow, ID SubscriptionWorkflowID, which
//     holds the options, the handle of the seen set and the counts. It
//     answers each sweep's SweepBegin with SweepParams, records its plan
//     (SweepPlanned) before the sweep starts an episode, and its end
//     (SweepDone). It continues as new every subscriptionRunSweeps
//     sweeps, so its history stays bounded for years of sweeps.
//   - per trigger, a Sweep workflow (ID SweepWorkflowIDPrefix + the
//     trigger time): it asks the subscription for its parameters, lists
//     the source and plans in one activity (PlanSweep: new episodes go
//     to a manifest, the union of old and listed identities to a new seen
//     object), records the plan, and starts the new episodes as a Batch
//     child (batch ID SweepBatchID) that reads that manifest: the window,
//     the continue-as-new, the episode reports and the one
//     batch_completed are the batch's own.
//
// The seen set is stored like a batch manifest: an object in the bucket
// (about 150 bytes an identity: 1.5 MB at 10,000 episodes, read and
// written once per sweep that finds something new), never in history,
// which keeps its key, size and SHA-256 only. An entity workflow holding
// 10,000 identities would carry them in every continue-as-new input and
// every query answer; the object costs one GET a sweep.
//
// Exactly once: an episode's job ID is SubscriptionEpisodeJobID(sub,
// identity) and started with REJECT_DUPLICATE, so a retried sweep, a
// restarted worker or a re-listed episode can never start a second
// download while Temporal keeps the first job; the seen set, recorded
// before any episode starts, keeps it from being planned again after.
func Subscription(ctx workflow.Context, in SubscriptionInput) error {
	if in.SubscriptionID == "" || in.SourceURL == "" {
		return temporal.NewNonRetryableApplicationError("subscription_id and url are required", ErrTypeInvalidInput, nil)
	}
	s := &subscription{in: in, logger: log.With(workflow.GetLogger(ctx), "subscription_id", in.SubscriptionID)}
	if err := workflow.SetQueryHandler(ctx, SubscriptionStateQuery, func() (SubscriptionState, error) {
		return s.state(), nil
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, SubscriptionOptionsUpdate,
		func(ctx workflow.Context, o SubscriptionOptions) (SubscriptionState, error) {
			s.in.Options = o
			s.save(ctx)
			return s.state(), nil
		}, workflow.UpdateHandlerOptions{}); err != nil {
		return err
	}
	begin := workflow.GetSignalChannel(ctx, SweepBeginSignal)
	planned := workflow.GetSignalChannel(ctx, SweepPlannedSignal)
	done := workflow.GetSignalChannel(ctx, SweepDoneSignal)
	del := workflow.GetSignalChannel(ctx, SubscriptionDeleteSignal)
	s.save(ctx)
	for handled := 0; ; handled++ {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(begin, func(c workflow.ReceiveChannel, _ bool) {
			var b SweepBegin
			c.Receive(ctx, &b)
			s.begin(ctx, b)
		})
		sel.AddReceive(planned, func(c workflow.ReceiveChannel, _ bool) {
			var p SweepPlanned
			c.Receive(ctx, &p)
			s.planned(p)
		})
		sel.AddReceive(done, func(c workflow.ReceiveChannel, _ bool) {
			var d SweepDone
			c.Receive(ctx, &d)
			s.done(d)
		})
		sel.AddReceive(del, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			s.deleted = true
		})
		sel.Select(ctx)
		s.save(ctx)
		if s.deleted {
			s.logger.Info("Subscription deleted")
			return nil
		}
		if handled >= subscriptionRunSignals || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
			if begin.Len()+planned.Len()+done.Len()+del.Len() > 0 {
				// Apply what arrived first: a signal left in a channel
				// would be lost with the run.
				continue
			}
			return workflow.NewContinueAsNewError(ctx, Subscription, s.in)
		}
	}
}

// subscriptionRunSignals is how many signals one run of a subscription
// handles before it continues as new: three a sweep, so ~170 sweeps, a
// few thousand events.
const subscriptionRunSignals = 500

// recentSweeps is how many sweeps a subscription's state lists.
const recentSweeps = 10

type subscription struct {
	in      SubscriptionInput
	logger  log.Logger
	deleted bool
}

func (s *subscription) begin(ctx workflow.Context, b SweepBegin) {
	p := SweepParams{
		SourceURL: s.in.SourceURL, Tenant: s.in.Tenant, Options: s.in.Options, Seen: s.in.Seen,
		First: !s.in.Backfilled, Backfill: s.in.Backfill, WindowSize: s.in.WindowSize, PageSize: s.in.PageSize,
	}
	if err := workflow.SignalExternalWorkflow(ctx, b.SweepWorkflowID, "", SweepParamsSignal, p).Get(ctx, nil); err != nil {
		s.logger.Warn("Answering a sweep failed", "sweep_id", b.SweepWorkflowID, "error", err)
	}
}

func (s *subscription) planned(p SweepPlanned) {
	if p.Base != s.in.Seen.Key {
		// Only a sweep running beside another could plan on an older set:
		// the schedule's overlap policy rules that out, and job IDs would
		// still refuse a second download.
		s.logger.Warn("Sweep planned on an older seen set", "sweep_id", p.Summary.SweepID, "base", p.Base, "current", s.in.Seen.Key)
	}
	if p.Seen.Key != "" {
		s.in.Seen = p.Seen
	}
	s.in.Backfilled = true
	s.record(p.Summary)
}

func (s *subscription) done(d SweepDone) {
	s.in.Sweeps++
	s.in.Downloaded += d.Summary.Completed
	s.in.Failed += d.Summary.Failed
	s.in.LastCheck = d.Summary.EndedAt
	s.in.LastError = d.Summary.Error
	s.record(d.Summary)
}

// record puts a sweep's summary in the recent list (replacing the same
// sweep's earlier summary), newest first.
func (s *subscription) record(sum SweepSummary) {
	i := slices.IndexFunc(s.in.Recent, func(r SweepSummary) bool { return r.SweepID == sum.SweepID })
	if i >= 0 {
		s.in.Recent = slices.Delete(s.in.Recent, i, i+1)
	}
	s.in.Recent = append([]SweepSummary{sum}, s.in.Recent...)
	if len(s.in.Recent) > recentSweeps {
		s.in.Recent = s.in.Recent[:recentSweeps]
	}
}

func (s *subscription) state() SubscriptionState {
	return SubscriptionState{
		SubscriptionID: s.in.SubscriptionID, SourceURL: s.in.SourceURL, Tenant: s.in.Tenant, Backfill: s.in.Backfill,
		Every: s.in.Every.String(), Options: s.in.Options, CreatedAt: s.in.CreatedAt,
		Seen: s.in.Seen.Count, SeenDigest: s.in.Seen.Digest, Downloaded: s.in.Downloaded, Failed: s.in.Failed,
		Sweeps: s.in.Sweeps, LastCheck: s.in.LastCheck, LastError: s.in.LastError,
		Recent: append([]SweepSummary{}, s.in.Recent...), Deleted: s.deleted,
	}
}

func (s *subscription) save(ctx workflow.Context) {
	if err := workflow.UpsertMemo(ctx, map[string]any{SubscriptionMemoKey: s.state()}); err != nil {
		s.logger.Error("Saving subscription state to memo failed", "error", err)
	}
}

// planSweepOptions: a source that is down fails the sweep within a
// minute (GET /subscriptions/{id} shows why); the next trigger tries
// again.
var planSweepOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 15 * time.Minute,
	RetryPolicy:         backoff(2*time.Second, 20*time.Second, 3),
}

// sweepParamsWait bounds how long a sweep waits for its subscription's
// answer: the subscription answers at once unless it is gone.
const sweepParamsWait = 5 * time.Minute

// Sweep is one check of a subscription (see Subscription).
func Sweep(ctx workflow.Context, in SweepInput) (*SweepSummary, error) {
	// The sweep's ID is its workflow ID (the schedule's prefix and the
	// trigger time); recorded once, so a replay elsewhere (under another
	// workflow ID) derives the same batch and event IDs.
	var sweepID string
	if err := workflow.SideEffect(ctx, func(ctx workflow.Context) any {
		return workflow.GetInfo(ctx).WorkflowExecution.ID
	}).Get(&sweepID); err != nil {
		return nil, err
	}
	logger := log.With(workflow.GetLogger(ctx), "subscription_id", in.SubscriptionID, "sweep_id", sweepID)
	sum := SweepSummary{SweepID: sweepID, BatchID: SweepBatchID(sweepID), StartedAt: workflow.Now(ctx)}
	state := SubscriptionWorkflowID(in.SubscriptionID)

	paramsCh := workflow.GetSignalChannel(ctx, SweepParamsSignal)
	if err := workflow.SignalExternalWorkflow(ctx, state, "", SweepBeginSignal, SweepBegin{SweepWorkflowID: sweepID}).Get(ctx, nil); err != nil {
		// The subscription was deleted while this trigger was on its way.
		logger.Info("Subscription is gone; nothing to sweep", "error", err)
		return nil, nil
	}
	var p SweepParams
	ok, _ := paramsCh.ReceiveWithTimeout(ctx, sweepParamsWait, &p)
	if !ok {
		return nil, temporal.NewApplicationError("the subscription did not answer", ErrTypeInvalidInput)
	}
	filename := p.Options.Filename
	plan, err := PlanSweep.Execute(onControl(ctx, planSweepOptions), PlanSweepInput{
		SubscriptionID: in.SubscriptionID, BatchID: sum.BatchID, SourceURL: p.SourceURL, SeenKey: p.Seen.Key,
		First: p.First, Backfill: p.Backfill, Redownload: p.Options.RedownloadChangedEnclosures, Filename: filename,
	})
	if err != nil {
		sum.Error = errorMessage(err)
		sum.BatchID = ""
		sum.EndedAt = workflow.Now(ctx)
		signalState(ctx, logger, state, SweepDoneSignal, SweepDone{Summary: sum})
		notifyChecked(ctx, logger, in.SubscriptionID, p, sum)
		return nil, err
	}
	sum.Listed, sum.New, sum.Skipped = plan.Listed, plan.New, plan.Skipped
	if plan.New == 0 {
		sum.BatchID = ""
	}
	signalState(ctx, logger, state, SweepPlannedSignal, SweepPlanned{Summary: sum, Base: p.Seen.Key, Seen: plan.Seen})

	if plan.New > 0 {
		o := p.Options
		o.Filename = "" // each episode's is in the manifest
		bin := BatchInput{
			BatchID: sum.BatchID, ShowURL: p.SourceURL, WebhookURL: o.WebhookURL, Folder: o.Folder,
			EnableProgressWebhook: o.EnableProgressWebhook, DownloadSubtitles: o.DownloadSubtitles, Format: o.Format,
			JobOptions: o.JobOptions, WindowSize: p.WindowSize, PageSize: p.PageSize,
			ManifestKey: plan.ManifestKey, Total: plan.New, StartedAt: workflow.Now(ctx),
			Tenancy: Tenancy{Tenant: p.Tenant, Limits: o.Limits}, Storage: o.Storage,
		}
		updates := []temporal.SearchAttributeUpdate{BatchIDKey.ValueSet(sum.BatchID)}
		if p.Tenant != "" {
			updates = append(updates, subscriptionTenantKey.ValueSet(p.Tenant))
		}
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            BatchWorkflowID(sum.BatchID),
			ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			TypedSearchAttributes: temporal.NewSearchAttributes(updates...),
			Memo:                  map[string]any{BatchMemoKey: NewBatchState(bin, workflow.Now(ctx))},
		})
		var st BatchState
		if err := workflow.ExecuteChildWorkflow(cctx, Batch, bin).Get(ctx, &st); err != nil {
			sum.Error = errorMessage(err)
		}
		sum.Completed, sum.Failed = st.Completed, st.Failed
	}
	sum.EndedAt = workflow.Now(ctx)
	signalState(ctx, logger, state, SweepDoneSignal, SweepDone{Summary: sum})
	notifyChecked(ctx, logger, in.SubscriptionID, p, sum)
	logger.Info("Sweep ended", "listed", sum.Listed, "new", sum.New, "skipped", sum.Skipped)
	return &sum, nil
}

func signalState(ctx workflow.Context, logger log.Logger, wid, name string, arg any) {
	if err := workflow.SignalExternalWorkflow(ctx, wid, "", name, arg).Get(ctx, nil); err != nil {
		logger.Warn("Reporting to the subscription failed", "signal", name, "error", err)
	}
}

// notifyChecked sends subscription_checked when the subscription asked
// for it (notify_empty_sweeps): after every sweep, empty or not, failed
// or not. Without it the event is never sent: a sweep that found
// episodes announces itself with its batch_completed.
func notifyChecked(ctx workflow.Context, logger log.Logger, subID string, p SweepParams, sum SweepSummary) {
	if !p.Options.NotifyEmptySweeps || p.Options.WebhookURL == "" {
		return
	}
	var events []WebhookEvent
	n := newNotifier(ctx, p.Options.WebhookURL, logger, &events, func(workflow.Context) {})
	n.send(TypeSubscriptionChecked, SweepEventID(sum.SweepID), webhook.SubscriptionChecked{
		Type: TypeSubscriptionChecked, SubscriptionID: subID, SweepID: sum.SweepID, BatchID: nullable(sum.BatchID),
		URL: p.SourceURL, Listed: sum.Listed, New: sum.New, Skipped: sum.Skipped, Error: nullable(sum.Error),
	})
	n.drain(ctx)
}

// SweepEventID is the webhook-id of a sweep's subscription_checked.
func SweepEventID(sweepID string) string {
	return "evt_sweep_" + SweepBatchID(sweepID) + "_" + TypeSubscriptionChecked
}
