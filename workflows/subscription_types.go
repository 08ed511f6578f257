package workflows

import (
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
)

// Subscriptions (issue #16): the names, inputs and messages of the
// Subscription entity workflow and its Sweep workflow (subscription.go).

// Workflow types of subscriptions.
const (
	SubscriptionWorkflowType = "Subscription"
	SweepWorkflowType        = "SubscriptionSweep"
)

// Signals, queries and updates of subscriptions.
const (
	// SubscriptionStateQuery returns the subscription's SubscriptionState.
	SubscriptionStateQuery = "subscription-state"
	// SweepBeginSignal (a SweepBegin) asks the subscription for what a
	// sweep needs; it answers with SweepParamsSignal to the sweep.
	SweepBeginSignal  = "sweep-begin"
	SweepParamsSignal = "sweep-params"
	// SweepPlannedSignal (a SweepPlanned) records a sweep's new seen set
	// before the sweep starts a single episode.
	SweepPlannedSignal = "sweep-planned"
	// SweepDoneSignal (a SweepDone) records a sweep's end.
	SweepDoneSignal = "sweep-done"
	// SubscriptionOptionsUpdate replaces the options of episodes started
	// from now on (a SubscriptionOptions); answers the new state.
	SubscriptionOptionsUpdate = "subscription-options"
	// SubscriptionDeleteSignal ends the subscription's workflow.
	SubscriptionDeleteSignal = "subscription-delete"
	// SubscriptionMemoKey holds a subscription's SubscriptionState.
	SubscriptionMemoKey = "subscription"
	// TypeSubscriptionChecked is riptide's event after a sweep, sent only
	// to subscriptions created with notify_empty_sweeps.
	TypeSubscriptionChecked = "subscription_checked"
)

// Backfill values: what the first sweep does with the episodes a source
// already lists.
const (
	BackfillAll  = "all"
	BackfillNone = "none"
)

// SubscriptionScheduleID is the ID of the Temporal Schedule that triggers
// the subscription's sweeps.
func SubscriptionScheduleID(id string) string { return "subscription-" + id }

// SubscriptionWorkflowID is the ID of the subscription's entity workflow.
func SubscriptionWorkflowID(id string) string { return "subscription-" + id + "-state" }

// SweepWorkflowIDPrefix is the workflow ID of the schedule's action; the
// schedule appends "-<trigger time>" to it, so every trigger has its own,
// deterministic sweep ID.
func SweepWorkflowIDPrefix(id string) string { return "subscription-" + id + "-sweep" }

// SweepBatchID is the batch ID of a sweep (its batch_completed event's
// batch_id): a UUID v5 of the sweep's workflow ID, so every run and retry
// of a sweep derives the same one.
func SweepBatchID(sweepWorkflowID string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("riptide:sweep:"+sweepWorkflowID)).String()
}

// SubscriptionEpisodeJobID is the job ID of the episode with the given
// identity: a UUID v5 of the subscription ID and the identity. Whatever
// sweep lists the episode, and however often, it gets this one ID, and a
// job ID is never reused (REJECT_DUPLICATE), so Temporal itself refuses a
// second download. A UUID rather than "sub-<id>-<hash>": object keys carry
// a job ID's first 8 characters, which must differ between episodes.
func SubscriptionEpisodeJobID(subscriptionID, identity string) string {
	ns, err := uuid.Parse(subscriptionID)
	if err != nil {
		ns = uuid.NewSHA1(uuid.NameSpaceURL, []byte("riptide:subscription:"+subscriptionID))
	}
	return uuid.NewSHA1(ns, []byte("episode:"+identity)).String()
}

// SeenObjectKey is where a sweep writes the subscription's seen set.
func SeenObjectKey(subscriptionID, sweepBatchID string) string {
	return SeenObjectPrefix(subscriptionID) + sweepBatchID + ".json"
}

// SeenObjectPrefix is the prefix of every seen set of a subscription.
func SeenObjectPrefix(subscriptionID string) string {
	return SubscriptionPrefix + subscriptionID + "/seen-"
}

// SubscriptionPrefix is where subscriptions keep their seen sets.
const SubscriptionPrefix = "_riptide/subscriptions/"

// SubscriptionOptions are what a subscription gives each episode's job.
type SubscriptionOptions struct {
	WebhookURL            string `json:",omitempty"`
	Folder                string `json:",omitempty"`
	EnableProgressWebhook bool   `json:",omitempty"`
	DownloadSubtitles     bool   `json:",omitempty"`
	Format                string `json:",omitempty"`
	JobOptions
	NotifyEmptySweeps bool `json:",omitempty"`
	// RedownloadChangedEnclosures: a feed item whose GUID was seen but
	// whose enclosure URL is new is downloaded again.
	RedownloadChangedEnclosures bool `json:",omitempty"`
	// Limits are the tenant's as the subscription was created, given to
	// every sweep's episodes.
	Limits *TenantLimits `json:",omitempty"`
	// Storage is where the episodes go (the request's, else the tenant's
	// saved storage, as the subscription was created); nil: the
	// deployment's bucket. The API never shows its credentials.
	Storage *StorageTarget `json:",omitempty"`
}

