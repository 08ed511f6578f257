package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/mocks"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riptide-dev/riptide/workflows"
)

const testJobID = "0b6f1f9e-3c1a-4c57-9a55-1a2b3c4d5e6f"

var (
	started = time.Date(2026, 1, 19, 6, 0, 0, 0, time.UTC)
	updated = started.Add(time.Minute)
	closed  = started.Add(2 * time.Minute)
)

// describe is a fake DescribeWorkflowExecution response.
type describe struct {
	status  enumspb.WorkflowExecutionStatus
	memo    *workflows.JobState // nil: no memo yet
	pending []*workflowpb.PendingActivityInfo
}

func (d describe) response(t *testing.T) *workflowservice.DescribeWorkflowExecutionResponse {
	t.Helper()
	info := &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: workflows.JobWorkflowID(testJobID), RunId: "run-1"},
		Type:      &commonpb.WorkflowType{Name: "Job"},
		StartTime: timestamppb.New(started),
		Status:    d.status,
	}
	if d.status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		info.CloseTime = timestamppb.New(closed)
	}
	if d.memo != nil {
		p, err := converter.GetDefaultDataConverter().ToPayload(*d.memo)
		require.NoError(t, err)
		info.Memo = &commonpb.Memo{Fields: map[string]*commonpb.Payload{workflows.MemoKey: p}}
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: info, PendingActivities: d.pending}
}

func state(status, step string, pct int, mutate ...func(*workflows.JobState)) *workflows.JobState {
	s := &workflows.JobState{
		JobID: testJobID, URL: "https://example.com/v", Folder: "shows/a",
		Status: status, Step: step, ProgressPercent: pct, UpdatedAt: updated,
	}
	for _, m := range mutate {
		m(s)
	}
	return s
}

func pending(t *testing.T, activityType string, p *workflows.Progress) *workflowpb.PendingActivityInfo {
	t.Helper()
	a := &workflowpb.PendingActivityInfo{
		ActivityId:   "5",
		ActivityType: &commonpb.ActivityType{Name: activityType},
		State:        enumspb.PENDING_ACTIVITY_STATE_STARTED,
	}
	if p != nil {
		payloads, err := converter.GetDefaultDataConverter().ToPayloads(*p)
		require.NoError(t, err)
		a.HeartbeatDetails = payloads
		a.LastHeartbeatTime = timestamppb.New(updated.Add(10 * time.Second))
	}
	return a
}

func getWith(t *testing.T, resp *workflowservice.DescribeWorkflowExecutionResponse, err error) (*View, error) {
	t.Helper()
	c := &mocks.Client{}
	c.On("DescribeWorkflowExecution", mock.Anything, workflows.JobWorkflowID(testJobID), "").Return(resp, err).Once()
	v, gotErr := Get(context.Background(), c, testJobID)
	c.AssertExpectations(t)
	return v, gotErr
}

