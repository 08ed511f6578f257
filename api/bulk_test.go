package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"

	"github.com/riptide-dev/riptide/workflows"
)

func TestCreateJobsBulkPerItemResults(t *testing.T) {
	h := newHarness(t, nil)
	run := &mocks.WorkflowRun{}
	h.tc.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.MatchedBy(isJobWorkflow),
		mock.MatchedBy(func(in workflows.JobInput) bool { return strings.HasPrefix(in.URL, "https://example.com/") })).
		Return(run, nil).Twice()
	body := `{"jobs":[
		{"url":"https://example.com/a"},
		{"url":"ftp://example.com/b"},
		{"url":"https://example.com/c","folder":"x"},
		{"url":"http://169.254.169.254/"},
		{"nope":1},
		"not an object"]}`
	rec := h.do(http.MethodPost, "/jobs/bulk", body, testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	m := decodeBody(t, rec)
	require.EqualValues(t, 2, m["created"])
	require.EqualValues(t, 4, m["failed"])
	results := m["results"].([]any)
	require.Len(t, results, 6)
	want := []struct {
		status int
		field  string
	}{{201, ""}, {400, "url"}, {201, ""}, {400, "url"}, {400, "nope"}, {400, ""}}
	for i, w := range want {
		r := results[i].(map[string]any)
		require.EqualValues(t, i, r["index"])
		require.EqualValues(t, w.status, r["status"], "item %d: %v", i, r)
		if w.status == 201 {
			_, ok := parseJobID(r["job_id"].(string))
			require.True(t, ok)
			require.NotContains(t, r, "error")
			continue
		}
		e := r["error"].(map[string]any)
		require.NotEmpty(t, e["error"])
		require.NotEmpty(t, e["code"])
		if w.field != "" {
			require.Equal(t, w.field, e["field"], "item %d", i)
		}
	}
}

func TestCreateJobsBulkRejectsBadEnvelopes(t *testing.T) {
	h := newHarness(t, nil)
	items := make([]string, 101)
	for i := range items {
		items[i] = `{"url":"https://example.com/v"}`
	}
	for _, tc := range []struct {
		name, body, code, field string
		status                  int
	}{
		{"empty", ``, codeInvalidJSON, "", 400},
		{"array", `[]`, codeInvalidJSON, "", 400},
		{"no jobs", `{}`, codeMissingField, "jobs", 400},
		{"empty jobs", `{"jobs":[]}`, codeMissingField, "jobs", 400},
		{"jobs not array", `{"jobs":{"url":"https://example.com/v"}}`, codeInvalidType, "jobs", 400},
		{"unknown field", `{"jobs":[],"extra":1}`, codeUnknownField, "extra", 400},
		{"101 jobs", `{"jobs":[` + strings.Join(items, ",") + `]}`, codeInvalidField, "jobs", 400},
		{"trailing", `{"jobs":[{"url":"https://example.com/v"}]} {}`, codeInvalidJSON, "", 400},
		{"oversized", `{"jobs":[{"url":"https://example.com/` + strings.Repeat("a", testMaxBytes) + `"}]}`, codeBodyTooLarge, "", 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireError(t, h.do(http.MethodPost, "/jobs/bulk", tc.body, testKey), tc.status, tc.code, tc.field)
		})
	}
	h.tc.AssertNumberOfCalls(t, "ExecuteWorkflow", 0)
}

// TestCreateJobsBulkItemsTakeJobOptions: each item's options are validated
// and started like a POST /jobs body.
func TestCreateJobsBulkItemsTakeJobOptions(t *testing.T) {
	h := newHarness(t, nil)
	run := &mocks.WorkflowRun{}
	h.tc.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.MatchedBy(isJobWorkflow),
		mock.MatchedBy(func(in workflows.JobInput) bool {
			return in.Format == "m4a" && in.Filename == "a.m4a" && in.MaxHeight == 0 && in.ClipEnd == 90 && in.Thumbnail
		})).Return(run, nil).Once()
	body := `{"jobs":[
		{"url":"https://example.com/a","audio_only":true,"filename":"a","clip_end":"00:01:30","download_thumbnail":true},
		{"url":"https://example.com/b","max_resolution":"999p"},
		{"url":"https://example.com/c","max_duration":0}]}`
	rec := h.do(http.MethodPost, "/jobs/bulk", body, testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	results := decodeBody(t, rec)["results"].([]any)
	require.EqualValues(t, 201, results[0].(map[string]any)["status"], "%v", results[0])
	for i, field := range map[int]string{1: "max_resolution", 2: "max_duration"} {
		r := results[i].(map[string]any)
		require.EqualValues(t, 400, r["status"])
		require.Equal(t, field, r["error"].(map[string]any)["field"])
	}
	h.tc.AssertExpectations(t)
}

