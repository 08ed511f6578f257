package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/sync/errgroup"

	"github.com/riptide-dev/riptide/internal/codec"
	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/internal/subscriptions"
	"github.com/riptide-dev/riptide/workflows"
)

// Subscriptions (issue #16): see workflows/subscription.go for the design.

const (
	defaultSubscriptionEvery = time.Hour
	defaultMinInterval       = 15 * time.Minute
	maxSubscriptionEvery     = 366 * 24 * time.Hour
	defaultSubscriptionPage  = 20
	maxSubscriptionPage      = 100
)

func (s *server) subscriptionRoutes(r *gin.Engine) {
	r.POST("/subscriptions", s.createSubscription)
	r.GET("/subscriptions", s.listSubscriptions)
	r.GET("/subscriptions/:id", s.getSubscription)
	r.PATCH("/subscriptions/:id", s.patchSubscription)
	r.DELETE("/subscriptions/:id", s.deleteSubscription)
	r.POST("/subscriptions/:id/check", s.checkSubscription)
}

// subscriptionFields are the fields a subscription adds to a job's.
type subscriptionFields struct {
	Every                       string `json:"every"`
	Backfill                    string `json:"backfill"`
	NotifyEmptySweeps           bool   `json:"notify_empty_sweeps"`
	RedownloadChangedEnclosures bool   `json:"redownload_changed_enclosures"`
}

// createSubscriptionRequest is the body of POST /subscriptions: the source
// URL, every POST /jobs option (given to each episode), and when to check.
type createSubscriptionRequest struct {
	URL string `json:"url"`
	subscriptionFields
	jobOptionsRequest
}

func (s *server) minInterval() time.Duration {
	if s.SubscriptionMinInterval > 0 {
		return s.SubscriptionMinInterval
	}
	return defaultMinInterval
}

func (s *server) parseEvery(raw string) (time.Duration, *apiError) {
	if raw == "" {
		return max(defaultSubscriptionEvery, s.minInterval()), nil
	}
	d, err := time.ParseDuration(raw)
	if err != nil {
		return 0, fieldError(codeInvalidField, "every", `every must be a duration such as "1h" or "30m"`)
	}
	if d < s.minInterval() || d > maxSubscriptionEvery {
		return 0, fieldError(codeInvalidField, "every", "every must be between %s (this server's minimum) and %s",
			s.minInterval(), maxSubscriptionEvery)
	}
	return d, nil
}

func subscriptionOptions(in workflows.JobInput, f subscriptionFields) workflows.SubscriptionOptions {
	return workflows.SubscriptionOptions{
		WebhookURL: in.WebhookURL, Folder: in.Folder, EnableProgressWebhook: in.EnableProgressWebhook,
		DownloadSubtitles: in.DownloadSubtitles, Format: in.Format, JobOptions: in.JobOptions,
		NotifyEmptySweeps: f.NotifyEmptySweeps, RedownloadChangedEnclosures: f.RedownloadChangedEnclosures,
		Limits: in.Limits, Storage: in.Storage,
	}
}

