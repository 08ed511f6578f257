package spotify

// MaxAttempts is maxAttempts, for the external tests.
const MaxAttempts = maxAttempts