// TestCreateJobsBulkReferenceShape: the hosted service's request, items of
// url and filename under options shared by all, answers batch_id,
// total_jobs and job_ids; every job is started in the group.
func TestCreateJobsBulkReferenceShape(t *testing.T) {
	h := newHarness(t, nil)
	run := &mocks.WorkflowRun{}
	var groups []string
	h.tc.On("ExecuteWorkflow", mock.Anything, mock.MatchedBy(func(o client.StartWorkflowOptions) bool {
		if v, ok := o.TypedSearchAttributes.GetKeyword(workflows.BatchIDKey); ok {
			groups = append(groups, v)
		}
		folder, _ := o.TypedSearchAttributes.GetKeyword(workflows.FolderKey)
		return folder == "shows/x"
	}), mock.MatchedBy(isJobWorkflow), mock.MatchedBy(func(in workflows.JobInput) bool {
		// The item's own audio_only wins over the shared one.
		return in.Folder == "shows/x" && in.Thumbnail && (in.Filename == "one.mp4" && in.Format == "mp4" ||
			in.Filename == "two.m4a" && in.Format == "m4a")
	})).Return(run, nil).Twice()
	body := `{"jobs":[{"url":"https://example.com/1","filename":"one"},{"url":"https://example.com/2","filename":"two","audio_only":true}],
		"folder":"shows/x","download_thumbnail":true,"audio_only":false}`
	rec := h.do(http.MethodPost, "/jobs/bulk", body, testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &raw))
	require.Equal(t, "2", string(raw["total_jobs"]))
	m := decodeBody(t, rec)
	batchID, ok := parseJobID(m["batch_id"].(string))
	require.True(t, ok)
	ids := m["job_ids"].([]any)
	require.Len(t, ids, 2)
	results := m["results"].([]any)
	for i, id := range ids {
		require.Equal(t, results[i].(map[string]any)["job_id"], id)
	}
	require.Equal(t, []string{batchID, batchID}, groups)
	require.EqualValues(t, 2, m["created"])
	require.EqualValues(t, 0, m["failed"])
}

// A bad shared option is the request's error: nothing starts. The same
// bad value in one item fails only that item.
func TestCreateJobsBulkBadSharedOption(t *testing.T) {
	h := newHarness(t, nil)
	for _, tc := range []struct{ body, code, field string }{
		{`{"jobs":[{"url":"https://example.com/1"}],"max_duration":0}`, codeInvalidField, "max_duration"},
		{`{"jobs":[{"url":"https://example.com/1"}],"folder":7}`, codeInvalidType, "folder"},
		{`{"jobs":[{"url":"https://example.com/1"}],"url":"https://example.com/2"}`, codeInvalidField, "url"},
		{`{"jobs":[{"url":"https://example.com/1"}],"nope":true}`, codeUnknownField, "nope"},
	} {
		requireError(t, h.do(http.MethodPost, "/jobs/bulk", tc.body, testKey), http.StatusBadRequest, tc.code, tc.field)
	}
	h.tc.AssertNumberOfCalls(t, "ExecuteWorkflow", 0)

	// An item's own bad value fails that item; its good shared value
	// overridden is not blamed.
	h.tc.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.MatchedBy(isJobWorkflow), mock.Anything).
		Return(&mocks.WorkflowRun{}, nil).Once()
	rec := h.do(http.MethodPost, "/jobs/bulk",
		`{"jobs":[{"url":"https://example.com/1"},{"url":"https://example.com/2","max_duration":0}],"max_duration":60}`, testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	m := decodeBody(t, rec)
	require.EqualValues(t, 1, m["total_jobs"])
	require.EqualValues(t, 1, m["failed"])
	require.Equal(t, "max_duration", m["results"].([]any)[1].(map[string]any)["error"].(map[string]any)["field"])
}

// The reference's shared encoding options reach every job; a shared codec
// the shared format cannot hold fails the request with nothing started.
func TestCreateJobsBulkSharedTranscode(t *testing.T) {
	h := newHarness(t, nil)
	requireError(t, h.do(http.MethodPost, "/jobs/bulk",
		`{"jobs":[{"url":"https://example.com/1"}],"format":"webm","video_codec":"h264"}`, testKey),
		http.StatusBadRequest, codeInvalidField, "video_codec")
	h.tc.AssertNumberOfCalls(t, "ExecuteWorkflow", 0)

	want := &workflows.Transcode{VideoCodec: "vp9", AudioCodec: "opus", AudioBitrate: 128, CRF: 20, QualityPreset: "high"}
	h.tc.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.MatchedBy(isJobWorkflow), mock.MatchedBy(func(in workflows.JobInput) bool {
		return in.Format == "webm" && reflect.DeepEqual(in.Transcode, want)
	})).Return(&mocks.WorkflowRun{}, nil).Twice()
	rec := h.do(http.MethodPost, "/jobs/bulk", `{"jobs":[{"url":"https://example.com/1","filename":"a"},{"url":"https://example.com/2"}],
		"format":"webm","video_codec":"vp9","audio_codec":"opus","audio_bitrate":"128k","video_quality":30,"quality_preset":"high"}`, testKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.EqualValues(t, 2, decodeBody(t, rec)["total_jobs"])
}
