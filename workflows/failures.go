package workflows

// Application error types: how an activity says why it failed. The workflow
// decides a job's outcome from them, and the retry policies list the
// permanent ones as non-retryable.
const (
	// ErrTypeTechnical: network, 5xx, S3 errors. Retried.
	ErrTypeTechnical = "TechnicalError"
	// ErrTypeRateLimited: the site rate-limits or bot-checks riptide (a
	// 429, "Sign in to confirm you're not a bot"). Retried after the
	// site's cooldown (the error's NextRetryDelay), through another
	// upstream proxy; the job fails when the attempts are spent.
	ErrTypeRateLimited = "RateLimited"
	// ErrTypeContentUnavailable: private, members-only, geo-blocked, removed
	// or age-gated content. Job ends as Warning, without a webhook.
	ErrTypeContentUnavailable = "ContentUnavailable"
	// ErrTypeDRMProtected: the content is DRM protected. Job ends Skipped.
	ErrTypeDRMProtected = "DRMProtected"
	// ErrTypeUnsupported: nothing riptide can download at that URL.
	ErrTypeUnsupported = "UnsupportedSource"
	// ErrTypeNotFound: the source answered 404 or 410.
	ErrTypeNotFound = "SourceNotFound"
	// ErrTypeInvalidInput: the request itself is wrong (e.g. a codec the
	// requested container cannot hold without re-encoding).
	ErrTypeInvalidInput = "InvalidInput"
	// ErrTypeWebhookGone: the receiver answered 410 Gone; stop retrying.
	ErrTypeWebhookGone = "WebhookGone"
	// ErrTypeBlockedAddress: the URL led to a loopback, private or other
	// non-public address, which riptide refuses to connect to.
	ErrTypeBlockedAddress = "BlockedAddress"
	// ErrTypeFilesGone: the worker asked to mux or upload no longer holds
	// the job's files; the chain starts again from the download.
	ErrTypeFilesGone = "FilesGone"
	// ErrTypeBatchState: a batch update that its state does not allow
	// (starting or renaming a batch that is not paused).
	ErrTypeBatchState = "BatchState"
)

// PermanentErrorTypes are never worth retrying.
var PermanentErrorTypes = []string{
	ErrTypeContentUnavailable,
	ErrTypeDRMProtected,
	ErrTypeUnsupported,
	ErrTypeNotFound,
	ErrTypeInvalidInput,
	ErrTypeWebhookGone,
	ErrTypeBlockedAddress,
}
