package activities

import "github.com/riptide-dev/riptide/internal/failure"

// The activities fail with the failure package's typed errors, under the
// short names they have always used here.
var (
	permanent = failure.Permanent
	technical = failure.Technical
)
