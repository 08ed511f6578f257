package activities

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/riptide-dev/riptide/workflows"
	"go.temporal.io/sdk/testsuite"
)

// TestPlanSweepDropsSeenSetsNoOneReads: a sweep that finds new episodes
// writes a new seen set and deletes the subscription's others (older sets,
// a failed sweep's) but the one it read; another subscription's sets and
// the sweep's manifest stay. A sweep that finds nothing new writes and
// deletes nothing.
func TestPlanSweepDropsSeenSetsNoOneReads(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprint(w, testRSS)
	}))
	defer srv.Close()
	const sub, other = "7d9f1a52-0000-4000-8000-000000000001", "7d9f1a52-0000-4000-8000-000000000002"
	store := &manifestMem{}
	ctx := context.Background()
	empty := []byte(`{"identities":[],"episodes":0}`)
	current := workflows.SeenObjectKey(sub, "current")
	older := workflows.SeenObjectKey(sub, "older")
	failed := workflows.SeenObjectKey(sub, "failed-sweep")
	others := workflows.SeenObjectKey(other, "theirs")
	for _, k := range []string{current, older, failed, others} {
		if err := store.PutObject(ctx, k, empty, "application/json"); err != nil {
			t.Fatal(err)
		}
	}
	acts := &Activities{HTTP: http.DefaultClient, Manifests: store, Ytdlp: "/nonexistent/yt-dlp", Listings: NewListings(1)}
	plan := func(batchID, seenKey string) *workflows.PlanSweepResult {
		t.Helper()
		var s testsuite.WorkflowTestSuite
		env := s.NewTestActivityEnvironment()
		env.RegisterActivity(acts)
		v, err := env.ExecuteActivity(acts.PlanSweep, workflows.PlanSweepInput{
			SubscriptionID: sub, BatchID: batchID, SourceURL: srv.URL + "/feed", SeenKey: seenKey, Backfill: "all",
		})
		if err != nil {
			t.Fatal(err)
		}
		var res workflows.PlanSweepResult
		if err := v.Get(&res); err != nil {
			t.Fatal(err)
		}
		return &res
	}

	res := plan("b1", current)
	if res.New == 0 || res.Seen.Key != workflows.SeenObjectKey(sub, "b1") {
		t.Fatalf("the first sweep found %d new episodes and recorded %q", res.New, res.Seen.Key)
	}
	for k, want := range map[string]bool{current: true, res.Seen.Key: true, res.ManifestKey: true, others: true, older: false, failed: false} {
		if store.has(k) != want {
			t.Errorf("after a sweep with new episodes, %s is there: %v, want %v", k, !want, want)
		}
	}

	again := plan("b2", res.Seen.Key)
	if again.New != 0 || again.Seen.Key != res.Seen.Key {
		t.Fatalf("the unchanged feed's sweep found %d new and recorded %q", again.New, again.Seen.Key)
	}
	if !store.has(current) || !store.has(res.Seen.Key) || store.has(workflows.SeenObjectKey(sub, "b2")) {
		t.Errorf("a sweep with nothing new wrote or deleted a seen set")
	}
}
