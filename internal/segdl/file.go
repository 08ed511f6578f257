package segdl

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/riptide-dev/riptide/internal/httpget"
)

// RangePart is the size of the byte ranges a large plain file is split in.
const RangePart = 8 << 20

// RangedAbove is the size above which a plain file is fetched in ranges:
// below it one request is as fast.
const RangedAbove = 2 * RangePart

// PlanFile makes the parts of a plain file at u: byte ranges of RangePart
// when the server answers a range request with the file's size and the
// file is over RangedAbove, else one part for the whole file. size is the
// file's size, -1 when unknown.
func PlanFile(ctx context.Context, client *http.Client, h http.Header, u *url.URL) (parts []Part, size int64, err error) {
	hh := h.Clone()
	if hh == nil {
		hh = http.Header{}
	}
	hh.Set("Range", "bytes=0-0")
	resp, err := httpget.Get(ctx, client, u, hh)
	if err != nil {
		return nil, 0, err
	}
	resp.Body.Close()
	size = -1
	if resp.StatusCode == http.StatusPartialContent {
		if _, total, ok := strings.Cut(resp.Header.Get("Content-Range"), "/"); ok {
			if n, err := strconv.ParseInt(total, 10, 64); err == nil && n > 0 {
				size = n
			}
		}
	} else if resp.ContentLength > 0 {
		size = resp.ContentLength
	}
	// Redirects are followed once here, not once per range.
	if resp.Request != nil && resp.Request.URL != nil {
		u = resp.Request.URL
	}
	if resp.StatusCode != http.StatusPartialContent || size <= RangedAbove {
		return []Part{{URL: u}}, size, nil
	}
	for off := int64(0); off < size; off += RangePart {
		parts = append(parts, Part{URL: u, Offset: off, Length: min(RangePart, size-off)})
	}
	return parts, size, nil
}
