package workflows

import (
	"context"
	"fmt"
	"reflect"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
)

// registerActivityStubs registers, under every handle's name, a function of
// the activity's signature that fails when called: the tests mock the
// activities they expect (env.OnActivity by name), and an unexpected call
// fails the test instead of running media code. The workflows' unit tests
// cannot register package activities itself: it imports this package.
func registerActivityStubs(env *testsuite.TestWorkflowEnvironment) {
	ctxType := reflect.TypeFor[context.Context]()
	errType := reflect.TypeFor[error]()
	for _, h := range Activities {
		in, out := h.Types()
		outs := []reflect.Type{out, errType}
		if out == reflect.TypeFor[struct{}]() {
			outs = []reflect.Type{errType}
		}
		name := h.Name()
		fn := reflect.MakeFunc(reflect.FuncOf([]reflect.Type{ctxType, in}, outs, false), func([]reflect.Value) []reflect.Value {
			panic(fmt.Sprintf("activity %s called without a mock", name))
		})
		env.RegisterActivityWithOptions(fn.Interface(), activity.RegisterOptions{Name: name})
	}
}
