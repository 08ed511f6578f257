package activities

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/riptide-dev/riptide/internal/httpget"
	"github.com/riptide-dev/riptide/workflows"
)

func TestTenantQuotaRefusesTheDownload(t *testing.T) {
	spent := workflows.Tenancy{Tenant: "a", Limits: &workflows.TenantLimits{StorageBytes: 100, StorageUsedBytes: 100}}
	err := checkTenantQuota(spent)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || !app.NonRetryable() || app.Type() != workflows.ErrTypeQuotaExceeded ||
		!strings.HasPrefix(app.Message(), "Storage quota exceeded") {
		t.Fatalf("err = %v", err)
	}
	for _, ok := range []workflows.Tenancy{{}, {Limits: &workflows.TenantLimits{StorageBytes: 100, StorageUsedBytes: 99}},
		{Limits: &workflows.TenantLimits{MaxFileSizeBytes: 1}}} {
		if err := checkTenantQuota(ok); err != nil {
			t.Errorf("%+v: %v", ok.Limits, err)
		}
	}
}

func TestTenantCapBoundsTheDownload(t *testing.T) {
	a := &Activities{MaxJobBytes: 1000}
	ctx := context.Background()
	if got := a.jobByteCap(ctx); got != 1000 {
		t.Fatalf("worker cap %d", got)
	}
	// The lesser of the worker's cap and the file size limit; the quota
	// refuses a start (checkTenantQuota), it caps nothing.
	for _, tc := range []struct {
		l    workflows.TenantLimits
		want int64
	}{
		{workflows.TenantLimits{MaxFileSizeBytes: 400}, 400},
		{workflows.TenantLimits{MaxFileSizeBytes: 4000}, 1000},
		{workflows.TenantLimits{MaxFileSizeBytes: 400, StorageBytes: 500, StorageUsedBytes: 200}, 400},
		{workflows.TenantLimits{StorageBytes: 500, StorageUsedBytes: 600}, 1000},
	} {
		tctx := withTenantCap(ctx, workflows.Tenancy{Limits: &tc.l})
		if got := a.jobByteCap(tctx); got != tc.want {
			t.Errorf("%+v: cap %d, want %d", tc.l, got, tc.want)
		}
	}
	tctx := withTenantCap(ctx, workflows.Tenancy{Limits: &workflows.TenantLimits{MaxFileSizeBytes: 400}})
	err := tenantCapError(tctx, httpget.TooLarge(400))
	if !strings.Contains(err.Error(), "the tenant's file size limit (400 bytes)") {
		t.Fatalf("err = %v", err)
	}
	// The worker's own cap keeps its words.
	if err := tenantCapError(tctx, httpget.TooLarge(1000)); !strings.Contains(err.Error(), "this worker allows") {
		t.Fatalf("err = %v", err)
	}
}

func TestTenantResolutionLimitIsStrict(t *testing.T) {
	lim := workflows.Tenancy{Limits: &workflows.TenantLimits{MaxResolution: 720}}
	for _, tc := range []struct {
		res  workflows.DownloadResult
		fail bool
	}{
		{workflows.DownloadResult{Streams: &workflows.Streams{Width: 1280, Height: 720}}, false},
		{workflows.DownloadResult{Streams: &workflows.Streams{Width: 1080, Height: 1920}}, true},
		{workflows.DownloadResult{Media: &workflows.MediaInfo{Streams: workflows.Streams{Width: 1920, Height: 1080}}}, true},
		{workflows.DownloadResult{}, false}, // audio, or unknown
	} {
		err := checkTenantResolution(lim, &tc.res)
		if (err != nil) != tc.fail {
			t.Errorf("%+v: err %v", tc.res, err)
		}
		if err != nil && !strings.Contains(err.Error(), "resolution limit of 720p") {
			t.Errorf("message: %v", err)
		}
	}
	if err := checkTenantResolution(workflows.Tenancy{}, &workflows.DownloadResult{Streams: &workflows.Streams{Width: 4000, Height: 3000}}); err != nil {
		t.Errorf("no limit: %v", err)
	}
}
