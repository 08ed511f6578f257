package activities

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/riptide-dev/riptide/internal/ffmpeg"
	"github.com/riptide-dev/riptide/workflows"
)

func TestYtdlpMetadataKeepsTheInfoJSONsTypes(t *testing.T) {
	raw := []byte(`{"_type": "video", "id": "abc", "title": "A talk", "duration": 93.5, "width": 1920, "height": 1080,
		"extractor": "youtube", "uploader": "Someone", "thumbnail": "https://i.example/abc.jpg", "description": "d",
		"view_count": 12345, "like_count": 67, "upload_date": "20240131", "filesize_approx": 1.5e7,
		"webpage_url": "https://example.com/watch?v=abc", "is_live": false}`)
	md, err := ytdlpMetadata("https://example.com/watch?v=abc", raw)
	require.NoError(t, err)
	b, err := json.Marshal(md)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	require.Equal(t, map[string]any{
		"title": "A talk", "duration": 93.5, "width": 1920.0, "height": 1080.0, "extractor": "youtube",
		"uploader": "Someone", "thumbnail": "https://i.example/abc.jpg", "description": "d", "view_count": 12345.0,
		"like_count": 67.0, "upload_date": "20240131", "filesize_approx": 1.5e7, "id": "abc",
		"webpage_url": "https://example.com/watch?v=abc", "is_live": false, "source": "ytdlp",
	}, m)
	require.Contains(t, string(b), `"filesize_approx":15000000`, "an integer, as yt-dlp's")
}

func TestYtdlpMetadataUnknownIsNull(t *testing.T) {
	md, err := ytdlpMetadata("u", []byte(`{"title": "x", "duration": null, "view_count": -1, "width": 1e300,
		"thumbnails": [{"url": "https://i.example/small.jpg"}, {"url": "https://i.example/best.jpg"}],
		"requested_formats": [{"filesize": 100}, {"filesize_approx": 50}]}`))
	require.NoError(t, err)
	require.Nil(t, md.Duration)
	require.Nil(t, md.ViewCount, "a negative count is no count")
	require.Nil(t, md.Width, "nor an absurd one")
	require.Nil(t, md.Uploader)
	require.Equal(t, "https://i.example/best.jpg", *md.Thumbnail, "yt-dlp lists the best thumbnail last")
	require.Equal(t, int64(150), *md.FilesizeApprox, "the selected formats' sizes add up")
}

func TestYtdlpMetadataRefusesAPlaylist(t *testing.T) {
	for _, typ := range []string{"playlist", "multi_video"} {
		_, err := ytdlpMetadata("https://example.com/list", []byte(`{"_type": "`+typ+`", "entries": []}`))
		appErr, ok := errors.AsType[*temporal.ApplicationError](err)
		require.True(t, ok, "%v", err)
		require.Equal(t, workflows.ErrTypeUnsupported, appErr.Type())
		require.True(t, appErr.NonRetryable())
		require.Contains(t, appErr.Message(), "playlist")
	}
}

func TestDirectMetadataNamesTheFile(t *testing.T) {
	u, _ := url.Parse("https://media.example/clips/My%20Clip.mp4")
	md := directMetadata(u, &ffmpeg.URLMedia{Duration: 3, Width: 320, Height: 240, Size: 4096, Date: "2024-01-31T00:00:00Z"})
	require.Equal(t, "My Clip", *md.Title)
	require.Equal(t, "generic", *md.Extractor)
	require.Equal(t, 3.0, *md.Duration)
	require.Equal(t, int64(320), *md.Width)
	require.Equal(t, int64(4096), *md.FilesizeApprox)
	require.Equal(t, "20240131", *md.UploadDate)
	require.Equal(t, "http", md.Source)
	require.Nil(t, md.ViewCount)
}

func TestDeleteObjectsDeletesEveryKeyButManifests(t *testing.T) {
	store := &memStore{objects: map[string][]byte{"a.mp4": {1}, "a.en.vtt": {2}, "b.mp4": {3}}, types: map[string]string{}}
	a := &Activities{Store: store}
	require.NoError(t, a.DeleteObjects(context.Background(), workflows.DeleteObjectsInput{Keys: []string{"a.mp4", "a.en.vtt", "gone.jpg"}}))
	require.Equal(t, map[string][]byte{"b.mp4": {3}}, store.objects)

	err := a.DeleteObjects(context.Background(), workflows.DeleteObjectsInput{Keys: []string{workflows.ManifestKey("x")}})
	appErr, ok := errors.AsType[*temporal.ApplicationError](err)
	require.True(t, ok, "%v", err)
	require.True(t, appErr.NonRetryable())

	store.failKey = "b.mp4"
	err = a.DeleteObjects(context.Background(), workflows.DeleteObjectsInput{Keys: []string{"b.mp4"}})
	appErr, ok = errors.AsType[*temporal.ApplicationError](err)
	require.True(t, ok, "%v", err)
	require.False(t, appErr.NonRetryable(), "an S3 error is retried")
}
