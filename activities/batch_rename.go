package activities

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/riptide-dev/riptide/workflows"
)

// RenameEpisodes writes the manifest at ManifestKey to NewKey with the
// given episodes' filenames set: the renames of a paused batch live in its
// manifest, not in its workflow's history. A filename another episode of
// the batch already has is refused for that episode (the two objects would
// overwrite each other); every other rename is applied. It is idempotent:
// a retry reads the same manifest and writes the same object.
func (a *Activities) RenameEpisodes(ctx context.Context, in workflows.RenameEpisodesInput) (*workflows.RenameEpisodesResult, error) {
	if in.NewKey == "" || in.NewKey == in.ManifestKey {
		return nil, permanent(workflows.ErrTypeInvalidInput, "a rename needs a new manifest key")
	}
	m, err := a.loadManifest(ctx, in.ManifestKey)
	if err != nil {
		return nil, err
	}
	// The cached manifest is shared: change a copy.
	next := *m
	next.Episodes = slices.Clone(m.Episodes)
	owner := map[string]int{}
	for i, ep := range next.Episodes {
		if ep.Filename != "" {
			owner[ep.Filename] = i
		}
	}
	res := &workflows.RenameEpisodesResult{ManifestKey: in.NewKey, Errors: []workflows.RenameError{}}
	for _, r := range in.Renames {
		if r.Index < 0 || r.Index >= len(next.Episodes) {
			res.Errors = append(res.Errors, workflows.RenameError{JobID: r.JobID, Error: "not an episode of this batch"})
			continue
		}
		if i, taken := owner[r.Filename]; taken && i != r.Index {
			res.Errors = append(res.Errors, workflows.RenameError{JobID: r.JobID,
				Error: "filename " + r.Filename + " is already another episode's"})
			continue
		}
		if old := next.Episodes[r.Index].Filename; old != "" && owner[old] == r.Index {
			delete(owner, old)
		}
		next.Episodes[r.Index].Filename = r.Filename
		owner[r.Filename] = r.Index
		res.Updated++
	}
	if res.Updated == 0 {
		// Nothing changed: the manifest read so far stays the one to read.
		res.ManifestKey = in.ManifestKey
		return res, nil
	}
	if a.Manifests == nil {
		return nil, permanent(workflows.ErrTypeInvalidInput, "this worker has no manifest store")
	}
	body, err := json.Marshal(&next)
	if err != nil {
		return nil, permanent(workflows.ErrTypeInvalidInput, "encoding manifest: %v", err)
	}
	if err := a.Manifests.PutObject(ctx, in.NewKey, body, "application/json"); err != nil {
		return nil, technical(err, "storing manifest: %v", err)
	}
	a.manifests().put(in.NewKey, &next)
	return res, nil
}
