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
	for _, key := range in.Keys {
		if key == "" || strings.HasPrefix(key, workflows.ManifestPrefix) {
			// Only a job's own objects: never riptide's batch manifests.
			return permanent(workflows.ErrTypeInvalidInput, "refusing to delete %q: not a job's object", key)
		}
		if err := a.Store.Delete(ctx, key); err != nil {
			return technical(err, "deleting %s from S3 failed: %v", key, err)
		}
	}
	return nil
}
