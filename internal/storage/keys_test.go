//go:build integration

package storage

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestKeysListsAPrefixAcrossPagesUpToALimit: Keys follows S3's pages
// (versitygw answers 1,000 keys a page), stops at the limit and leaves
// other prefixes out.
func TestKeysListsAPrefixAcrossPagesUpToALimit(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	for i := range 1005 {
		require.NoError(t, s.PutObject(ctx, fmt.Sprintf("a/seen-%04d.json", i), []byte("{}"), "application/json"))
	}
	require.NoError(t, s.PutObject(ctx, "a-other/seen-0.json", []byte("{}"), ""))
	require.NoError(t, s.PutObject(ctx, "b/seen-0.json", []byte("{}"), ""))

	keys, err := s.Keys(ctx, "a/seen-", 5000)
	require.NoError(t, err)
	require.Len(t, keys, 1005)
	require.Equal(t, "a/seen-0000.json", keys[0])
	require.Equal(t, "a/seen-1004.json", keys[1004])

	keys, err = s.Keys(ctx, "a/seen-", 3)
	require.NoError(t, err)
	require.Equal(t, []string{"a/seen-0000.json", "a/seen-0001.json", "a/seen-0002.json"}, keys)

	require.NoError(t, s.Delete(ctx, "b/seen-0.json"))
	keys, err = s.Keys(ctx, "b/", 10)
	require.NoError(t, err)
	require.Empty(t, keys)
}
