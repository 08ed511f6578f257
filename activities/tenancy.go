package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/riptide-dev/riptide/internal/httpget"
	"github.com/riptide-dev/riptide/workflows"
)

// A job's tenant limits at download time (workflows.TenantLimits): the
// tenant's storage quota spent refuses the download before it starts (as
// the hosted service's 403 refuses a create: the job that crosses the
// quota completes, the ones after it fail); the tenant's file size limit
// caps the download like the worker's own cap (jobByteCap), failing for
// good with a message that names the tenant's limit. A download that
// fails leaves nothing in the bucket: nothing is uploaded before it ends.

type tenantCapKey struct{}

// tenantCap is the byte cap a job's tenant sets and what it comes from.
type tenantCap struct {
	limit int64
	what  string
}

// tenantCapOf is the cap t's limits set, limit 0 for none.
func tenantCapOf(t workflows.Tenancy) tenantCap {
	l := t.Limits
	if l == nil {
		return tenantCap{}
	}
	if l.MaxFileSizeBytes <= 0 {
		return tenantCap{}
	}
	return tenantCap{l.MaxFileSizeBytes, fmt.Sprintf("the tenant's file size limit (%d bytes)", l.MaxFileSizeBytes)}
}

func withTenantCap(ctx context.Context, t workflows.Tenancy) context.Context {
	if c := tenantCapOf(t); c.limit > 0 {
		return context.WithValue(ctx, tenantCapKey{}, c)
	}
	return ctx
}

// jobByteCap is the most ctx's job may download, 0 for no cap: the
// worker's cap (workerByteCap) or the job's tenant's, whichever is less.
func (a *Activities) jobByteCap(ctx context.Context) int64 {
	n := a.workerByteCap()
	if c, ok := ctx.Value(tenantCapKey{}).(tenantCap); ok && (n <= 0 || c.limit < n) {
		return c.limit
	}
	return n
}

// tenantCapError words a too-large failure caused by the tenant's cap as
// the tenant's, not the worker's.
func tenantCapError(ctx context.Context, err error) error {
	c, ok := ctx.Value(tenantCapKey{}).(tenantCap)
	if !ok {
		return err
	}
	var app, capErr *temporal.ApplicationError
	if errors.As(err, &app) && errors.As(httpget.TooLarge(c.limit), &capErr) && app.Message() == capErr.Message() {
		return permanent(workflows.ErrTypeInvalidInput, "the source is larger than %s", c.what)
	}
	return err
}

// checkTenantResolution fails a download whose video is above the
// tenant's max_resolution: the job's MaxHeight (the limit) picks the
// largest rendition within it, but takes the smallest one when every
// rendition is larger, which a client's own max_resolution allows and a
// tenant's limit does not.
func checkTenantResolution(t workflows.Tenancy, res *workflows.DownloadResult) error {
	if t.Limits == nil || t.Limits.MaxResolution <= 0 {
		return nil
	}
	var s workflows.Streams
	switch {
	case res.Streams != nil:
		s = *res.Streams
	case res.Media != nil:
		s = res.Media.Streams
	}
	if s.Width <= 0 || s.Height <= 0 {
		return nil // no video, or its size is not known
	}
	if short := min(s.Width, s.Height); short > t.Limits.MaxResolution {
		return permanent(workflows.ErrTypeInvalidInput, "the source has no rendition within the tenant's resolution limit of %dp (the smallest is %dx%d)",
			t.Limits.MaxResolution, s.Width, s.Height)
	}
	return nil
}

// checkTenantQuota refuses a download once the tenant's storage quota is
// spent: its stored bytes when the job (or its batch) was created plus
// what the batch's earlier episodes stored.
func checkTenantQuota(t workflows.Tenancy) error {
	l := t.Limits
	if l == nil || l.StorageBytes <= 0 || l.StorageUsedBytes < l.StorageBytes {
		return nil
	}
	return permanent(workflows.ErrTypeQuotaExceeded, "%s: the tenant has used %d of its %d bytes of storage",
		workflows.QuotaExceededMessage, l.StorageUsedBytes, l.StorageBytes)
}
