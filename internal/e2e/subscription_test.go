//go:build integration

package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/workflows"
)

// subFeed is a feed that changes between sweeps: n items, each with a GUID
// and an enclosure, item i published on day i of January 2026, newest
// first. guids and urls, when set for an item, override its GUID and
// enclosure path.
type subFeed struct {
	*httptest.Server
	n     atomic.Int32
	mu    sync.Mutex
	guid  map[int]string
	path  map[int]string
	clip  []byte
	down  atomic.Bool
	lists atomic.Int32
	// delay slows each episode download (nanoseconds).
	delay atomic.Int64
}

func newSubFeed(t *testing.T, n int) *subFeed {
	clip, err := os.ReadFile(filepath.Join(stack.mediaDir, devstack.SampleMP4))
	require.NoError(t, err)
	f := &subFeed{clip: clip, guid: map[int]string{}, path: map[int]string{}}
	f.n.Store(int32(n))
	f.Server = serve(http.HandlerFunc(f.serveHTTP))
	t.Cleanup(f.Close)
	return f
}

func (f *subFeed) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/feed.xml" {
		if f.down.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		f.lists.Add(1)
		f.mu.Lock()
		defer f.mu.Unlock()
		w.Header().Set("Content-Type", "application/rss+xml")
		var b strings.Builder
		b.WriteString(`<?xml version="1.0"?><rss version="2.0"><channel><title>Sub Show</title>`)
		for i := int(f.n.Load()) - 1; i >= 0; i-- {
			guid, p := fmt.Sprintf("ep-%d", i), fmt.Sprintf("/ep/%d.mp4", i)
			if g, ok := f.guid[i]; ok {
				guid = g
			}
			if q, ok := f.path[i]; ok {
				p = q
			}
			fmt.Fprintf(&b, `<item><title>Sub Episode %d</title><guid isPermaLink="false">%s</guid>`+
				`<pubDate>%s</pubDate><enclosure url="%s" type="video/mp4" length="%d"/></item>`,
				i, guid, time.Date(2026, 1, 1+i, 6, 0, 0, 0, time.UTC).Format(time.RFC1123Z), p, len(f.clip))
		}
		b.WriteString(`</channel></rss>`)
		_, _ = w.Write([]byte(b.String()))
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/ep/") {
		http.NotFound(w, r)
		return
	}
	time.Sleep(time.Duration(f.delay.Load()))
	w.Header().Set("Content-Type", "video/mp4")
	http.ServeContent(w, r, "clip.mp4", time.Time{}, bytes.NewReader(f.clip))
}

// createSub creates a subscription of the feed and returns its ID.
func createSub(t *testing.T, f *subFeed, body map[string]any) string {
	t.Helper()
	body["url"] = f.URL + "/feed.xml"
	status, out := call(t, http.MethodPost, "/subscriptions", body)
	require.Equal(t, http.StatusCreated, status, "%v", out)
	id, _ := out["subscription_id"].(string)
	require.NotEmpty(t, id)
	t.Cleanup(func() { call(t, http.MethodDelete, "/subscriptions/"+id, nil) })
	return id
}

// waitSweeps waits until the subscription has ended n sweeps and none
// runs, and returns its view.
func waitSweeps(t *testing.T, id string, n int) map[string]any {
	t.Helper()
	var got map[string]any
	require.Eventually(t, func() bool {
		status, out := call(t, http.MethodGet, "/subscriptions/"+id, nil)
		if status != http.StatusOK {
			return false
		}
		got = out
		return int(out["sweeps"].(float64)) >= n && out["sweep_running"] == false
	}, 2*time.Minute, 200*time.Millisecond, "subscription %s never reached %d sweeps: %v", id, n, got)
	require.Equal(t, float64(n), got["sweeps"], "%v", got)
	return got
}

func check(t *testing.T, id string) {
	t.Helper()
	status, out := call(t, http.MethodPost, "/subscriptions/"+id+"/check", nil)
	require.Equal(t, http.StatusAccepted, status, "%v", out)
}