// createSubscription handles POST /subscriptions: it starts the
// subscription's workflow, then its schedule, whose first sweep runs at
// once (unless created paused) and applies backfill.
func (s *server) createSubscription(c *gin.Context) {
	var req createSubscriptionRequest
	if e := decodeObject(http.MaxBytesReader(c.Writer, c.Request.Body, s.MaxBodyBytes), &req); e != nil {
		abort(c, e)
		return
	}
	paused, e := req.takePaused()
	if e != nil {
		abort(c, e)
		return
	}
	job := createJobRequest{URL: req.URL, jobOptionsRequest: req.jobOptionsRequest}
	in, e := job.validate("url", s.Guard)
	if e != nil {
		abort(c, e)
		return
	}
	if e := s.checkSpotify(in.URL, "url"); e != nil {
		abort(c, e)
		return
	}
	// The tenant's limits and storage, as for POST /jobs: the episodes
	// are the tenant's jobs.
	if e := applyLimits(&in, s.Tenants.Current().Limits(tenantOf(c))); e != nil {
		abort(c, e)
		return
	}
	if l := s.Tenants.Current().Limits(tenantOf(c)); l != (workflows.TenantLimits{}) {
		in.Limits = &l
	}
	if e := s.resolveStorage(c, &in); e != nil {
		abort(c, e)
		return
	}
	every, e := s.parseEvery(req.Every)
	if e != nil {
		abort(c, e)
		return
	}
	if req.Backfill == "" {
		req.Backfill = workflows.BackfillAll
	}
	if _, err := subscriptions.ParseBackfill(req.Backfill); err != nil {
		abort(c, fieldError(codeInvalidField, "backfill", "%s", err.Error()))
		return
	}
	if req.NotifyEmptySweeps && in.WebhookURL == "" {
		abort(c, fieldError(codeInvalidField, "notify_empty_sweeps", "notify_empty_sweeps needs a webhook_url to send subscription_checked to"))
		return
	}
	id := uuid.NewString()
	tenant := tenantOf(c)
	now := time.Now().UTC()
	sin := workflows.SubscriptionInput{
		SubscriptionID: id, Tenant: tenant, SourceURL: in.URL, Options: subscriptionOptions(in, req.subscriptionFields),
		Backfill: req.Backfill, Every: every, CreatedAt: now, WindowSize: s.BatchWindow, PageSize: s.BatchPageSize,
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*temporalTimeout)
	defer cancel()
	tenantSA := temporal.NewSearchAttributes(temporal.NewSearchAttributeKeyKeyword(workflows.SearchAttrTenant).ValueSet(tenant))
	if _, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.SubscriptionWorkflowID(id), TaskQueue: s.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: tenantSA,
		Memo:                  map[string]any{workflows.SubscriptionMemoKey: subscriptionInitialState(sin)},
	}, workflows.SubscriptionWorkflowType, sin); err != nil {
		s.Logger.ErrorContext(ctx, "Starting subscription failed", "subscription_id", id, "error", err)
		abort(c, temporalError(err))
		return
	}
	_, err := s.Temporal.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:   workflows.SubscriptionScheduleID(id),
		Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}},
		Action: &client.ScheduleWorkflowAction{
			ID: workflows.SweepWorkflowIDPrefix(id), Workflow: workflows.SweepWorkflowType,
			Args: []any{workflows.SweepInput{SubscriptionID: id}}, TaskQueue: s.TaskQueue,
			TypedSearchAttributes: tenantSA,
		},
		// A sweep (its batch included) that outlasts the interval makes
		// the next triggers be dropped: never two sweeps at once.
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		// After an outage, one catch-up sweep at most.
		CatchupWindow:         every,
		Paused:                paused,
		TriggerImmediately:    !paused,
		TypedSearchAttributes: tenantSA,
	})
	if err != nil {
		s.Logger.ErrorContext(ctx, "Creating subscription schedule failed", "subscription_id", id, "error", err)
		_ = s.Temporal.TerminateWorkflow(ctx, workflows.SubscriptionWorkflowID(id), "", "its schedule could not be created")
		abort(c, temporalError(err))
		return
	}
	s.Logger.InfoContext(ctx, "Subscription created", "subscription_id", id, "url", in.URL, "every", every)
	if err := s.awaitListed(ctx, id, true); err != nil {
		// Created for good; only the list may miss it for a moment.
		s.Logger.WarnContext(ctx, "A new subscription may be missing from the list for a moment", "subscription_id", id, "error", err)
	}
	c.Header("Location", "/subscriptions/"+id)
	v := subscriptionView(subscriptionInitialState(sin))
	v.Paused = paused
	c.JSON(http.StatusCreated, v)
}

func subscriptionInitialState(in workflows.SubscriptionInput) workflows.SubscriptionState {
	return workflows.SubscriptionState{
		SubscriptionID: in.SubscriptionID, SourceURL: in.SourceURL, Tenant: in.Tenant, Backfill: in.Backfill,
		Every: in.Every.String(), Options: in.Options, CreatedAt: in.CreatedAt,
	}
}

