package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/riptide-dev/riptide/workflows"
)

// usage is GET /usage: the caller's tenant's figures (client_name is the
// tenant's id) and the limits of the tenants file (null: none). The
// figures come from the tenant's workflows in visibility: usage_count
// counts its jobs, the storage sums the file sizes in the memo of its
// completed jobs, each once whatever its retries and restarts (one
// workflow, one memo). The billing period is the current calendar month,
// UTC.
type usage struct {
	ClientName           string   `json:"client_name"`
	UsageCount           int64    `json:"usage_count"`
	StorageUsageGB       float64  `json:"storage_usage_gb"`
	StorageLimitGB       *float64 `json:"storage_limit_gb"`
	StorageLimitBytes    *int64   `json:"storage_limit_bytes"`
	StorageRemainingGB   *float64 `json:"storage_remaining_gb"`
	BillingPeriodStart   string   `json:"billing_period_start"`
	BillingPeriodEnd     string   `json:"billing_period_end"`
	CurrentPeriodUsageGB float64  `json:"current_period_usage_gb"`
	MaxResolutionLimit   *string  `json:"max_resolution_limit"`
	MaxDurationLimit     *int64   `json:"max_duration_limit_seconds"`
	// MaxFilesizeLimit is the tenant's max_file_size_bytes; each worker
	// has its own cap besides (RIPTIDE_WORKER_MAX_JOB_BYTES or half its
	// disk), which the API does not know.
	MaxFilesizeLimit *int64 `json:"max_filesize_limit_bytes"`
	// riptide's: the same figures in bytes.
	StorageUsageBytes       int64 `json:"storage_usage_bytes"`
	CurrentPeriodUsageBytes int64 `json:"current_period_usage_bytes"`
}

func (d *dashboard) usage(c *gin.Context) {
	if !noParams(c) {
		return
	}
	sc, agg, ok := d.totals(c)
	if !ok {
		return
	}
	now := d.now().UTC()
	start := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	tenant := tenantOf(c)
	u := usage{
		ClientName:              clientName(tenant),
		UsageCount:              sc.Total,
		StorageUsageGB:          toGB(agg.StoredBytes),
		BillingPeriodStart:      start.Format(time.RFC3339),
		BillingPeriodEnd:        start.AddDate(0, 1, 0).Format(time.RFC3339),
		CurrentPeriodUsageGB:    toGB(agg.PeriodBytes),
		StorageUsageBytes:       agg.StoredBytes,
		CurrentPeriodUsageBytes: agg.PeriodBytes,
	}
	l := d.s.Tenants.Current().Limits(tenant)
	if l.StorageBytes > 0 {
		limit, remaining := toGB(l.StorageBytes), toGB(max(l.StorageBytes-agg.StoredBytes, 0))
		u.StorageLimitGB, u.StorageLimitBytes, u.StorageRemainingGB = &limit, &l.StorageBytes, &remaining
	}
	if l.MaxResolution > 0 {
		r := strconv.Itoa(l.MaxResolution) + "p"
		u.MaxResolutionLimit = &r
	}
	if l.MaxDurationSeconds > 0 {
		n := int64(l.MaxDurationSeconds)
		u.MaxDurationLimit = &n
	}
	if l.MaxFileSizeBytes > 0 {
		u.MaxFilesizeLimit = &l.MaxFileSizeBytes
	}
	c.JSON(http.StatusOK, u)
}

// clientName is the client_name of tenant: its id, dashClientName for the
// default tenant (as before tenants).
func clientName(tenant string) string {
	if tenant == workflows.DefaultTenant {
		return dashClientName
	}
	return tenant
}
