package activities

import (
	"context"
	"reflect"
	"testing"

	"github.com/riptide-dev/riptide/workflows"
)

// TestActivitiesImplementTheWorkflowsContract: every activity the workflows
// call by name is a method of Activities with the handle's input and result
// types, so a rename or a changed signature fails here, not in a running
// job.
func TestActivitiesImplementTheWorkflowsContract(t *testing.T) {
	typ := reflect.TypeFor[*Activities]()
	ctxType := reflect.TypeFor[context.Context]()
	errType := reflect.TypeFor[error]()
	for _, h := range workflows.Activities {
		m, ok := typ.MethodByName(h.Name())
		if !ok {
			t.Errorf("Activities has no method %s", h.Name())
			continue
		}
		in, out := h.Types()
		ft := m.Type // receiver first
		if ft.NumIn() != 3 || ft.In(1) != ctxType || ft.In(2) != in {
			t.Errorf("%s takes %v, want (context.Context, %v)", h.Name(), ft, in)
		}
		if out == reflect.TypeFor[struct{}]() {
			if ft.NumOut() != 1 || ft.Out(0) != errType {
				t.Errorf("%s returns %v, want error", h.Name(), ft)
			}
			continue
		}
		if ft.NumOut() != 2 || ft.Out(0) != out || ft.Out(1) != errType {
			t.Errorf("%s returns %v, want (%v, error)", h.Name(), ft, out)
		}
	}
}