// SubscriptionView is a subscription as the API answers it.
type SubscriptionView struct {
	SubscriptionID              string                   `json:"subscription_id"`
	URL                         string                   `json:"url"`
	Every                       string                   `json:"every"`
	Backfill                    string                   `json:"backfill"`
	Paused                      bool                     `json:"paused"`
	WebhookURL                  *string                  `json:"webhook_url"`
	Folder                      *string                  `json:"folder"`
	Format                      string                   `json:"format,omitempty"`
	NotifyEmptySweeps           bool                     `json:"notify_empty_sweeps"`
	RedownloadChangedEnclosures bool                     `json:"redownload_changed_enclosures"`
	CreatedAt                   time.Time                `json:"created_at"`
	Schedule                    *scheduleView            `json:"schedule,omitempty"`
	LastCheck                   *time.Time               `json:"last_check"`
	NextCheck                   *time.Time               `json:"next_check"`
	EpisodesSeen                int                      `json:"episodes_seen"`
	EpisodesDownloaded          int                      `json:"episodes_downloaded"`
	EpisodesFailed              int                      `json:"episodes_failed"`
	Sweeps                      int                      `json:"sweeps"`
	SweepRunning                bool                     `json:"sweep_running"`
	LastError                   *string                  `json:"last_error"`
	RecentSweeps                []workflows.SweepSummary `json:"recent_sweeps"`
}

type scheduleView struct {
	ScheduleID    string `json:"schedule_id"`
	Every         string `json:"every"`
	OverlapPolicy string `json:"overlap_policy"`
}

func subscriptionView(st workflows.SubscriptionState) SubscriptionView {
	v := SubscriptionView{
		SubscriptionID: st.SubscriptionID, URL: st.SourceURL, Every: st.Every, Backfill: st.Backfill,
		WebhookURL: nullable(st.Options.WebhookURL), Folder: nullable(st.Options.Folder), Format: st.Options.Format,
		NotifyEmptySweeps: st.Options.NotifyEmptySweeps, RedownloadChangedEnclosures: st.Options.RedownloadChangedEnclosures,
		CreatedAt: st.CreatedAt, EpisodesSeen: st.Seen, EpisodesDownloaded: st.Downloaded, EpisodesFailed: st.Failed,
		Sweeps: st.Sweeps, LastError: nullable(st.LastError), RecentSweeps: st.Recent,
	}
	if v.RecentSweeps == nil {
		v.RecentSweeps = []workflows.SweepSummary{}
	}
	if !st.LastCheck.IsZero() {
		t := st.LastCheck
		v.LastCheck = &t
	}
	return v
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// readSubscription reads a subscription's state from its workflow's memo:
// 404 for an unknown ID, a deleted subscription or another tenant's.
func (s *server) readSubscription(ctx context.Context, c *gin.Context) (workflows.SubscriptionState, bool) {
	var st workflows.SubscriptionState
	id, ok := parseJobID(c.Param("id"))
	if !ok {
		abort(c, fieldError(codeInvalidField, "id", "id must be a subscription id (a UUID)"))
		return st, false
	}
	desc, err := s.Temporal.DescribeWorkflow(ctx, workflows.SubscriptionWorkflowID(id), "")
	if _, nf := errors.AsType[*serviceerror.NotFound](err); nf {
		abort(c, newError(http.StatusNotFound, codeNotFound, "no subscription with id %s", id))
		return st, false
	}
	if err != nil {
		abort(c, temporalError(err))
		return st, false
	}
	info := desc.RawResponse.GetWorkflowExecutionInfo()
	if err := s.decodeMemo(info.GetMemo(), workflows.SubscriptionMemoKey, &st); err != nil {
		abort(c, newError(http.StatusInternalServerError, codeInternal, "internal error"))
		return st, false
	}
	if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW ||
		st.Deleted || st.Tenant != tenantOf(c) {
		abort(c, newError(http.StatusNotFound, codeNotFound, "no subscription with id %s", id))
		return st, false
	}
	return st, true
}

// decodeMemo decodes memo field key through the client's converter (the
// payload codec decrypts it).
func (s *server) decodeMemo(m *commonpb.Memo, key string, dst any) error {
	p, ok := m.GetFields()[key]
	if !ok {
		return fmt.Errorf("memo has no %s", key)
	}
	return codec.Of(s.Temporal).FromPayload(p, dst)
}

// withSchedule adds what the schedule says: paused, the interval, the
// next check, whether a sweep runs.
func (s *server) withSchedule(ctx context.Context, v *SubscriptionView) error {
	d, err := s.Temporal.ScheduleClient().GetHandle(ctx, workflows.SubscriptionScheduleID(v.SubscriptionID)).Describe(ctx)
	if err != nil {
		return err
	}
	v.Paused = d.Schedule.State.Paused
	sv := &scheduleView{ScheduleID: workflows.SubscriptionScheduleID(v.SubscriptionID), OverlapPolicy: "skip"}
	if iv := d.Schedule.Spec.Intervals; len(iv) > 0 {
		sv.Every = iv[0].Every.String()
		v.Every = sv.Every
	}
	v.Schedule = sv
	if next := d.Info.NextActionTimes; len(next) > 0 && !v.Paused {
		t := next[0].UTC()
		v.NextCheck = &t
	}
	v.SweepRunning = len(d.Info.RunningWorkflows) > 0
	return nil
}

// getSubscription handles GET /subscriptions/{id}.
func (s *server) getSubscription(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*temporalTimeout)
	defer cancel()
	st, ok := s.readSubscription(ctx, c)
	if !ok {
		return
	}
	v := subscriptionView(st)
	if err := s.withSchedule(ctx, &v); err != nil {
		abort(c, scheduleError(v.SubscriptionID, err))
		return
	}
	c.JSON(http.StatusOK, v)
}

