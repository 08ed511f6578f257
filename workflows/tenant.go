package workflows

import (
	"errors"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// A tenant's settings live in Temporal, in one long-running entity
// workflow per tenant (TenantWorkflowID): its storage target is set and
// cleared by Updates (POST/DELETE /user/*, after the API verified the
// credentials) and read by a Query when a job is created. Its input and
// the Updates' arguments carry the credentials, which the payload codec
// encrypts; its memo carries none.
const (
	TenantWorkflowType = "Tenant"
	// SetTenantStorageUpdate saves a StorageTarget (replacing any);
	// ClearTenantStorageUpdate (argument: a provider) removes it when it is
	// that provider's. Both answer the StorageRef concerned (nil: none).
	SetTenantStorageUpdate   = "set-storage"
	ClearTenantStorageUpdate = "clear-storage"
	// TenantStorageQuery answers the saved *StorageTarget (nil: none).
	TenantStorageQuery = "storage"
)

// TenantStorageMemoKey holds a Tenant workflow's storage target (nil: none
// saved), kept in step by its Updates.
const TenantStorageMemoKey = "storage"

// TenantWorkflowID is the ID of a tenant's entity workflow.
func TenantWorkflowID(tenant string) string { return "tenant-" + tenant }

// TenantInput is the Tenant workflow's input and the state it carries
// across continue-as-new.
type TenantInput struct {
	Tenant  string
	Storage *StorageTarget `json:",omitempty"`
}

// tenantUpdatesPerRun bounds a run's history: past it the workflow
// continues as new with its state.
const tenantUpdatesPerRun = 200

// Tenant is the entity workflow of one tenant. It never ends by itself.
func Tenant(ctx workflow.Context, in TenantInput) error {
	state := in
	updates := 0
	if err := workflow.SetQueryHandler(ctx, TenantStorageQuery, func() (*StorageTarget, error) {
		return state.Storage, nil
	}); err != nil {
		return err
	}
	// The memo mirrors the storage, so the API reads it with a describe
	// (encrypted like every payload) and needs no worker to create jobs.
	saveMemo := func(ctx workflow.Context) error {
		return workflow.UpsertMemo(ctx, map[string]any{TenantStorageMemoKey: state.Storage})
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, SetTenantStorageUpdate,
		func(ctx workflow.Context, t StorageTarget) (*StorageRef, error) {
			state.Storage = &t
			updates++
			if err := saveMemo(ctx); err != nil {
				return nil, err
			}
			return t.Ref(), nil
		},
		workflow.UpdateHandlerOptions{Validator: func(_ workflow.Context, t StorageTarget) error {
			if t.Provider == "" || t.Bucket == "" {
				return errors.New("a storage target needs a provider and a bucket")
			}
			return nil
		}},
	); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandler(ctx, ClearTenantStorageUpdate, func(ctx workflow.Context, provider string) (*StorageRef, error) {
		if state.Storage == nil || state.Storage.Provider != provider {
			return nil, nil
		}
		prev := state.Storage.Ref()
		state.Storage = nil
		updates++
		if err := saveMemo(ctx); err != nil {
			return nil, err
		}
		return prev, nil
	}); err != nil {
		return err
	}
	if err := workflow.Await(ctx, func() bool {
		return updates >= tenantUpdatesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
	}); err != nil {
		return err // cancelled: the tenant's settings end with it
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	return workflow.NewContinueAsNewError(ctx, Tenant, state)
}

// TenantStartOptions start (or join) tenant's entity workflow.
func TenantStartOptions(taskQueue, tenant string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       TenantWorkflowID(tenant),
		TaskQueue:                taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			temporal.NewSearchAttributeKeyKeyword(SearchAttrTenant).ValueSet(tenant)),
	}
}
