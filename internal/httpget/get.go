package httpget

import (
	"context"
	"net/http"
	"net/url"
)

// Get sends one GET for u through client the way Fetch does: no
// transparent decompression, the failure statuses mapped to typed errors
// (404 and 410 to a permanent ErrTypeNotFound, 5xx and 429 to technical
// ones, a refused address to ErrTypeBlockedAddress), a body with a
// Content-Encoding refused. header adds request headers (a source's own,
// from yt-dlp). The caller closes the body. internal/livehls fetches
// playlists and segments with it, so they pass the same guard and checks
// as every native download.
func Get(ctx context.Context, client *http.Client, u *url.URL, header http.Header) (*http.Response, error) {
	resp, err := get(ctx, client, u, 0, header)
	if err != nil {
		return nil, err
	}
	if err := checkEncoding(resp); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, nil
}
