//go:build integration

package pgtemporal

import (
	"bytes"
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/riptide-dev/riptide/workflows"
)

// syncBuffer collects the children's output for a failure message.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServerOnPostgresSurvivesRestarts starts PostgreSQL and the Temporal
// server on it as the e2e harness does, then kills each with SIGKILL and
// starts it again: the namespace and riptide's Keyword search attributes
// are there each time, and the server answers after PostgreSQL came back.
func TestServerOnPostgresSurvivesRestarts(t *testing.T) {
	serverBin, err1 := Bin(ServerBinEnv, "temporal-server")
	sqlTool, err2 := Bin(SQLToolBinEnv, "temporal-sql-tool")
	_, err3 := PostgresBinDir()
	for _, err := range []error{err1, err2, err3} {
		if err != nil {
			if os.Getenv("RIPTIDE_REQUIRE_INTEGRATION") == "1" {
				t.Fatal(err)
			}
			t.Skip(err)
		}
	}
	ctx := context.Background()
	log := &syncBuffer{}
	defer func() {
		if t.Failed() {
			t.Log(log.String())
		}
	}()
	pg, err := StartPostgres(ctx, log)
	require.NoError(t, err)
	defer pg.Remove()
	s, err := StartServer(ctx, ServerOptions{ServerBin: serverBin, SQLToolBin: sqlTool, Postgres: pg,
		Database: "temporal", Dir: t.TempDir(), Log: log})
	require.NoError(t, err)
	defer s.Stop(10 * time.Second)

	c, err := client.Dial(client.Options{HostPort: s.Addr(), Namespace: "default", Logger: quietLogger{}})
	require.NoError(t, err)
	defer c.Close()
	checkAttrs := func() {
		t.Helper()
		resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
		require.NoError(t, err)
		for _, name := range workflows.SearchAttributes {
			require.Equal(t, enumspb.INDEXED_VALUE_TYPE_KEYWORD, resp.GetCustomAttributes()[name], name)
		}
	}
	checkAttrs()

	// The client reconnects on its own backoff after each crash, so the
	// first calls may still fail with the dead connection's error.
	answers := func(msg string) {
		t.Helper()
		require.Eventually(t, func() bool {
			_, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
			return err == nil
		}, time.Minute, 200*time.Millisecond, msg)
	}
	s.Kill()
	require.NoError(t, s.Start(ctx))
	answers("the client reaches the restarted server")
	checkAttrs()

	pg.Kill()
	require.NoError(t, pg.Start(ctx))
	answers("the server answers once PostgreSQL is back")
	checkAttrs()
}
