package workflows

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

func TestTenantSavesQueriesAndClearsStorage(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	target := StorageTarget{Provider: ProviderS3, Bucket: "b", AccessKey: "AK", SecretKey: "SK", Prefix: "acme/videos"}
	var set, bad, wrong, clear answer[*StorageRef]
	var afterSet, afterClear *StorageTarget
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(SetTenantStorageUpdate, "bad", bad.callbacks(), StorageTarget{Provider: ProviderS3})
		env.UpdateWorkflow(SetTenantStorageUpdate, "set", set.callbacks(), target)
	}, time.Second)
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(TenantStorageQuery)
		require.NoError(t, err)
		require.NoError(t, v.Get(&afterSet))
		env.UpdateWorkflow(ClearTenantStorageUpdate, "wrong", wrong.callbacks(), ProviderBlob)
		env.UpdateWorkflow(ClearTenantStorageUpdate, "clear", clear.callbacks(), ProviderS3)
	}, 2*time.Second)
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(TenantStorageQuery)
		require.NoError(t, err)
		require.NoError(t, v.Get(&afterClear))
		env.CancelWorkflow()
	}, 3*time.Second)
	env.ExecuteWorkflow(Tenant, TenantInput{Tenant: "acme"})

	require.Error(t, bad.rejected, "a target without a bucket is refused by the validator")
	require.NoError(t, set.err)
	require.Equal(t, &StorageRef{Provider: ProviderS3, Bucket: "b", Prefix: "acme/videos"}, set.v, "the answer has no credentials")
	require.Equal(t, &target, afterSet)
	require.Nil(t, wrong.v, "clearing another provider's storage clears nothing")
	require.Equal(t, "b", clear.v.Bucket)
	require.Nil(t, afterClear)
}

func TestTenantContinuesAsNewWithItsStorage(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	target := StorageTarget{Provider: ProviderGCS, Bucket: "g", ServiceAccountJSON: "{}"}
	env.RegisterDelayedCallback(func() {
		for i := range tenantUpdatesPerRun {
			env.UpdateWorkflow(SetTenantStorageUpdate, fmt.Sprint("u", i), &testsuite.TestUpdateCallback{
				OnReject: func(error) {}, OnAccept: func() {}, OnComplete: func(any, error) {}}, target)
		}
	}, time.Second)
	env.ExecuteWorkflow(Tenant, TenantInput{Tenant: "acme"})
	err := env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, err, &can)
	var next TenantInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.Equal(t, TenantInput{Tenant: "acme", Storage: &target}, next)
}

func TestTenantEndsWhenCancelled(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Second)
	env.ExecuteWorkflow(Tenant, TenantInput{Tenant: "acme"})
	require.True(t, env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.False(t, errors.As(env.GetWorkflowError(), &can), "a cancelled tenant does not continue as new")
}