// SeenSet is the handle of a subscription's seen identities: the set
// itself is an object in the bucket (Key); history keeps its size and
// SHA-256 only.
type SeenSet struct {
	Key    string `json:"key,omitempty"`
	Count  int    `json:"count"`
	Digest string `json:"sha256,omitempty"`
}

// SubscriptionInput is the single input of the Subscription workflow. The
// fields after Every carry its state across continue-as-new.
type SubscriptionInput struct {
	SubscriptionID string
	Tenant         string `json:",omitempty"`
	SourceURL      string
	Options        SubscriptionOptions
	// Backfill: "all", "none", "latest:N" or "since:YYYY-MM-DD".
	Backfill  string
	Every     time.Duration
	CreatedAt time.Time
	// Batch tuning for the sweeps' batches (0: the defaults).
	WindowSize, PageSize int `json:",omitempty"`

	Seen       SeenSet        `json:",omitzero"`
	Backfilled bool           `json:",omitempty"`
	Sweeps     int            `json:",omitempty"`
	Downloaded int            `json:",omitempty"`
	Failed     int            `json:",omitempty"`
	LastCheck  time.Time      `json:",omitzero"`
	LastError  string         `json:",omitempty"`
	Recent     []SweepSummary `json:",omitempty"`
}

// SweepSummary is one sweep as GET /subscriptions/{id} shows it.
type SweepSummary struct {
	SweepID   string    `json:"sweep_id"`
	BatchID   string    `json:"batch_id,omitempty"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	Listed    int       `json:"listed"`
	New       int       `json:"new"`
	Skipped   int       `json:"skipped"`
	Completed int       `json:"completed"`
	Failed    int       `json:"failed"`
	Error     string    `json:"error,omitempty"`
}

// SubscriptionState is a subscription as the API reads it (memo, query).
type SubscriptionState struct {
	SubscriptionID string              `json:"subscription_id"`
	SourceURL      string              `json:"url"`
	Tenant         string              `json:"tenant,omitempty"`
	Backfill       string              `json:"backfill"`
	Every          string              `json:"every"`
	Options        SubscriptionOptions `json:"options"`
	CreatedAt      time.Time           `json:"created_at"`
	Seen           int                 `json:"episodes_seen"`
	SeenDigest     string              `json:"seen_sha256,omitempty"`
	Downloaded     int                 `json:"episodes_downloaded"`
	Failed         int                 `json:"episodes_failed"`
	Sweeps         int                 `json:"sweeps"`
	LastCheck      time.Time           `json:"last_check,omitzero"`
	LastError      string              `json:"last_error,omitempty"`
	Recent         []SweepSummary      `json:"recent_sweeps"`
	Deleted        bool                `json:"deleted,omitempty"`
}

// SweepInput is the schedule action's argument.
type SweepInput struct {
	SubscriptionID string
}

// SweepBegin asks the subscription for a sweep's parameters.
type SweepBegin struct {
	SweepWorkflowID string
}

// SweepParams is the subscription's answer to SweepBegin.
type SweepParams struct {
	SourceURL string
	Tenant    string `json:",omitempty"`
	Options   SubscriptionOptions
	Seen      SeenSet `json:",omitzero"`
	// First: no sweep has planned yet; Backfill applies.
	First                bool
	Backfill             string
	WindowSize, PageSize int `json:",omitempty"`
}

// SweepPlanned reports a sweep's plan; Base is the seen set it read.
type SweepPlanned struct {
	Summary SweepSummary
	Base    string
	Seen    SeenSet
}

// SweepDone reports a sweep's end.
type SweepDone struct {
	Summary SweepSummary
}

// PlanSweepInput asks PlanSweep to list a subscription's source and write
// the sweep's manifest (the new episodes) and the new seen set.
type PlanSweepInput struct {
	SubscriptionID string
	BatchID        string
	SourceURL      string
	SeenKey        string `json:",omitempty"`
	First          bool   `json:",omitempty"`
	Backfill       string `json:",omitempty"`
	Redownload     bool   `json:",omitempty"`
	// Filename, when the subscription asked for one, gets each episode's
	// short job ID as batches do.
	Filename string `json:",omitempty"`
}

// PlanSweepResult is the plan: New episodes in the manifest at
// ManifestKey (none: no manifest), and the seen set to record.
type PlanSweepResult struct {
	ManifestKey string `json:",omitempty"`
	Listed      int
	New         int
	Skipped     int
	Seen        SeenSet
	Source      string `json:",omitempty"`
}

// subscriptionTenantKey is the typed RiptideTenant key the subscription
// workflows set (the tenancy contract's attribute).
var subscriptionTenantKey = temporal.NewSearchAttributeKeyKeyword(SearchAttrTenant)
