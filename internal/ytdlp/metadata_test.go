package ytdlp

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/riptide-dev/riptide/workflows"
)

func TestMetadataAsksForOneItemWithoutDownloading(t *testing.T) {
	path, argsFile := fakeYtdlp(t, `print(json.dumps({"id": "v", "title": "T"}))`)
	raw, err := Runner{Path: path}.Metadata(context.Background(), "https://video.example/watch?v=1")
	require.NoError(t, err)
	require.JSONEq(t, `{"id": "v", "title": "T"}`, string(raw))
	args, err := os.ReadFile(argsFile)
	require.NoError(t, err)
	for _, a := range []string{"--ignore-config", "--no-playlist", "--flat-playlist", "-J", "--skip-download", "-- https://video.example/watch?v=1"} {
		require.Contains(t, string(args), a)
	}
}

func TestMetadataRefusesAnEndlessInfo(t *testing.T) {
	n := MaxMetadataBytes
	t.Cleanup(func() { MaxMetadataBytes = n })
	MaxMetadataBytes = 1 << 16
	path, _ := fakeYtdlp(t, `
out = sys.stdout
out.write('{"formats": [')
while True:
    out.write('{"format_id": "f", "url": "https://video.example/f"},')
`)
	_, err := Runner{Path: path}.Metadata(context.Background(), "https://video.example/v")
	appErr, ok := errors.AsType[*temporal.ApplicationError](err)
	require.True(t, ok, "%v", err)
	require.Equal(t, workflows.ErrTypeUnsupported, appErr.Type())
	require.True(t, strings.Contains(appErr.Message(), "larger than"), appErr.Message())
}

func TestMetadataRefusesANonHTTPURL(t *testing.T) {
	_, err := Runner{Path: "/nonexistent/yt-dlp"}.Metadata(context.Background(), "file:///etc/passwd")
	appErr, ok := errors.AsType[*temporal.ApplicationError](err)
	require.True(t, ok, "%v", err)
	require.Equal(t, workflows.ErrTypeInvalidInput, appErr.Type())
}
