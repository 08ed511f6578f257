package workflows

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// workflowNames records the workflow types Register registers. The
// embedded Registry is nil: Register calls only the methods defined here.
type workflowNames struct {
	worker.WorkflowRegistry
	names []string
}

func (r *workflowNames) RegisterWorkflow(w any) {
	r.names = append(r.names, funcName(w))
}

func (r *workflowNames) RegisterWorkflowWithOptions(w any, o workflow.RegisterOptions) {
	if o.Name != "" {
		r.names = append(r.names, o.Name)
		return
	}
	r.RegisterWorkflow(w)
}

// funcName is the type name the SDK gives a registered function: its name
// without the package path.
func funcName(fn any) string {
	name := runtime.FuncForPC(reflectPointer(fn)).Name()
	return name[strings.LastIndexByte(name, '.')+1:]
}

// historyTypes maps each committed history to its workflow type.
func historyTypes(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(t, err)
	types := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var h struct {
			Events []struct {
				Attrs struct {
					WorkflowType struct{ Name string } `json:"workflowType"`
				} `json:"workflowExecutionStartedEventAttributes"`
			} `json:"events"`
		}
		require.NoError(t, json.Unmarshal(b, &h), f)
		require.NotEmpty(t, h.Events, f)
		types[f] = h.Events[0].Attrs.WorkflowType.Name
	}
	return types
}

// TestEveryWorkflowTypeHasACommittedHistory keeps the replay tests honest:
// a workflow type registered on the worker without a committed history
// could change its command sequence unnoticed.
func TestEveryWorkflowTypeHasACommittedHistory(t *testing.T) {
	var reg workflowNames
	Register(&reg)
	require.NotEmpty(t, reg.names)
	var have []string
	for _, typ := range historyTypes(t) {
		have = append(have, typ)
	}
	for _, name := range reg.names {
		require.True(t, slices.Contains(have, name),
			"no history of workflow type %s in workflows/testdata: run one and commit `temporal workflow show --output json`", name)
	}
}

// changedJob is a later version of Job that runs one more activity first:
// the shape of every command-sequence change.
func changedJob(ctx workflow.Context, in JobInput) (*JobState, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	if err := workflow.ExecuteActivity(actx, "Probe", in.URL).Get(ctx, nil); err != nil {
		return nil, err
	}
	return Job(ctx, in)
}

// TestReplayCatchesAnUnversionedChange replays every committed Job history
// against a changed Job: without a version marker the change fails with a
// nondeterminism error, so TestReplayCommittedHistories fails for every
// command-sequence change that is not versioned (README: Rolling out
// workflow changes).
func TestReplayCatchesAnUnversionedChange(t *testing.T) {
	for f, typ := range historyTypes(t) {
		if typ != JobWorkflowType {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(changedJob, workflow.RegisterOptions{Name: JobWorkflowType})
			err := r.ReplayWorkflowHistoryFromJSONFile(nil, f)
			// TMPRL1100 is the SDK's code for a nondeterminism error.
			require.Error(t, err)
			require.Regexp(t, `(?i)TMPRL1100|nondetermin`, err.Error())
		})
	}
}

func reflectPointer(fn any) uintptr { return reflect.ValueOf(fn).Pointer() }
