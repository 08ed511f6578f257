package ytdlp

import (
	"errors"
	"os/exec"
	"testing"

	"github.com/riptide-dev/riptide/workflows"
	"go.temporal.io/sdk/temporal"
)

func TestClassifyYtdlpError(t *testing.T) {
	const cookies = " Use --cookies-from-browser or --cookies for the authentication. See  https://github.com/yt-dlp/yt-dlp/wiki/FAQ#how-do-i-pass-cookies-to-yt-dlp  for how to manually pass cookies. Also see  https://github.com/yt-dlp/yt-dlp/wiki/Extractors#exporting-youtube-cookies  for tips on effectively exporting YouTube cookies"
	const bugReport = "; please report this issue on  https://github.com/yt-dlp/yt-dlp/issues?q= , filling out the appropriate issue template. Confirm you are on the latest version using  yt-dlp -U"

	tests := []struct {
		name    string
		stderr  string
		errType string
		msg     string // the expected message; not checked when empty
	}{
		{
			name:    "private",
			stderr:  "ERROR: [youtube] dQw4w9WgXcQ: Private video. Sign in if you've been granted access to this video." + cookies,
			errType: workflows.ErrTypeContentUnavailable,
			msg:     "Private video. Sign in if you've been granted access to this video.",
		},
		{
			name:    "bot check",
			stderr:  "ERROR: [youtube] dQw4w9WgXcQ: Sign in to confirm you’re not a bot." + cookies,
			errType: workflows.ErrTypeRateLimited,
			msg:     "Sign in to confirm you’re not a bot.",
		},
		{
			name:    "bot check, ASCII apostrophe, older wording",
			stderr:  "ERROR: [youtube] dQw4w9WgXcQ: Sign in to confirm you're not a bot. This helps protect our community. Learn more",
			errType: workflows.ErrTypeRateLimited,
		},
		{
			name:    "captcha",
			stderr:  "ERROR: [youtube] dQw4w9WgXcQ: Video unavailable. YouTube is requiring a captcha challenge before playback",
			errType: workflows.ErrTypeRateLimited,
		},
		{
			name:    "rate limited",
			stderr:  "ERROR: [youtube] dQw4w9WgXcQ: Video unavailable. This content isn't available, try again later. The current session has been rate-limited by YouTube for up to an hour. It is recommended to use `-t sleep` to add a delay between video requests to avoid exceeding the rate limit. For more information, refer to  https://github.com/yt-dlp/yt-dlp/wiki/Extractors#this-content-isnt-available-try-again-later",
			errType: workflows.ErrTypeRateLimited,
			msg:     "Video unavailable. This content isn't available, try again later. The current session has been rate-limited by YouTube for up to an hour.",
		},
		{
			name:    "geo-blocked by the uploader",
			stderr:  "WARNING: [youtube] Unable to fetch GVS PO Token\nERROR: [youtube] dQw4w9WgXcQ: The uploader has not made this video available in your country\nThis video is available in Germany, Austria.\nYou might want to use a VPN or a proxy server (with --proxy) to workaround.\n",
			errType: workflows.ErrTypeContentUnavailable,
			msg:     "The uploader has not made this video available in your country",
		},
		{
			name:    "not available in your country",
			stderr:  "ERROR: [youtube] dQw4w9WgXcQ: Video unavailable. This video is not available in your country",
			errType: workflows.ErrTypeContentUnavailable,
		},
		{
			name:    "geo restriction",
			stderr:  "ERROR: [dailymotion] x7tgad0: This video is not available from your location due to geo restriction\nYou might want to use a VPN or a proxy server (with --proxy) to workaround.",
			errType: workflows.ErrTypeContentUnavailable,
		},
		{
			name:    "members only",
			stderr:  "ERROR: [youtube] Fv4wyXf5rDA: Join this channel to get access to members-only content like this video, and other exclusive perks.",
			errType: workflows.ErrTypeContentUnavailable,
		},
		{
			name:    "members level",
			stderr:  "ERROR: [youtube] Fv4wyXf5rDA: This video is available to this channel's members on level: Tier 1 (or any higher level). Join this channel to get access to members-only content and other exclusive perks.",
			errType: workflows.ErrTypeContentUnavailable,
		},
		{
			name:    "removed by uploader",
			stderr:  "ERROR: [youtube] dQw4w9WgXcQ: Video unavailable. This video has been removed by the uploader",
			errType: workflows.ErrTypeContentUnavailable,
		},
		{
			name:    "account terminated",
			stderr:  "ERROR: [youtube] dQw4w9WgXcQ: Video unavailable. This video is no longer available because the YouTube account associated with this video has been terminated.",
			errType: workflows.ErrTypeContentUnavailable,
		},
		{
			name:    "age gate",
			stderr:  "ERROR: [youtube] dQw4w9WgXcQ: Sign in to confirm your age. This video may be inappropriate for some users." + cookies,
			errType: workflows.ErrTypeContentUnavailable,
			msg:     "Sign in to confirm your age. This video may be inappropriate for some users.",
		},
		{
			name:    "video unavailable",
			stderr:  "ERROR: [youtube] dQw4w9WgXcQ: Video unavailable",
			errType: workflows.ErrTypeContentUnavailable,
		},
		{
			name:    "DRM",
			stderr:  "ERROR: [youtube] dQw4w9WgXcQ: This video is DRM protected",
			errType: workflows.ErrTypeDRMProtected,
			msg:     "This video is DRM protected",
		},
		{
			name:    "DRM from the format selection",
			stderr:  "ERROR: [Spotify] 4Uv2CUKBUnQH1ftVnHsbUe: This video is DRM protected",
			errType: workflows.ErrTypeDRMProtected,
		},
		{
			name:    "generic 404, as this yt-dlp prints it",
			stderr:  "WARNING: [generic] Falling back on generic information extractor\nERROR: [generic] None: Unable to download webpage: HTTP Error 404: File not found (caused by <HTTPError 404: 'File not found'>)" + bugReport,
			errType: workflows.ErrTypeNotFound,
			msg:     "Unable to download webpage: HTTP Error 404: File not found (caused by <HTTPError 404: 'File not found'>)",
		},
		{
			name:    "404, newer wording",
			stderr:  "ERROR: [generic] Unable to download webpage: HTTP Error 404: Not Found (caused by <HTTPError 404: Not Found>)",
			errType: workflows.ErrTypeNotFound,
		},
		{
			name:    "410",
			stderr:  "ERROR: [generic] None: Unable to download webpage: HTTP Error 410: Gone (caused by <HTTPError 410: 'Gone'>)" + bugReport,
			errType: workflows.ErrTypeNotFound,
		},
		{
			name:    "unsupported URL",
			stderr:  "WARNING: [generic] Falling back on generic information extractor\nERROR: Unsupported URL: https://example.com/",
			errType: workflows.ErrTypeUnsupported,
			msg:     "Unsupported URL: https://example.com/",
		},
		{
			name:    "no formats",
			stderr:  "ERROR: [generic] page: No video formats found!" + bugReport,
			errType: workflows.ErrTypeUnsupported,
			msg:     "No video formats found!",
		},
		{
			name:    "requested format not available",
			stderr:  "ERROR: [youtube] Ex2Z9kHufxU: Requested format is not available. Use --list-formats for a list of available formats",
			errType: workflows.ErrTypeUnsupported,
			msg:     "Requested format is not available.",
		},
		{
			name:    "429",
			stderr:  "ERROR: [generic] None: Unable to download webpage: HTTP Error 429: Too Many Requests (caused by <HTTPError 429: 'Too Many Requests'>)" + bugReport,
			errType: workflows.ErrTypeRateLimited,
		},
		{
			name:    "429 while downloading",
			stderr:  "ERROR: unable to download video data: HTTP Error 429: Too Many Requests",
			errType: workflows.ErrTypeRateLimited,
		},
		{
			name:    "upstream proxy's 429 to CONNECT (urllib)",
			stderr:  "ERROR: [generic] Unable to download webpage: <urlopen error Tunnel connection failed: 429 Too Many Requests> (caused by TransportError('<urlopen error Tunnel connection failed: 429 Too Many Requests>'))",
			errType: workflows.ErrTypeRateLimited,
		},
		{
			name:    "upstream proxy's 429 to CONNECT (requests)",
			stderr:  "ERROR: [generic] Unable to download webpage: ('Unable to connect to proxy', OSError('Tunnel connection failed: 429 Too Many Requests')) (caused by ProxyError(\"('Unable to connect to proxy', OSError('Tunnel connection failed: 429 Too Many Requests'))\"))",
			errType: workflows.ErrTypeRateLimited,
		},
		{
			name:    "instagram rate limit or login",
			stderr:  "ERROR: [Instagram] C1a2b3c4d5e: Requested content is not available, rate-limit reached or login required. Use --cookies, --cookies-from-browser, --username and --password, --netrc-cmd, or --netrc (instagram) to provide account credentials",
			errType: workflows.ErrTypeRateLimited,
		},
		{
			name:    "members only",
			stderr:  "ERROR: [youtube] dQw4w9WgXcQ: Join this channel to get access to members-only content like this video, and other exclusive perks.",
			errType: workflows.ErrTypeContentUnavailable,
		},
		{
			name:    "members only, available to members",
			stderr:  "ERROR: [youtube] dQw4w9WgXcQ: This video is available to this channel's members on level: Member (or any higher level). Join this YouTube channel from your computer or Android app.",
			errType: workflows.ErrTypeContentUnavailable,
		},
		{
			name:    "age gate",
			stderr:  "ERROR: [youtube] dQw4w9WgXcQ: Sign in to confirm your age. This video may be inappropriate for some users." + cookies,
			errType: workflows.ErrTypeContentUnavailable,
		},
		{
			name:    "503",
			stderr:  "ERROR: [generic] None: Unable to download webpage: HTTP Error 503: Service Unavailable (caused by <HTTPError 503: 'Service Unavailable'>)" + bugReport,
			errType: workflows.ErrTypeTechnical,
		},
		{
			name:    "500 while downloading",
			stderr:  "ERROR: unable to download video data: HTTP Error 500: Internal Server Error",
			errType: workflows.ErrTypeTechnical,
		},
		{
			name:    "403 while downloading",
			stderr:  "ERROR: unable to download video data: HTTP Error 403: Forbidden",
			errType: workflows.ErrTypeTechnical,
		},
		{
			name:    "connection refused",
			stderr:  "ERROR: [generic] None: Unable to download webpage: <urlopen error [Errno 111] Connection refused> (caused by URLError(ConnectionRefusedError(111, 'Connection refused')))",
			errType: workflows.ErrTypeTechnical,
		},
		{
			name:    "DNS",
			stderr:  "ERROR: [generic] None: Unable to download webpage: <urlopen error [Errno -3] Temporary failure in name resolution> (caused by URLError(gaierror(-3, 'Temporary failure in name resolution')))",
			errType: workflows.ErrTypeTechnical,
		},
		{
			name:    "timeout",
			stderr:  "ERROR: [youtube] dQw4w9WgXcQ: Unable to download API page: The read operation timed out (caused by TransportError('The read operation timed out'))",
			errType: workflows.ErrTypeTechnical,
		},
		{
			name:    "no ERROR line",
			stderr:  "Traceback (most recent call last):\n  File \"/usr/bin/yt-dlp\", line 8, in <module>\nKeyboardInterrupt\n",
			errType: workflows.ErrTypeTechnical,
		},
		{
			name:    "no output at all",
			errType: workflows.ErrTypeTechnical,
		},
	}
	exitErr := &exec.ExitError{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := classifyError(tc.stderr, exitErr)
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) {
				t.Fatalf("got %T %v, want an application error", err, err)
			}
			if appErr.Type() != tc.errType {
				t.Errorf("type %q, want %q (message %q)", appErr.Type(), tc.errType, appErr.Message())
			}
			if wantRetry := tc.errType == workflows.ErrTypeTechnical || tc.errType == workflows.ErrTypeRateLimited; appErr.NonRetryable() == wantRetry {
				t.Errorf("NonRetryable() = %v, want %v", appErr.NonRetryable(), !wantRetry)
			}
			if tc.msg != "" && appErr.Message() != tc.msg {
				t.Errorf("message %q, want %q", appErr.Message(), tc.msg)
			}
		})
	}
}
