package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// usage is GET /usage. A self-hosted riptide has no quota: every limit is
// null, meaning none. The billing period is the current calendar month,
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
	// MaxFilesizeLimit: the cap is each worker's (RIPTIDE_WORKER_MAX_JOB_BYTES or
	// half its disk), which the API does not know.
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
	c.JSON(http.StatusOK, usage{
		ClientName:              dashClientName,
		UsageCount:              sc.Total,
		StorageUsageGB:          toGB(agg.StoredBytes),
		BillingPeriodStart:      start.Format(time.RFC3339),
		BillingPeriodEnd:        start.AddDate(0, 1, 0).Format(time.RFC3339),
		CurrentPeriodUsageGB:    toGB(agg.PeriodBytes),
		StorageUsageBytes:       agg.StoredBytes,
		CurrentPeriodUsageBytes: agg.PeriodBytes,
	})
}
