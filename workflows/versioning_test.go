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
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// workflowNames records the workflow types Register registers. The
// embedded Registry is nil: Register calls only the methods defined here.
type workflowNames struct {
	worker.Registry
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

func (r *workflowNames) RegisterActivity(any)                                      {}
func (r *workflowNames) RegisterActivityWithOptions(any, activity.RegisterOptions) {}

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
	Register(&reg, nil)
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
// the shape of every command-sequence change. guarded says whether the
// change is behind workflow.GetVersion, as the README's rollout rule asks.
func changedJob(guarded bool) func(workflow.Context, JobInput) (*JobState, error) {
	return func(ctx workflow.Context, in JobInput) (*JobState, error) {
		if !guarded || workflow.GetVersion(ctx, "probe-before-download", workflow.DefaultVersion, 1) == 1 {
			actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
			if err := workflow.ExecuteActivity(actx, "Probe", in.URL).Get(ctx, nil); err != nil {
				return nil, err
			}
		}
		return Job(ctx, in)
	}
}

// TestRolloutNeedsGetVersion replays every committed Job history against a
// changed Job: the change behind workflow.GetVersion replays (jobs started
// before the deploy finish on the new code), the same change without it
// fails with a nondeterminism error.
func TestRolloutNeedsGetVersion(t *testing.T) {
	for f, typ := range historyTypes(t) {
		if typ != "Job" {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			guarded := worker.NewWorkflowReplayer()
			guarded.RegisterWorkflowWithOptions(changedJob(true), workflow.RegisterOptions{Name: "Job"})
			require.NoError(t, guarded.ReplayWorkflowHistoryFromJSONFile(nil, f))

			unguarded := worker.NewWorkflowReplayer()
			unguarded.RegisterWorkflowWithOptions(changedJob(false), workflow.RegisterOptions{Name: "Job"})
			err := unguarded.ReplayWorkflowHistoryFromJSONFile(nil, f)
			// TMPRL1100 is the SDK's code for a nondeterminism error.
			require.Error(t, err)
			require.Regexp(t, `(?i)TMPRL1100|nondetermin`, err.Error())
		})
	}
}

func reflectPointer(fn any) uintptr { return reflect.ValueOf(fn).Pointer() }
