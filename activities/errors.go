package activities

import (
	"fmt"

	"github.com/riptide-dev/riptide/workflows"
	"go.temporal.io/sdk/temporal"
)

func permanent(errType, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), errType, nil)
}

func technical(cause error, format string, args ...any) error {
	return temporal.NewApplicationErrorWithCause(fmt.Sprintf(format, args...), workflows.ErrTypeTechnical, cause)
}