// scheduleError answers a failed schedule call: a schedule that is gone
// is a subscription being deleted, a 404.
func scheduleError(id string, err error) *apiError {
	if _, nf := errors.AsType[*serviceerror.NotFound](err); nf {
		return newError(http.StatusNotFound, codeNotFound, "no subscription with id %s", id)
	}
	return temporalError(err)
}

// listScheduleReads is how many schedules GET /subscriptions describes at
// once.
const listScheduleReads = 8

type subscriptionPage struct {
	Subscriptions []SubscriptionView `json:"subscriptions"`
	NextCursor    *string            `json:"next_cursor"`
}

// listSubscriptions handles GET /subscriptions (?limit=&cursor=): the
// caller's tenant's subscriptions, newest first, each with its schedule's
// fields (paused, next_check) as GET /subscriptions/{id} has them.
func (s *server) listSubscriptions(c *gin.Context) {
	for k := range c.Request.URL.Query() {
		if k != "limit" && k != "cursor" {
			abort(c, fieldError(codeUnknownField, k, "unknown query parameter %s (limit, cursor)", k))
			return
		}
	}
	limit, e := intParam(c, "limit", defaultSubscriptionPage, 1, maxSubscriptionPage)
	if e != nil {
		abort(c, e)
		return
	}
	var token []byte
	if raw, ok := c.GetQuery("cursor"); ok {
		var err error
		if len(raw) > maxCursor {
			err = errors.New("too long")
		} else {
			token, err = jobs.DecodeCursor(raw)
		}
		if err != nil {
			abort(c, fieldError(codeInvalidField, "cursor", "cursor must be a next_cursor this API returned"))
			return
		}
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), temporalTimeout)
	defer cancel()
	q := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running' AND %s = '%s'",
		workflows.SubscriptionWorkflowType, workflows.SearchAttrTenant, strings.ReplaceAll(tenantOf(c), "'", ""))
	resp, err := s.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query: q, PageSize: int32(limit), NextPageToken: token,
	})
	if err != nil {
		if _, bad := errors.AsType[*serviceerror.InvalidArgument](err); bad && token != nil {
			abort(c, fieldError(codeInvalidField, "cursor", "cursor must be a next_cursor this API returned"))
			return
		}
		abort(c, temporalError(err))
		return
	}
	// Each row's schedule is described (a page is at most 100, a few at
	// once): what is paused and when the next check is live only there.
	rows := make([]*SubscriptionView, len(resp.GetExecutions()))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(listScheduleReads)
	for i, info := range resp.GetExecutions() {
		var st workflows.SubscriptionState
		if s.decodeMemo(info.GetMemo(), workflows.SubscriptionMemoKey, &st) != nil || st.Deleted {
			continue
		}
		v := subscriptionView(st)
		g.Go(func() error {
			err := s.withSchedule(gctx, &v)
			if _, nf := errors.AsType[*serviceerror.NotFound](err); nf {
				return nil // being deleted: its schedule is gone already
			}
			if err == nil {
				rows[i] = &v
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		abort(c, temporalError(err))
		return
	}
	page := subscriptionPage{Subscriptions: []SubscriptionView{}}
	for _, v := range rows {
		if v != nil {
			page.Subscriptions = append(page.Subscriptions, *v)
		}
	}
	if t := resp.GetNextPageToken(); len(t) > 0 {
		cur := jobs.EncodeCursor(t)
		page.NextCursor = &cur
	}
	c.JSON(http.StatusOK, page)
}

// patchSubscriptionRequest is the body of PATCH /subscriptions/{id}: each
// field given changes that setting; options, when given, replaces every
// episode option for the episodes of later sweeps (the fields of POST
// /jobs but url).
type patchSubscriptionRequest struct {
	Paused                      *bool            `json:"paused"`
	Every                       *string          `json:"every"`
	NotifyEmptySweeps           *bool            `json:"notify_empty_sweeps"`
	RedownloadChangedEnclosures *bool            `json:"redownload_changed_enclosures"`
	Options                     *json.RawMessage `json:"options"`
}

// patchSubscription handles PATCH /subscriptions/{id}.
func (s *server) patchSubscription(c *gin.Context) {
	var req patchSubscriptionRequest
	if e := decodeObject(http.MaxBytesReader(c.Writer, c.Request.Body, s.MaxBodyBytes), &req); e != nil {
		abort(c, e)
		return
	}
	if req.Paused == nil && req.Every == nil && req.NotifyEmptySweeps == nil && req.RedownloadChangedEnclosures == nil && req.Options == nil {
		abort(c, newError(http.StatusBadRequest, codeMissingField,
			"nothing to change: give paused, every, notify_empty_sweeps, redownload_changed_enclosures or options"))
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*temporalTimeout)
	defer cancel()
	st, ok := s.readSubscription(ctx, c)
	if !ok {
		return
	}
	opts := st.Options
	if req.Options != nil {
		var o jobOptionsRequest
		if e := decodeObject(strings.NewReader(string(*req.Options)), &o); e != nil {
			e.Field = "options" + dotField(e.Field)
			abort(c, e)
			return
		}
		job := createJobRequest{URL: st.SourceURL, jobOptionsRequest: o}
		in, e := job.validate("url", s.Guard)
		if e != nil {
			e.Field = "options" + dotField(e.Field)
			abort(c, e)
			return
		}
		opts = subscriptionOptions(in, subscriptionFields{
			NotifyEmptySweeps: opts.NotifyEmptySweeps, RedownloadChangedEnclosures: opts.RedownloadChangedEnclosures,
		})
	}
	if req.NotifyEmptySweeps != nil {
		opts.NotifyEmptySweeps = *req.NotifyEmptySweeps
	}
	if req.RedownloadChangedEnclosures != nil {
		opts.RedownloadChangedEnclosures = *req.RedownloadChangedEnclosures
	}
	if opts.NotifyEmptySweeps && opts.WebhookURL == "" {
		abort(c, fieldError(codeInvalidField, "notify_empty_sweeps", "notify_empty_sweeps needs a webhook_url to send subscription_checked to"))
		return
	}
	var every time.Duration
	if req.Every != nil {
		var e *apiError
		if every, e = s.parseEvery(*req.Every); e != nil {
			abort(c, e)
			return
		}
	}
	h := s.Temporal.ScheduleClient().GetHandle(ctx, workflows.SubscriptionScheduleID(st.SubscriptionID))
	if every > 0 || req.Paused != nil {
		// One update for both: the scheduler applies its updates in
		// order, and a separate pause would race a stale copy of the
		// schedule's state.
		err := h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			sch := in.Description.Schedule
			if every > 0 {
				sch.Spec = &client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}}
				sch.Policy.CatchupWindow = every
			}
			if req.Paused != nil {
				sch.State.Paused = *req.Paused
				sch.State.Note = "paused by PATCH /subscriptions"
				if !*req.Paused {
					sch.State.Note = "resumed by PATCH /subscriptions"
				}
			}
			return &client.ScheduleUpdate{Schedule: &sch}, nil
		}})
		if err != nil {
			abort(c, scheduleError(st.SubscriptionID, err))
			return
		}
	}
	if req.Options != nil || req.NotifyEmptySweeps != nil || req.RedownloadChangedEnclosures != nil {
		uh, err := s.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: workflows.SubscriptionWorkflowID(st.SubscriptionID), UpdateName: workflows.SubscriptionOptionsUpdate,
			Args: []any{opts}, WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = uh.Get(ctx, &st)
		}
		if err != nil {
			abort(c, temporalError(err))
			return
		}
	}
	v := subscriptionView(st)
	// The scheduler applies an update asynchronously: describe until it
	// shows this one (a few tries), so the answer is the new state.
	for try := 0; ; try++ {
		if err := s.withSchedule(ctx, &v); err != nil {
			abort(c, scheduleError(st.SubscriptionID, err))
			return
		}
		applied := (req.Paused == nil || v.Paused == *req.Paused) && (every == 0 || v.Every == every.String())
		if applied || try >= 20 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.JSON(http.StatusOK, v)
}