func lastSweep(v map[string]any) map[string]any {
	return v["recent_sweeps"].([]any)[0].(map[string]any)
}

// mediaKeys are the media objects under folder.
func mediaKeys(t *testing.T, folder string) []string {
	var keys []string
	for k := range listSizes(t, folder+"/") {
		if strings.HasSuffix(k, ".mp4") {
			keys = append(keys, k)
		}
	}
	return keys
}

// TestSubscriptionSweepsOnlyNewEpisodes: the first sweep (at creation,
// backfill all) downloads the feed's 2 episodes; the feed gains 3 and a
// check downloads exactly those 3 (one batch_completed, batch_id the
// sweep's, show_url the source); an unchanged feed then starts nothing;
// pause and resume reach the schedule; DELETE leaves the objects.
func TestSubscriptionSweepsOnlyNewEpisodes(t *testing.T) {
	requireStack(t)
	t.Parallel()
	f := newSubFeed(t, 2)
	folder := "e2e/sub-" + uuid.NewString()[:8]
	id := createSub(t, f, map[string]any{"folder": folder, "every": "1h", "backfill": "all",
		"webhook_url": stack.hookURL, "notify_empty_sweeps": true})
	require.True(t, subListed(t, id), "GET /subscriptions right after POST lists %s", id)

	v := waitSweeps(t, id, 1)
	require.Equal(t, float64(2), v["episodes_downloaded"], "%v", v)
	require.Equal(t, float64(2), v["episodes_seen"], "%v", v)
	require.Len(t, mediaKeys(t, folder), 2)

	f.n.Store(5)
	check(t, id)
	v = waitSweeps(t, id, 2)
	sw := lastSweep(v)
	require.Equal(t, float64(5), sw["listed"], "%v", sw)
	require.Equal(t, float64(3), sw["new"], "%v", sw)
	require.Equal(t, float64(2), sw["skipped"], "%v", sw)
	require.Equal(t, float64(3), sw["completed"], "%v", sw)
	require.Equal(t, float64(5), v["episodes_downloaded"])
	require.Len(t, mediaKeys(t, folder), 5)
	batchID := sw["batch_id"].(string)
	var completed []delivery
	require.Eventually(t, func() bool {
		completed = stack.hooks.where(func(d delivery) bool {
			return d.Body["type"] == workflows.TypeBatchCompleted && d.Body["batch_id"] == batchID
		})
		return len(completed) > 0
	}, 30*time.Second, 100*time.Millisecond)
	require.Len(t, completed, 1)
	require.Equal(t, f.URL+"/feed.xml", completed[0].Body["show_url"])
	require.Equal(t, float64(3), completed[0].Body["total_episodes"])
	// Each new episode is a normal job of the sweep's batch.
	status, list := call(t, http.MethodGet, "/jobs?batch_id="+batchID, nil)
	require.Equal(t, http.StatusOK, status, "%v", list)

	check(t, id)
	v = waitSweeps(t, id, 3)
	sw = lastSweep(v)
	require.Equal(t, float64(0), sw["new"], "%v", sw)
	require.Equal(t, float64(5), sw["skipped"], "%v", sw)
	require.Nil(t, sw["batch_id"])
	require.Len(t, mediaKeys(t, folder), 5)
	var checked []delivery
	require.Eventually(t, func() bool {
		checked = stack.hooks.where(func(d delivery) bool {
			return d.Body["type"] == workflows.TypeSubscriptionChecked && d.Body["subscription_id"] == id
		})
		return len(checked) == 3
	}, 30*time.Second, 100*time.Millisecond)
	require.Equal(t, float64(0), checked[2].Body["new"])
	require.NotEmpty(t, checked[2].EventID)

	// Seen sets: each sweep with new episodes writes the whole set anew and
	// deletes those no sweep reads. After sweep 2 both its set and sweep
	// 1's (which sweep 2 read) are there; sweep 4 finds one more episode
	// and deletes sweep 1's.
	sets := seenSets(t, id)
	require.Len(t, sets, 2, "%v", sets)
	first := workflows.SeenObjectKey(id, workflows.SweepBatchID(sw2ID(t, v, 2)))
	require.Contains(t, sets, first)
	f.n.Store(6)
	check(t, id)
	v4 := waitSweeps(t, id, 4)
	require.Equal(t, float64(1), lastSweep(v4)["new"], "%v", lastSweep(v4))
	sets = seenSets(t, id)
	require.Len(t, sets, 2, "%v", sets)
	require.NotContains(t, sets, first)
	require.Contains(t, sets, workflows.SeenObjectKey(id, workflows.SweepBatchID(sw2ID(t, v4, 0))))

	// Pause: the schedule is paused and has no next check; resume: it has.
	status, out := call(t, http.MethodPatch, "/subscriptions/"+id, map[string]any{"paused": true})
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.Equal(t, true, out["paused"])
	require.Nil(t, out["next_check"])
	// The list has the schedule's fields too.
	row := subRow(t, id)
	require.NotNil(t, row, "GET /subscriptions lists %s", id)
	require.Equal(t, true, row["paused"], "%v", row)
	require.Nil(t, row["next_check"], "%v", row)
	status, out = call(t, http.MethodPatch, "/subscriptions/"+id, map[string]any{"paused": false, "every": "2h"})
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.Equal(t, false, out["paused"])
	require.NotNil(t, out["next_check"])
	require.Equal(t, "2h0m0s", out["every"])
	row = subRow(t, id)
	require.NotNil(t, row, "GET /subscriptions lists %s", id)
	require.Equal(t, false, row["paused"], "%v", row)
	require.Equal(t, out["next_check"], row["next_check"], "%v", row)
	require.Equal(t, "2h0m0s", row["every"], "%v", row)
	require.Equal(t, workflows.SubscriptionScheduleID(id), row["schedule"].(map[string]any)["schedule_id"], "%v", row)

	recordHistory(t, stack.temporal, "subscription_sweep_new_episodes", sw2ID(t, v, 1), "")
	status, out = call(t, http.MethodDelete, "/subscriptions/"+id, nil)
	require.Equal(t, http.StatusOK, status, "%v", out)
	status, _ = call(t, http.MethodGet, "/subscriptions/"+id, nil)
	require.Equal(t, http.StatusNotFound, status)
	// Read-your-writes: the list right after the DELETE leaves it out too
	// (visibility lags the workflow; DELETE waits for it).
	require.False(t, subListed(t, id), "GET /subscriptions right after DELETE lists %s", id)
	require.Len(t, mediaKeys(t, folder), 6, "deleting a subscription keeps its objects")
	recordHistory(t, stack.temporal, "subscription_deleted", workflows.SubscriptionWorkflowID(id), "")
}

