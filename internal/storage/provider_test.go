package storage

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/workflows"
)

var testTuning = Settings{PresignTTL: time.Hour, PartSize: 5 << 20, Concurrency: 2}

func TestOpenRefusesIncompleteTargets(t *testing.T) {
	for _, tg := range []workflows.StorageTarget{
		{Provider: "ftp", Bucket: "b"},
		// Never the worker's own ambient AWS credentials for a client's bucket.
		{Provider: workflows.ProviderS3, Bucket: "b"},
		{Provider: workflows.ProviderBlob, Bucket: "c", AccountName: "a"},
		{Provider: workflows.ProviderGCS, Bucket: "b", ServiceAccountJSON: `{"type":"authorized_user"}`},
	} {
		_, err := Open(context.Background(), tg, testTuning, nil)
		require.Error(t, err, "%+v", tg)
	}
}

func TestCacheKeepsOneClientPerTarget(t *testing.T) {
	c := &Cache{Tuning: testTuning}
	a := workflows.StorageTarget{Provider: workflows.ProviderBlob, Bucket: "c", AccountName: "acct", AccountKey: "a2V5"}
	p1, err := c.Open(context.Background(), a)
	require.NoError(t, err)
	p2, err := c.Open(context.Background(), a)
	require.NoError(t, err)
	require.Same(t, p1, p2)
	rotated := a
	rotated.AccountKey = "a2V5Mg=="
	p3, err := c.Open(context.Background(), rotated)
	require.NoError(t, err)
	require.NotSame(t, p1, p3, "a rotated key gets a new client")
}

func TestSASOnlyContainerSignsNoURL(t *testing.T) {
	p, err := Open(context.Background(), workflows.StorageTarget{Provider: workflows.ProviderBlob, Bucket: "c", AccountName: "acct",
		SASToken: "sv=2024&sig=abc"}, testTuning, nil)
	require.NoError(t, err)
	_, err = p.PresignGet(context.Background(), "k")
	require.ErrorIs(t, err, ErrNoSignedURL)
}
