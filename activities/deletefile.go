package activities

import (
	"context"
	"strings"

	"github.com/riptide-dev/riptide/workflows"
)

// DeleteObjects deletes a completed job's objects (DELETE /jobs/{id}/file).
// Deleting an object that is already gone succeeds, so a retry after a
// partial failure finishes the job.
func (a *Activities) DeleteObjects(ctx context.Context, in workflows.DeleteObjectsInput) error {
	store, err := a.storeFor(ctx, in.Storage)
	if err != nil {
		return err
	}
	for _, key := range in.Keys {
		if key == "" || strings.HasPrefix(key, workflows.ManifestPrefix) {
			// Only a job's own objects: never riptide's batch manifests.
			return permanent(workflows.ErrTypeInvalidInput, "refusing to delete %q: not a job's object", key)
		}
		if err := store.Delete(ctx, key); err != nil {
			return technical(err, "deleting %s from %s failed: %v", key, providerName(in.Storage), err)
		}
	}
	return nil
}
