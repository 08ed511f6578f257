package activities

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/riptide-dev/riptide/workflows"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// memStore is an in-memory Store.
type memStore struct {
	objects map[string][]byte
	types   map[string]string
	failKey string
}

func (m *memStore) Upload(_ context.Context, key, path, contentType string, onProgress func(int64)) (int64, error) {
	if key == m.failKey {
		return 0, errors.New("connection reset by peer")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	if onProgress != nil {
		onProgress(int64(len(b)))
	}
	m.objects[key], m.types[key] = b, contentType
	return int64(len(b)), nil
}

func (m *memStore) Delete(_ context.Context, key string) error {
	if key == m.failKey {
		return errors.New("connection reset by peer")
	}
	delete(m.objects, key)
	delete(m.types, key)
	return nil
}

func (m *memStore) PresignGet(_ context.Context, key string) (string, error) {
	return "https://s3.test/" + key + "?sig=1", nil
}

func TestUploadPutsMediaAndSubtitlesBeside(t *testing.T) {
	dir := t.TempDir()
	media, sub := filepath.Join(dir, "output.mp4"), filepath.Join(dir, "src.en.vtt")
	require.NoError(t, os.WriteFile(media, []byte("media-bytes"), 0o644))
	require.NoError(t, os.WriteFile(sub, []byte("WEBVTT"), 0o644))
	store := &memStore{objects: map[string][]byte{}, types: map[string]string{}}

	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(&Activities{Store: store})
	v, err := env.ExecuteActivity((&Activities{}).Upload, workflows.UploadInput{
		JobID: "j", Path: media, Key: "f/title-j.mp4",
		Subtitles: []workflows.Subtitle{{Path: sub, Lang: "en", Ext: "vtt"}},
	})
	require.NoError(t, err)
	var res workflows.UploadResult
	require.NoError(t, v.Get(&res))
	require.Equal(t, workflows.UploadResult{
		Key: "f/title-j.mp4", URL: "https://s3.test/f/title-j.mp4?sig=1", Bytes: 11,
		SubtitleKeys: []string{"f/title-j.en.vtt"},
	}, res)
	require.Equal(t, "media-bytes", string(store.objects["f/title-j.mp4"]))
	require.Equal(t, "video/mp4", store.types["f/title-j.mp4"])
	require.Equal(t, "WEBVTT", string(store.objects["f/title-j.en.vtt"]))
	require.Equal(t, "text/vtt", store.types["f/title-j.en.vtt"])
}

func TestUploadFailureIsRetryable(t *testing.T) {
	dir := t.TempDir()
	media := filepath.Join(dir, "output.mp4")
	require.NoError(t, os.WriteFile(media, []byte("x"), 0o644))
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(&Activities{Store: &memStore{failKey: "k.mp4"}})
	_, err := env.ExecuteActivity((&Activities{}).Upload, workflows.UploadInput{JobID: "j", Path: media, Key: "k.mp4"})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%v", err)
	require.Equal(t, workflows.ErrTypeTechnical, appErr.Type())
	require.False(t, appErr.NonRetryable())
}
