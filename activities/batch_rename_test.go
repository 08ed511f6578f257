package activities

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/workflows"
)

// TestRenameEpisodesWritesANewManifest: the renames land in a manifest
// under the new key, which BatchEpisodes then serves; the old one is left
// as it was; a name another episode holds is refused for that episode only.
func TestRenameEpisodesWritesANewManifest(t *testing.T) {
	env, store, acts := resolveEnv(t)
	m := `{"show_url":"x","source":"feed","episodes":[{"url":"http://127.0.0.1/1"},{"url":"http://127.0.0.1/2"},{"url":"http://127.0.0.1/3"}]}`
	require.NoError(t, store.PutObject(context.Background(), "k0", []byte(m), ""))
	rename := func(from, to string, rs ...workflows.IndexedRename) workflows.RenameEpisodesResult {
		t.Helper()
		v, err := env.ExecuteActivity(acts.RenameEpisodes, workflows.RenameEpisodesInput{ManifestKey: from, NewKey: to, Renames: rs})
		require.NoError(t, err)
		var res workflows.RenameEpisodesResult
		require.NoError(t, v.Get(&res))
		return res
	}
	item := func(i int, job, name string) workflows.IndexedRename {
		return workflows.IndexedRename{Index: i, EpisodeRename: workflows.EpisodeRename{JobID: job, Filename: name}}
	}
	res := rename("k0", "k1", item(0, "j0", "intro.mp4"), item(2, "j2", "intro.mp4"), item(7, "j7", "x.mp4"))
	require.Equal(t, "k1", res.ManifestKey)
	require.Equal(t, 1, res.Updated)
	require.Equal(t, []workflows.RenameError{
		{JobID: "j2", Error: "filename intro.mp4 is already another episode's"},
		{JobID: "j7", Error: "not an episode of this batch"},
	}, res.Errors)

	var stored Manifest
	require.NoError(t, json.Unmarshal(store.objs["k1"], &stored))
	require.Equal(t, "intro.mp4", stored.Episodes[0].Filename)
	require.Empty(t, stored.Episodes[2].Filename)
	require.NotContains(t, string(store.objs["k0"]), "intro", "the earlier manifest is never rewritten")

	// Renaming the first episode again frees its old name for another.
	res = rename("k1", "k2", item(0, "j0", "first.mp4"), item(2, "j2", "intro.mp4"))
	require.Equal(t, 2, res.Updated)
	require.Empty(t, res.Errors)
	v, err := env.ExecuteActivity(acts.BatchEpisodes, workflows.BatchEpisodesInput{ManifestKey: "k2", Offset: 0, Limit: 3})
	require.NoError(t, err)
	var page []workflows.Episode
	require.NoError(t, v.Get(&page))
	require.Equal(t, []string{"first.mp4", "", "intro.mp4"}, []string{page[0].Filename, page[1].Filename, page[2].Filename})

	// Nothing applied: no object written, the old key stays current.
	res = rename("k2", "k3", item(9, "j9", "y.mp4"))
	require.Equal(t, "k2", res.ManifestKey)
	require.NotContains(t, store.objs, "k3")

	_, err = env.ExecuteActivity(acts.RenameEpisodes, workflows.RenameEpisodesInput{ManifestKey: "k2", NewKey: "k2"})
	require.Error(t, err, "a rename must not rewrite the manifest it reads")
}