// seenSets are the keys of subscription id's seen sets.
func seenSets(t *testing.T, id string) []string {
	t.Helper()
	var keys []string
	for k := range listSizes(t, workflows.SeenObjectPrefix(id)) {
		keys = append(keys, k)
	}
	return keys
}

// subListed says whether GET /subscriptions lists subscription id.
func subListed(t *testing.T, id string) bool {
	t.Helper()
	return subRow(t, id) != nil
}

// subRow is subscription id's row in GET /subscriptions, nil if it is not
// listed.
func subRow(t *testing.T, id string) map[string]any {
	t.Helper()
	status, out := call(t, http.MethodGet, "/subscriptions?limit=100", nil)
	require.Equal(t, http.StatusOK, status, "%v", out)
	for _, s := range out["subscriptions"].([]any) {
		if s.(map[string]any)["subscription_id"] == id {
			return s.(map[string]any)
		}
	}
	return nil
}

// sw2ID is the sweep ID of the i-th most recent sweep.
func sw2ID(t *testing.T, v map[string]any, i int) string {
	t.Helper()
	return v["recent_sweeps"].([]any)[i].(map[string]any)["sweep_id"].(string)
}

// TestSubscriptionBackfillVariants: none marks the listed episodes seen
// and downloads none (then only what appears later); latest:N downloads
// the N newest; since: the episodes released from that day on.
func TestSubscriptionBackfillVariants(t *testing.T) {
	requireStack(t)
	t.Parallel()
	f := newSubFeed(t, 4) // released 2026-01-01 .. 2026-01-04
	type variant struct {
		backfill string
		want     int
	}
	ids := map[string]string{}
	for _, v := range []variant{{"none", 0}, {"latest:1", 1}, {"since:2026-01-03", 2}} {
		folder := "e2e/sub-bf-" + uuid.NewString()[:8]
		id := createSub(t, f, map[string]any{"folder": folder, "backfill": v.backfill})
		ids[v.backfill] = folder
		got := waitSweeps(t, id, 1)
		require.Equal(t, float64(v.want), got["episodes_downloaded"], "%s: %v", v.backfill, got)
		require.Equal(t, float64(4), got["episodes_seen"], "%s: %v", v.backfill, got)
		require.Len(t, mediaKeys(t, folder), v.want, v.backfill)
		if v.backfill == "latest:1" {
			require.Contains(t, strings.ToLower(mediaKeys(t, folder)[0]), "episode-3", "latest:1 is the newest")
		}
		if v.backfill == "none" {
			// Later episodes are downloaded all the same.
			f.n.Store(5)
			check(t, id)
			got = waitSweeps(t, id, 2)
			require.Equal(t, float64(1), lastSweep(got)["new"], "%v", got)
			require.Len(t, mediaKeys(t, folder), 1)
			f.n.Store(4)
		}
	}
}

