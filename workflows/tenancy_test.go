package workflows

import "testing"

// A batch's episodes spend the tenant's quota: each gets the bytes stored
// when the batch was created plus what the batch's completed episodes
// stored, counted once per episode (done ignores a second report).
func TestBatchEpisodesCarryTheQuotaSpentSoFar(t *testing.T) {
	b := &batch{in: BatchInput{Tenancy: Tenancy{Tenant: "acme", Limits: &TenantLimits{StorageBytes: 100, StorageUsedBytes: 40}}},
		running: []string{"e1", "e2"}}
	if got := b.episodeTenancy().Limits.StorageUsedBytes; got != 40 {
		t.Fatalf("first episode: used %d, want 40", got)
	}
	b.done(EpisodeDone{JobID: "e1", Status: StatusCompleted, Bytes: 30})
	b.done(EpisodeDone{JobID: "e1", Status: StatusCompleted, Bytes: 30}) // a repeat
	b.done(EpisodeDone{JobID: "e2", Status: StatusFailed, Bytes: 99})    // failed: stored nothing
	got := b.episodeTenancy()
	if got.Tenant != "acme" || got.Limits.StorageUsedBytes != 70 || got.Limits.StorageBytes != 100 {
		t.Fatalf("next episode: %+v %+v", got, got.Limits)
	}
	if b.in.Limits.StorageUsedBytes != 40 {
		t.Fatal("the batch's own input changed")
	}
	// Without limits the tenancy is passed on as is.
	if got := (&batch{in: BatchInput{Tenancy: Tenancy{Tenant: "x"}}}).episodeTenancy(); got.Limits != nil || got.TenantOf() != "x" {
		t.Fatalf("%+v", got)
	}
	if (Tenancy{}).TenantOf() != DefaultTenant {
		t.Fatal("no tenant is the default tenant")
	}
}
