//go:build integration

package e2e

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestGzipBombJobFails submits a direct "video/mp4" URL answered with
// 200 MiB of zeros gzipped to a few hundred KiB and Content-Encoding: gzip.
// The worker asks for identity and refuses the encoded body: the job fails
// for good in words, on its first attempt, with nothing in the bucket and
// nothing left in the work directory.
func TestGzipBombJobFails(t *testing.T) {
	requireStack(t)
	t.Parallel()
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 200 {
		_, _ = zw.Write(zeros)
	}
	require.NoError(t, zw.Close())
	var gets atomic.Int32
	var asked atomic.Value
	src := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			gets.Add(1)
			asked.Store(r.Header.Get("Accept-Encoding"))
		}
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", strconv.Itoa(bomb.Len()))
		_, _ = w.Write(bomb.Bytes())
	}))
	defer src.Close()

	folder := "e2e/bomb-" + uuid.NewString()[:8]
	id := submit(t, map[string]any{"url": src.URL + "/bomb.mp4", "folder": folder, "webhook_url": stack.hookURL})
	done := stack.hooks.waitTerminal(t, id, jobTimeout)
	require.Equal(t, "job_failed", done.Body["type"])
	require.Contains(t, done.Body["error"], `Content-Encoding "gzip"`)
	require.Equal(t, "identity", asked.Load())
	require.EqualValues(t, 1, gets.Load(), "a refused encoding is not retried")
	objects, uploads := objectsUnder(t, folder+"/")
	require.Zero(t, objects+uploads, "nothing stored")
	_, err := os.Stat(filepath.Join(stack.cfg.Worker.WorkDir, id))
	require.True(t, os.IsNotExist(err), "the job directory is gone: %v", err)
}

// TestBatchOfAHugeFeedIsRefused lists a feed of 1.2 million items
// (~150 MB, generated as it is sent): POST /batches answers 422 saying the
// feed lists over 100,000 episodes, the worker having read only the start
// of it.
func TestBatchOfAHugeFeedIsRefused(t *testing.T) {
	requireStack(t)
	t.Parallel()
	const items = 1_200_000
	var sent atomic.Int64
	feed := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		write := func(s string) bool {
			n, err := io.WriteString(w, s)
			sent.Add(int64(n))
			return err == nil
		}
		if !write(`<?xml version="1.0"?><rss version="2.0"><channel><title>Huge</title>`) {
			return
		}
		for i := range items {
			if !write(fmt.Sprintf(`<item><title>E%d</title><enclosure url="https://cdn.example/%d.mp3" type="audio/mpeg"/></item>`, i, i)) {
				return
			}
		}
		write(`</channel></rss>`)
	}))
	defer feed.Close()

	status, out := callAt(t, batchAPI(t), http.MethodPost, "/batches",
		map[string]any{"show_url": feed.URL + "/feed.xml", "folder": "e2e/huge-" + uuid.NewString()[:8]})
	require.Equal(t, http.StatusUnprocessableEntity, status, "%v", out)
	require.Contains(t, out["message"], "lists over 100000 episodes")
	require.Less(t, sent.Load(), int64(items*90/2), "the worker read most of the feed")
}