// TestSubscriptionFeedEdgeCases: an episode removed from the feed and
// back is not downloaded again; a GUID change with the same enclosure is
// seen; an enclosure change with the same GUID is not downloaded (the
// default); a source that is down fails the sweep visibly, and the next
// sweep works.
func TestSubscriptionFeedEdgeCases(t *testing.T) {
	requireStack(t)
	t.Parallel()
	f := newSubFeed(t, 2)
	folder := "e2e/sub-edge-" + uuid.NewString()[:8]
	id := createSub(t, f, map[string]any{"folder": folder})
	waitSweeps(t, id, 1)
	require.Len(t, mediaKeys(t, folder), 2)

	f.n.Store(1) // episode 1 removed
	check(t, id)
	waitSweeps(t, id, 2)
	f.mu.Lock()
	f.guid[0] = "renamed-guid-0"  // same enclosure, new GUID
	f.path[1] = "/ep/1-moved.mp4" // same GUID, new enclosure
	f.mu.Unlock()
	f.n.Store(2) // episode 1 is back
	check(t, id)
	v := waitSweeps(t, id, 3)
	require.Equal(t, float64(0), lastSweep(v)["new"], "%v", v)
	require.Len(t, mediaKeys(t, folder), 2)

	f.down.Store(true)
	check(t, id)
	v = waitSweeps(t, id, 4)
	require.Contains(t, v["last_error"], "503", "%v", v)
	require.Contains(t, lastSweep(v)["error"], "503")
	require.Equal(t, false, v["paused"], "a failed sweep keeps the schedule")
	f.down.Store(false)
	f.n.Store(3)
	check(t, id)
	v = waitSweeps(t, id, 5)
	require.Nil(t, v["last_error"], "%v", v)
	require.Equal(t, float64(1), lastSweep(v)["new"])
	require.Len(t, mediaKeys(t, folder), 3)
}

// where returns the deliveries that match.
func (r *receiver) where(match func(delivery) bool) []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []delivery
	for _, d := range r.got {
		if match(d) {
			out = append(out, d)
		}
	}
	return out
}