func TestGetMapsWorkflowToView(t *testing.T) {
	completed := func(s *workflows.JobState) {
		s.Key, s.SubtitleKey, s.FileSizeBytes = "shows/a/title-0b6f1f9e.mp4", "shows/a/title-0b6f1f9e.en.vtt", 1234
		s.Title, s.Description, s.ReleaseDate = "Title", "Desc", "2026-01-19T06:00:00Z"
	}
	withError := func(msg string) func(*workflows.JobState) {
		return func(s *workflows.JobState) { s.Error = msg }
	}
	running := enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	tests := []struct {
		name      string
		d         describe
		status    string
		step      string
		pct       int
		errMsg    string // "" means null
		done      bool
		updatedAt time.Time
	}{
		{
			name:   "no memo yet is pending",
			d:      describe{status: running},
			status: workflows.StatusPending, step: workflows.StepQueued, updatedAt: started,
		},
		{
			name:   "queued memo",
			d:      describe{status: running, memo: state(workflows.StatusPending, workflows.StepQueued, 0)},
			status: workflows.StatusPending, step: workflows.StepQueued, updatedAt: updated,
		},
		{
			name: "memo stamped before the start is not older than the job",
			d: describe{status: running, memo: state(workflows.StatusPending, workflows.StepQueued, 0, func(s *workflows.JobState) {
				s.UpdatedAt = started.Add(-5 * time.Millisecond)
			})},
			status: workflows.StatusPending, step: workflows.StepQueued, updatedAt: started,
		},
		{
			name: "download heartbeat percent interpolates 0..33",
			d: describe{status: running, memo: state(workflows.StatusProcessing, workflows.StepDownloading, 0), pending: []*workflowpb.PendingActivityInfo{
				pending(t, "internalSessionCreationActivity", nil),
				pending(t, "Download", &workflows.Progress{Bytes: 50, Total: 100, Percent: 50}),
			}},
			status: workflows.StatusProcessing, step: workflows.StepDownloading, pct: 16, updatedAt: updated.Add(10 * time.Second),
		},
		{
			name: "mux heartbeat without percent uses bytes/total",
			d: describe{status: running, memo: state(workflows.StatusProcessing, workflows.StepMuxing, 33), pending: []*workflowpb.PendingActivityInfo{
				pending(t, "Mux", &workflows.Progress{Bytes: 3, Total: 4}),
			}},
			status: workflows.StatusProcessing, step: workflows.StepMuxing, pct: 57, updatedAt: updated.Add(10 * time.Second),
		},
		{
			name: "finished upload caps at 99",
			d: describe{status: running, memo: state(workflows.StatusProcessing, workflows.StepUploading, 66), pending: []*workflowpb.PendingActivityInfo{
				pending(t, "Upload", &workflows.Progress{Bytes: 10, Total: 10, Percent: 100}),
			}},
			status: workflows.StatusProcessing, step: workflows.StepUploading, pct: 99, updatedAt: updated.Add(10 * time.Second),
		},
		{
			name: "upload without total or heartbeat keeps stage start",
			d: describe{status: running, memo: state(workflows.StatusProcessing, workflows.StepUploading, 66), pending: []*workflowpb.PendingActivityInfo{
				pending(t, "Upload", &workflows.Progress{Bytes: 10}),
			}},
			status: workflows.StatusProcessing, step: workflows.StepUploading, pct: 66, updatedAt: updated.Add(10 * time.Second),
		},
		{
			name: "heartbeat of another stage's activity is ignored",
			d: describe{status: running, memo: state(workflows.StatusProcessing, workflows.StepMuxing, 33), pending: []*workflowpb.PendingActivityInfo{
				pending(t, "Download", &workflows.Progress{Percent: 90}),
			}},
			status: workflows.StatusProcessing, step: workflows.StepMuxing, pct: 33, updatedAt: updated,
		},
		{
			name:   "completed",
			d:      describe{status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, memo: state(workflows.StatusCompleted, workflows.StepFinished, 100, completed)},
			status: workflows.StatusCompleted, step: workflows.StepFinished, pct: 100, done: true, updatedAt: closed,
		},
		{
			name:   "completed with stale memo is completed",
			d:      describe{status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, memo: state(workflows.StatusProcessing, workflows.StepUploading, 66)},
			status: workflows.StatusCompleted, step: workflows.StepFinished, pct: 100, done: true, updatedAt: closed,
		},
		{
			name:   "warning",
			d:      describe{status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, memo: state(workflows.StatusWarning, workflows.StepFinished, 0, withError("Private video"))},
			status: workflows.StatusWarning, step: workflows.StepFinished, errMsg: "Private video", done: true, updatedAt: closed,
		},
		{
			name:   "skipped",
			d:      describe{status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, memo: state(workflows.StatusSkipped, workflows.StepFinished, 0, withError("DRM"))},
			status: workflows.StatusSkipped, step: workflows.StepFinished, errMsg: "DRM", done: true, updatedAt: closed,
		},
		{
			name:   "failed keeps the workflow's error",
			d:      describe{status: enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, memo: state(workflows.StatusFailed, workflows.StepFinished, 33, withError("Video unavailable"))},
			status: workflows.StatusFailed, step: workflows.StepFinished, pct: 33, errMsg: "Video unavailable", done: true, updatedAt: closed,
		},
		{
			name:   "failed without memo error",
			d:      describe{status: enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, memo: state(workflows.StatusProcessing, workflows.StepDownloading, 0)},
			status: workflows.StatusFailed, step: workflows.StepFinished, errMsg: "failed", done: true, updatedAt: closed,
		},
		{
			name:   "terminated",
			d:      describe{status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, memo: state(workflows.StatusProcessing, workflows.StepMuxing, 33)},
			status: workflows.StatusFailed, step: workflows.StepFinished, pct: 33, errMsg: "terminated", done: true, updatedAt: closed,
		},
		{
			name:   "timed out",
			d:      describe{status: enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT},
			status: workflows.StatusFailed, step: workflows.StepFinished, errMsg: "timed out", done: true, updatedAt: closed,
		},
		{
			name:   "cancelled",
			d:      describe{status: enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED, memo: state(workflows.StatusProcessing, workflows.StepDownloading, 0)},
			status: StatusCancelled, step: workflows.StepFinished, errMsg: "cancelled", done: true, updatedAt: closed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := getWith(t, tt.d.response(t), nil)
			require.NoError(t, err)
			require.Equal(t, testJobID, v.ID)
			require.Equal(t, tt.status, v.Status)
			require.Equal(t, tt.step, v.Step)
			require.Equal(t, tt.pct, v.ProgressPercent)
			if tt.errMsg == "" {
				require.Nil(t, v.Error)
			} else {
				require.NotNil(t, v.Error)
				require.Equal(t, tt.errMsg, *v.Error)
			}
			require.Equal(t, started, v.CreatedAt)
			require.Equal(t, tt.updatedAt, v.UpdatedAt)
			require.Equal(t, tt.done, v.Done())
			if tt.done {
				require.Equal(t, closed, *v.CompletedAt)
			}
			require.Equal(t, workflows.JobWorkflowID(testJobID), v.WorkflowID)
			require.Equal(t, "run-1", v.RunID)
			require.Nil(t, v.S3URL, "s3_url is the API's to sign")
		})
	}
}

