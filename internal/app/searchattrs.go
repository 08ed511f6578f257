package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/riptide-dev/riptide/workflows"
)

// ErrCannotCheckSearchAttributes means the server would not list the
// namespace's search attributes (a managed service may not let a worker's
// credentials do that); the worker runs on without the check.
var ErrCannotCheckSearchAttributes = errors.New("cannot list the namespace's search attributes")

// CheckSearchAttributes fails, naming them, when riptide's custom search
// attributes are not registered as Keyword in the namespace. Without them
// every job's workflow task would fail at its first status upsert, so the
// worker refuses to start instead.
func CheckSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		var denied *serviceerror.PermissionDenied
		var unimplemented *serviceerror.Unimplemented
		if errors.As(err, &denied) || errors.As(err, &unimplemented) {
			return fmt.Errorf("%w: %v", ErrCannotCheckSearchAttributes, err)
		}
		return fmt.Errorf("listing search attributes: %w", err)
	}
	missing := MissingSearchAttributes(resp.GetCustomAttributes())
	if len(missing) == 0 {
		return nil
	}
	args := make([]string, len(missing))
	for i, name := range missing {
		args[i] = "--name " + name + " --type Keyword"
	}
	return fmt.Errorf("namespace %q lacks the Keyword search attributes %s; create them with "+
		"`temporal operator search-attribute create --namespace %s %s` (README: An existing Temporal cluster)",
		namespace, strings.Join(missing, ", "), namespace, strings.Join(args, " "))
}

// MissingSearchAttributes lists riptide's search attributes that have is
// missing or has with another type than Keyword.
func MissingSearchAttributes(have map[string]enumspb.IndexedValueType) []string {
	var missing []string
	for _, name := range workflows.SearchAttributes {
		if have[name] != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
			missing = append(missing, name)
		}
	}
	return missing
}
