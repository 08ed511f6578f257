package jobs

import (
	"net/url"
	"strings"
)

// UIURL is the page of one workflow run in the Temporal Web UI at base.
func UIURL(base, namespace, workflowID, runID string) string {
	return strings.TrimSuffix(base, "/") + "/namespaces/" + url.PathEscape(namespace) +
		"/workflows/" + url.PathEscape(workflowID) + "/" + url.PathEscape(runID) + "/history"
}
