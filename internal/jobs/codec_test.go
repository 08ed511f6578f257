package jobs

import (
	"context"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/mocks"

	"github.com/riptide-dev/riptide/internal/codec"
	"github.com/riptide-dev/riptide/workflows"
)

// TestGetDecryptsMemoAndHeartbeat: with an encrypting client (codec.Wrap,
// as the API dials), the view decodes the encrypted memo and heartbeat; a
// client without the codec cannot, and says so.
func TestGetDecryptsMemoAndHeartbeat(t *testing.T) {
	keys, err := codec.ParseKeys([]string{codec.NewKeyEntry("k1")})
	require.NoError(t, err)
	cd, err := codec.New(keys)
	require.NoError(t, err)
	dc := codec.DataConverter(cd)

	resp := describe{status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, memo: state(workflows.StatusProcessing, workflows.StepDownloading, 10),
		pending: []*workflowpb.PendingActivityInfo{pending(t, workflows.Download.Name(), &workflows.Progress{Bytes: 50, Total: 100, Percent: 50})}}.response(t)
	seal := func(p *commonpb.Payload) *commonpb.Payload {
		out, err := cd.Encode([]*commonpb.Payload{p})
		require.NoError(t, err)
		return out[0]
	}
	memo := resp.WorkflowExecutionInfo.Memo.Fields
	memo[workflows.MemoKey] = seal(memo[workflows.MemoKey])
	hb := resp.PendingActivities[0].HeartbeatDetails.Payloads
	hb[0] = seal(hb[0])

	c := &mocks.Client{}
	c.On("DescribeWorkflowExecution", mock.Anything, workflows.JobWorkflowID(testJobID), "").Return(resp, nil)
	v, err := Get(context.Background(), codec.Wrap(c, dc), testJobID)
	require.NoError(t, err)
	require.Equal(t, "https://example.com/v", v.URL)
	require.Equal(t, workflows.StatusProcessing, v.Status)
	require.Greater(t, v.ProgressPercent, 10, "the decrypted heartbeat moved the progress")

	_, err = Get(context.Background(), c, testJobID)
	require.Error(t, err, "the default converter cannot read an encrypted memo")
}
