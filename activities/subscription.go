package activities

import (
	"context"
	"encoding/json"

	"github.com/riptide-dev/riptide/internal/subscriptions"
	"github.com/riptide-dev/riptide/workflows"
	"go.temporal.io/sdk/activity"
)

// PlanSweep lists a subscription's source, compares it with the seen set
// at SeenKey and writes what the sweep's batch reads: the new episodes as
// the batch's manifest (workflows.ManifestKey of the sweep's batch ID) and
// the new seen set (workflows.SeenObjectKey). Both keys are the sweep's
// own and both objects are written by the same attempt, so a retry
// overwrites them consistently; the subscription's current seen set
// (SeenKey) is never rewritten.
func (a *Activities) PlanSweep(ctx context.Context, in workflows.PlanSweepInput) (*workflows.PlanSweepResult, error) {
	if a.Manifests == nil {
		return nil, permanent(workflows.ErrTypeInvalidInput, "this worker has no manifest store")
	}
	bf, err := subscriptions.ParseBackfill(in.Backfill)
	if err != nil {
		return nil, permanent(workflows.ErrTypeInvalidInput, "backfill: %v", err)
	}
	var seen subscriptions.Seen
	if in.SeenKey != "" {
		body, err := a.Manifests.GetObject(ctx, in.SeenKey)
		if err != nil {
			return nil, technical(err, "reading seen set %s: %v", in.SeenKey, err)
		}
		if err := json.Unmarshal(body, &seen); err != nil {
			return nil, permanent(workflows.ErrTypeInvalidInput, "seen set %s is not valid: %v", in.SeenKey, err)
		}
	}
	release, err := a.Listings.acquire(ctx)
	if err != nil {
		return nil, err
	}
	m, err := a.resolve(ctx, in.SourceURL)
	release()
	if err != nil {
		return nil, err
	}
	if len(m.Episodes) > maxEpisodesPerSource {
		return nil, permanent(workflows.ErrTypeInvalidInput, "%s lists %d episodes; at most %d fit in a subscription",
			in.SourceURL, len(m.Episodes), maxEpisodesPerSource)
	}
	plan := subscriptions.Make(m.Episodes, seen, subscriptions.Options{
		SubscriptionID: in.SubscriptionID, First: in.First, Backfill: bf, Redownload: in.Redownload, Filename: in.Filename,
	})
	res := &workflows.PlanSweepResult{Listed: len(m.Episodes), New: len(plan.New), Skipped: plan.Skipped, Source: m.Source}
	if len(plan.New) > 0 {
		body, err := json.Marshal(Manifest{ShowURL: in.SourceURL, Source: m.Source, Episodes: plan.New})
		if err != nil {
			return nil, permanent(workflows.ErrTypeInvalidInput, "encoding manifest: %v", err)
		}
		res.ManifestKey = workflows.ManifestKey(in.BatchID)
		if err := a.Manifests.PutObject(ctx, res.ManifestKey, body, "application/json"); err != nil {
			return nil, technical(err, "storing manifest: %v", err)
		}
	}
	body, digest, err := plan.Seen.Encode()
	if err != nil {
		return nil, permanent(workflows.ErrTypeInvalidInput, "encoding seen set: %v", err)
	}
	res.Seen = workflows.SeenSet{Key: in.SeenKey, Count: plan.Seen.Episodes, Digest: digest}
	if plan.Changed || in.SeenKey == "" {
		res.Seen.Key = workflows.SeenObjectKey(in.SubscriptionID, in.BatchID)
		if err := a.Manifests.PutObject(ctx, res.Seen.Key, body, "application/json"); err != nil {
			return nil, technical(err, "storing seen set: %v", err)
		}
		a.dropSeenSets(ctx, in.SubscriptionID, in.SeenKey, res.Seen.Key)
	}
	return res, nil
}

// seenSetsPerPass bounds the seen sets one sweep deletes (a backlog from
// before this clean-up shrinks by this much a sweep).
const seenSetsPerPass = 1000

// dropSeenSets deletes a subscription's seen sets but current (the one
// the subscription reads until this sweep is planned) and written (this
// sweep's). Each set holds every episode seen, and a sweep that finds a
// new episode writes a whole new one, so kept they would grow a bucket by
// the feed's size every such sweep, forever. The others are older sets
// or those of sweeps that failed before the subscription took them: no
// sweep reads them, since sweeps never overlap (the schedule skips a
// trigger while one runs) and each starts from the subscription's set.
// A failure is only logged: the next sweep tries again.
func (a *Activities) dropSeenSets(ctx context.Context, subscriptionID, current, written string) {
	logger := activity.GetLogger(ctx)
	keys, err := a.Manifests.Keys(ctx, workflows.SeenObjectPrefix(subscriptionID), seenSetsPerPass)
	dropped := 0
	for _, k := range keys {
		if k == current || k == written {
			continue
		}
		if err = a.Manifests.Delete(ctx, k); err != nil {
			break
		}
		dropped++
	}
	if err != nil {
		logger.Warn("Deleting old seen sets failed", "subscription_id", subscriptionID, "deleted", dropped, "error", err)
	} else if dropped > 0 {
		logger.Info("Deleted old seen sets", "subscription_id", subscriptionID, "deleted", dropped)
	}
}
