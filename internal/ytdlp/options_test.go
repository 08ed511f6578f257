package ytdlp

import (
	"context"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOptionsValidateAndArgs(t *testing.T) {
	o := Options{ExtractorArgs: []string{"youtube:player_client=default,mweb;po_token=mweb.gvs+XYZ"}, FormatSort: "res:1080,+size,vcodec:h264", Impersonate: "chrome-124"}
	require.NoError(t, o.Validate())
	require.Equal(t, []string{"--extractor-args", "youtube:player_client=default,mweb;po_token=mweb.gvs+XYZ", "-S", "res:1080,+size,vcodec:h264", "--impersonate", "chrome-124"}, o.Args())
	for _, bad := range []Options{
		{ExtractorArgs: []string{"--exec rm"}}, {ExtractorArgs: []string{"noextractor"}},
		{FormatSort: "res --exec x"}, {FormatSort: "-S"}, {Impersonate: "--exec"}, {Impersonate: "chrome 1"},
	} {
		require.Error(t, bad.Validate(), "%+v", bad)
	}
	require.Empty(t, Options{}.Args())
}

// TestCheckImpersonateRefusesAYtdlpThatCannot: the yt-dlp on the test
// machine either lacks the option (old) or curl_cffi, or supports chrome.
func TestCheckImpersonateRefusesAYtdlpThatCannot(t *testing.T) {
	path, err := exec.LookPath("yt-dlp")
	if err != nil {
		t.Skip("no yt-dlp")
	}
	require.NoError(t, CheckImpersonate(context.Background(), path, ""))
	require.Error(t, CheckImpersonate(context.Background(), path, "no-such-browser"))
	if err := CheckImpersonate(context.Background(), path, "chrome"); err != nil {
		require.Regexp(t, "cannot impersonate|unavailable", err.Error())
	}
}
