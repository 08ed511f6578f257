package workflows

import "go.temporal.io/sdk/temporal"

// Tenancy is who owns a job or batch and what its tenant may use, carried
// in the workflow's input so activities know both. The zero value is a
// workflow of the default tenant without limits: what every workflow
// started before tenants existed decodes to.
type Tenancy struct {
	// Tenant owns the workflow ("" = DefaultTenant).
	Tenant string `json:",omitempty"`
	// Limits are the tenant's at the time the workflow was created.
	Limits *TenantLimits `json:",omitempty"`
}

// TenantOf is the workflow's tenant, DefaultTenant when none was recorded.
func (t Tenancy) TenantOf() string {
	if t.Tenant == "" {
		return DefaultTenant
	}
	return t.Tenant
}

// TenantLimits are a tenant's optional limits (0: none), as the operator's
// tenants file (RIPTIDE_TENANTS_FILE) sets them.
type TenantLimits struct {
	// StorageBytes caps the bytes of the tenant's completed jobs.
	StorageBytes int64 `json:"storage_bytes,omitempty"`
	// MaxFileSizeBytes caps what one job downloads.
	MaxFileSizeBytes int64 `json:"max_file_size_bytes,omitempty"`
	// MaxResolution caps the shorter side of the video (pixels, as
	// JobOptions.MaxHeight).
	MaxResolution int `json:"max_resolution,omitempty"`
	// MaxDurationSeconds refuses longer media.
	MaxDurationSeconds int `json:"max_duration_seconds,omitempty"`
	// ConcurrentJobs caps the tenant's unfinished jobs at create time.
	ConcurrentJobs int `json:"concurrent_jobs,omitempty"`
	// StorageUsedBytes is what the tenant had stored when the workflow
	// was created: with StorageBytes, the budget a batch's episodes
	// spend (BatchInput.StoredBytes).
	StorageUsedBytes int64 `json:"storage_used_bytes,omitempty"`
}

// tenantSearchAttribute is the tenant search attribute of a workflow of t.
func tenantSearchAttribute(t Tenancy) temporal.SearchAttributeUpdate {
	return TenantKey.ValueSet(t.TenantOf())
}

// ErrTypeQuotaExceeded: the tenant's storage quota is spent; the job fails
// for good before it downloads.
const ErrTypeQuotaExceeded = "QuotaExceeded"

// QuotaExceededMessage opens the error of a job refused for quota, as the
// hosted service's 403 says it.
const QuotaExceededMessage = "Storage quota exceeded"