func dotField(f string) string {
	if f == "" {
		return ""
	}
	return "." + f
}

// deleteSubscription handles DELETE /subscriptions/{id}: the schedule is
// deleted and the subscription's workflow ends; a sweep still running
// finishes its episodes, and every downloaded object stays.
func (s *server) deleteSubscription(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*temporalTimeout)
	defer cancel()
	st, ok := s.readSubscription(ctx, c)
	if !ok {
		return
	}
	err := s.Temporal.ScheduleClient().GetHandle(ctx, workflows.SubscriptionScheduleID(st.SubscriptionID)).Delete(ctx)
	if _, nf := errors.AsType[*serviceerror.NotFound](err); err != nil && !nf {
		abort(c, temporalError(err))
		return
	}
	if err := s.Temporal.SignalWorkflow(ctx, workflows.SubscriptionWorkflowID(st.SubscriptionID), "", workflows.SubscriptionDeleteSignal, nil); err != nil {
		if _, nf := errors.AsType[*serviceerror.NotFound](err); !nf {
			abort(c, temporalError(err))
			return
		}
	}
	s.awaitSubscriptionGone(ctx, st.SubscriptionID)
	c.JSON(http.StatusOK, gin.H{"subscription_id": st.SubscriptionID, "deleted": true})
}

