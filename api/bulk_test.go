package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
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