func TestGetCompletedFieldsAndJSON(t *testing.T) {
	d := describe{status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, memo: state(workflows.StatusCompleted, workflows.StepFinished, 100, func(s *workflows.JobState) {
		s.Key, s.FileSizeBytes, s.Title, s.ReleaseDate = "shows/a/t.mp4", 1234, "Title", "2026-01-19T06:00:00Z"
	})}
	v, err := getWith(t, d.response(t), nil)
	require.NoError(t, err)
	require.Equal(t, "https://example.com/v", v.URL)
	require.Equal(t, "shows/a/t.mp4", *v.Key)
	require.Equal(t, int64(1234), *v.FileSizeBytes)
	require.Equal(t, "Title", *v.Title)
	require.Equal(t, "shows/a", *v.Folder)
	require.Nil(t, v.Description)
	require.Nil(t, v.SubtitleKey)

	raw, err := json.Marshal(v)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	want := []string{"id", "url", "status", "step", "progress_percent", "key", "s3_key", "s3_url", "file_size_bytes",
		"file_size", "title", "description", "release_date", "subtitle_key", "subtitle_url", "thumbnail_key",
		"thumbnail_url", "folder", "batch_id", "error", "error_type", "retry_of", "created_at", "created_at_iso",
		"finished_at", "updated_at", "completed_at", "workflow_id", "run_id", "temporal_ui_url", "webhook_status",
		"download_duration_ms", "mux_duration_ms", "upload_duration_ms", "total_duration_ms", "queue_wait_ms",
		"download_retries", "upload_retries", "download_speed_mbps", "upload_speed_mbps",
		"native_video_codec", "native_audio_codec", "requested_quality", "actual_quality", "video_codec", "audio_codec", "download_strategy",
		"file_deleted", "file_deleted_at", "storage"}
	got := make([]string, 0, len(m))
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(want)
	slices.Sort(got)
	require.Equal(t, want, got)
	require.Nil(t, m["description"])
	require.Equal(t, "2026-01-19T06:02:00Z", m["completed_at"])
	require.Equal(t, "2026-01-19T06:00:00Z", m["created_at_iso"])
	require.Equal(t, "shows/a/t.mp4", m["s3_key"])
	require.Nil(t, m["error_type"])
	require.Nil(t, m["batch_id"])

	// The hosted service's types: epoch milliseconds and bytes are JSON
	// integers.
	var typed map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &typed))
	require.Equal(t, "1768802400000", string(typed["created_at"]))
	require.Equal(t, "1768802520000", string(typed["finished_at"]))
	require.Equal(t, "1234", string(typed["file_size"]))
}

func TestGetErrorType(t *testing.T) {
	for _, tt := range []struct {
		name string
		d    describe
		want any
	}{
		{"failed", describe{status: enumspb.WORKFLOW_EXECUTION_STATUS_FAILED}, "error"},
		{"terminated", describe{status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED}, "error"},
		{"warning", describe{status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
			memo: state(workflows.StatusWarning, workflows.StepFinished, 100)}, "warning"},
		{"skipped", describe{status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
			memo: state(workflows.StatusSkipped, workflows.StepFinished, 0)}, "warning"},
		{"completed", describe{status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
			memo: state(workflows.StatusCompleted, workflows.StepFinished, 100)}, nil},
		{"cancelled", describe{status: enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED}, nil},
		{"running", describe{status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, err := getWith(t, tt.d.response(t), nil)
			require.NoError(t, err)
			raw, err := json.Marshal(v)
			require.NoError(t, err)
			var m map[string]any
			require.NoError(t, json.Unmarshal(raw, &m))
			require.Contains(t, m, "error_type")
			require.Equal(t, tt.want, m["error_type"])
		})
	}
}