// listWait bounds how long POST and DELETE wait for the list to show
// their change: the subscription's workflow handles a DELETE only when a
// worker runs it, and with none up the answer should not hang.
const listWait = 5 * time.Second

// awaitSubscriptionGone waits, within ctx, until the subscription's
// workflow has ended and visibility no longer lists it, so a GET
// /subscriptions right after a DELETE leaves it out. The deletion is
// durable once signalled: a wait cut short is only logged.
func (s *server) awaitSubscriptionGone(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(ctx, listWait)
	defer cancel()
	err := s.Temporal.GetWorkflow(ctx, workflows.SubscriptionWorkflowID(id), "").Get(ctx, nil)
	if err == nil {
		err = s.awaitListed(ctx, id, false)
	}
	if err != nil {
		s.Logger.WarnContext(ctx, "A deleted subscription may still be listed for a moment", "subscription_id", id, "error", err)
	}
}

// awaitListed waits, within ctx, until GET /subscriptions's visibility
// query sees subscription id's workflow running (listed) or not. Temporal
// writes visibility asynchronously, after the change itself; waiting here
// gives a client that creates or deletes and then lists its own write.
func (s *server) awaitListed(ctx context.Context, id string, listed bool) error {
	ctx, cancel := context.WithTimeout(ctx, listWait)
	defer cancel()
	q := fmt.Sprintf("WorkflowId = '%s' AND ExecutionStatus = 'Running'", workflows.SubscriptionWorkflowID(id))
	for {
		n, err := s.Temporal.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: q})
		if err != nil {
			return err
		}
		if (n.GetCount() > 0) == listed {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// checkSubscription handles POST /subscriptions/{id}/check: a sweep now
// (dropped, like a scheduled one, while a sweep runs; runs on a paused
// subscription too).
func (s *server) checkSubscription(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*temporalTimeout)
	defer cancel()
	st, ok := s.readSubscription(ctx, c)
	if !ok {
		return
	}
	h := s.Temporal.ScheduleClient().GetHandle(ctx, workflows.SubscriptionScheduleID(st.SubscriptionID))
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP}); err != nil {
		abort(c, scheduleError(st.SubscriptionID, err))
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"subscription_id": st.SubscriptionID, "check_requested": true})
}
