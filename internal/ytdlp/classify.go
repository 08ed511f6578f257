package ytdlp

import (
	"errors"
	"regexp"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/riptide-dev/riptide/internal/failure"
	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/internal/textcut"
	"github.com/riptide-dev/riptide/workflows"
)

// ytdlpRule maps yt-dlp error messages containing any of match (lower case)
// to an error type.
type ytdlpRule struct {
	errType string
	match   []string
}

// ytdlpRules are tried in order; the first match wins and an unmatched error
// is technical, so an unknown failure is retried rather than given up on.
// That includes HTTP Error 403: from yt-dlp it mostly means a media URL that
// expired or was refused to this session (YouTube does that), which a fresh
// extraction fixes.
var ytdlpRules = []ytdlpRule{
	// The guarded proxy's refusal, quoted from its status line.
	{workflows.ErrTypeBlockedAddress, []string{strings.ToLower(netguard.RefusalReason)}},
	// First the transient conditions whose wording overlaps permanent ones:
	// YouTube's bot check says "Sign in to confirm" like its age gate, its
	// rate limit starts "Video unavailable" like a removed video, and a
	// server error (HTTP Error 5xx) says nothing about the content. The
	// site's rate limits and bot checks (a 429 from the site or from an
	// upstream proxy's CONNECT) back off per site (RateLimited).
	{workflows.ErrTypeRateLimited, []string{
		"not a bot", "captcha", "rate-limited", "rate-limit", "rate limit", "try again later",
		"http error 429", "too many requests", "429 too many", "throttled",
	}},
	{workflows.ErrTypeTechnical, []string{"http error 5"}},
	{workflows.ErrTypeDRMProtected, []string{"drm protected"}},
	// Before the content checks: "Unable to download webpage: HTTP Error
	// 404" is about the URL, whatever else the message says.
	{workflows.ErrTypeNotFound, []string{"http error 404", "http error 410"}},
	{workflows.ErrTypeContentUnavailable, []string{
		"private video", "this video is private",
		"members-only", "join this channel", "available to this channel's members",
		"available in your country", "geo restriction", "geo-restricted",
		"has been removed", "has been terminated", "no longer available",
		"sign in to confirm your age", "age-restricted", "inappropriate for some users",
		"only available for registered users",
		"video unavailable",
	}},
	// "Requested format is not available" is permanent too: 'bv*+ba/b' falls
	// back to any format with audio or video, so it means the extractor found
	// none (only storyboards or images), and the next attempt would find the
	// same.
	{workflows.ErrTypeUnsupported, []string{
		"unsupported url", "no video formats found", "requested format is not available",
	}},
}

// ytdlpPrefix matches the "[extractor] id: " that yt-dlp puts before most
// messages; the id is only stripped after an extractor tag so that
// "Unsupported URL: ..." keeps its subject.
var ytdlpPrefix = regexp.MustCompile(`^\[[^\]]+\]\s*(?:[^\s:]+:\s+)?`)

// ytdlpAdvice starts the parts of messages that address yt-dlp's command-line
// user (flags to try, where to report bugs), not riptide's.
var ytdlpAdvice = []string{" Use --", " It is recommended to use", "please report this issue", "Please report this issue"}

// classifyError turns a failed yt-dlp run into a typed application
// error, judging by the last "ERROR:" line of its stderr. exitErr is the
// error the run ended with; it becomes the cause of retryable errors.
func classifyError(stderr string, exitErr error) error {
	msg, ok := ytdlpErrorMessage(stderr)
	if !ok {
		// Killed, crashed or a Python traceback: nothing says it is final.
		return failure.Technical(exitErr, "yt-dlp failed (%v): %s", exitErr, textcut.LastLine(stderr))
	}
	lower := strings.ToLower(msg)
	for _, r := range ytdlpRules {
		for _, m := range r.match {
			if strings.Contains(lower, m) {
				if r.errType == workflows.ErrTypeTechnical {
					return failure.Technical(exitErr, "%s", msg)
				}
				if r.errType == workflows.ErrTypeRateLimited {
					return failure.RateLimited(exitErr, 0, "%s", msg)
				}
				if r.errType == workflows.ErrTypeBlockedAddress {
					// yt-dlp's wording may quote the URL it was sent to
					// (a redirect's, a fragment's): the client gets the
					// plain sentence, the history keeps yt-dlp's as cause.
					return temporal.NewNonRetryableApplicationError(netguard.MsgSourceBlocked, r.errType, errors.New(msg))
				}
				return failure.Permanent(r.errType, "%s", msg)
			}
		}
	}
	return failure.Technical(exitErr, "%s", msg)
}

// ytdlpErrorMessage returns the text of the last "ERROR:" line in stderr
// without yt-dlp's prefixes and advice.
func ytdlpErrorMessage(stderr string) (string, bool) {
	var line string
	for l := range strings.Lines(stderr) {
		if rest, ok := strings.CutPrefix(l, "ERROR:"); ok {
			line = rest
		}
	}
	line = strings.TrimSpace(line)
	if line == "" {
		return "", false
	}
	msg := ytdlpPrefix.ReplaceAllString(line, "")
	for _, a := range ytdlpAdvice {
		if i := strings.Index(msg, a); i > 0 {
			msg = msg[:i]
		}
	}
	msg = strings.TrimRight(msg, " ;,")
	if msg == "" {
		return line, true
	}
	return msg, true
}