func TestGetBatchID(t *testing.T) {
	const batchID = "11111111-2222-4333-8444-555555555555"
	t.Run("search attribute", func(t *testing.T) {
		resp := describe{status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING}.response(t)
		p, err := converter.GetDefaultDataConverter().ToPayload(batchID)
		require.NoError(t, err)
		resp.WorkflowExecutionInfo.SearchAttributes = &commonpb.SearchAttributes{
			IndexedFields: map[string]*commonpb.Payload{workflows.SearchAttrBatchID: p}}
		v, err := getWith(t, resp, nil)
		require.NoError(t, err)
		require.Equal(t, batchID, *v.BatchID)
	})
	t.Run("parent workflow", func(t *testing.T) {
		resp := describe{status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING}.response(t)
		resp.WorkflowExecutionInfo.ParentExecution = &commonpb.WorkflowExecution{WorkflowId: workflows.BatchWorkflowID(batchID)}
		v, err := getWith(t, resp, nil)
		require.NoError(t, err)
		require.Equal(t, batchID, *v.BatchID)
	})
	t.Run("none", func(t *testing.T) {
		v, err := getWith(t, describe{status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING}.response(t), nil)
		require.NoError(t, err)
		require.Nil(t, v.BatchID)
		require.Nil(t, v.FinishedAtMS)
	})
}

func TestGetRunningJSONHasNullCompletedAt(t *testing.T) {
	v, err := getWith(t, describe{status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING}.response(t), nil)
	require.NoError(t, err)
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	require.Contains(t, string(raw), `"completed_at":null`)
	require.Contains(t, string(raw), `"finished_at":null`)
	require.Contains(t, string(raw), `"key":null`)
	require.Contains(t, string(raw), `"file_size_bytes":null`)
}

func TestGetErrors(t *testing.T) {
	t.Run("not found", func(t *testing.T) {
		_, err := getWith(t, nil, serviceerror.NewNotFound("workflow not found"))
		require.ErrorIs(t, err, ErrNotFound)
	})
	t.Run("unavailable is not not-found", func(t *testing.T) {
		_, err := getWith(t, nil, serviceerror.NewUnavailable("connection refused"))
		require.Error(t, err)
		require.NotErrorIs(t, err, ErrNotFound)
		var unavailable *serviceerror.Unavailable
		require.True(t, errors.As(err, &unavailable), "cause stays inspectable")
	})
	t.Run("undecodable memo", func(t *testing.T) {
		resp := describe{status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING}.response(t)
		resp.WorkflowExecutionInfo.Memo = &commonpb.Memo{Fields: map[string]*commonpb.Payload{
			workflows.MemoKey: {Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte("{not json")},
		}}
		_, err := getWith(t, resp, nil)
		require.Error(t, err)
	})
	t.Run("bad heartbeat detail is ignored", func(t *testing.T) {
		d := describe{status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, memo: state(workflows.StatusProcessing, workflows.StepDownloading, 0)}
		resp := d.response(t)
		resp.PendingActivities = []*workflowpb.PendingActivityInfo{{
			ActivityType: &commonpb.ActivityType{Name: "Download"},
			HeartbeatDetails: &commonpb.Payloads{Payloads: []*commonpb.Payload{
				{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"text"`)},
			}},
		}}
		v, err := getWith(t, resp, nil)
		require.NoError(t, err)
		require.Equal(t, 0, v.ProgressPercent)
	})
}

func TestStart(t *testing.T) {
	in := workflows.JobInput{JobID: testJobID, URL: "https://example.com/v", Folder: "f", Format: "mkv"}
	before := time.Now()
	c := &mocks.Client{}
	run := &mocks.WorkflowRun{}
	c.On("ExecuteWorkflow", mock.Anything, mock.MatchedBy(func(o client.StartWorkflowOptions) bool {
		st, ok := o.Memo[workflows.MemoKey].(workflows.JobState)
		return ok && o.ID == "job-"+testJobID && o.TaskQueue == "q" &&
			o.WorkflowIDReusePolicy == enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE &&
			st.JobID == testJobID && st.URL == in.URL && st.Folder == "f" &&
			st.Status == workflows.StatusPending && st.Step == workflows.StepQueued &&
			!st.UpdatedAt.Before(before.Truncate(time.Second)) && st.UpdatedAt.Location() == time.UTC
	}), mock.Anything, in).Return(run, nil).Once()

	got, err := Start(context.Background(), c, "q", in)
	require.NoError(t, err)
	require.Same(t, run, got)
	c.AssertExpectations(t)
}
