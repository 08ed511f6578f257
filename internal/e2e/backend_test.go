//go:build integration

package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/internal/pgtemporal"
)

// temporalBackendEnv picks the Temporal server the tests run on: unset, the
// CLI's dev server (SQLite); "postgres", the multi-service temporal-server
// on PostgreSQL with its production dynamic config (internal/pgtemporal),
// as `make test-prod-temporal` runs them.
const temporalBackendEnv = "RIPTIDE_TEMPORAL_BACKEND"

func onPostgres() bool { return os.Getenv(temporalBackendEnv) == "postgres" }

// testTemporal is a Temporal server a test (or TestMain) started, which it
// can crash and start again on the same state and address.
type testTemporal interface {
	Addr() string
	Kill()
	Restart(ctx context.Context) error
	Stop()
}

// checkTemporalTools reports a missing binary of the selected backend.
func checkTemporalTools() error {
	if !onPostgres() {
		_, err := devstack.Tool(devstack.TemporalBinEnv, "temporal")
		return err
	}
	if _, err := pgtemporal.Bin(pgtemporal.ServerBinEnv, "temporal-server"); err != nil {
		return err
	}
	if _, err := pgtemporal.Bin(pgtemporal.SQLToolBinEnv, "temporal-sql-tool"); err != nil {
		return err
	}
	_, err := pgtemporal.PostgresBinDir()
	return err
}

// startTemporal starts a Temporal server of the selected backend keeping
// its state under dir, namespace "default" with riptide's search
// attributes.
func startTemporal(ctx context.Context, dir string, log io.Writer) (testTemporal, error) {
	if onPostgres() {
		return startPGTemporal(ctx, dir, log)
	}
	bin, err := devstack.Tool(devstack.TemporalBinEnv, "temporal")
	if err != nil {
		return nil, err
	}
	port, err := devstack.FreePort()
	if err != nil {
		return nil, err
	}
	d := &devTemporal{o: devstack.TemporalOptions{
		Bin: bin, DBFile: filepath.Join(dir, "temporal.db"), Port: port, Namespace: "default", Log: log}}
	return d, d.Restart(ctx)
}

type devTemporal struct {
	o devstack.TemporalOptions
	p *devstack.Proc
}

func (d *devTemporal) Addr() string { return fmt.Sprintf("127.0.0.1:%d", d.o.Port) }
func (d *devTemporal) Kill() {
	if d.p != nil {
		d.p.Kill()
		d.p = nil
	}
}
func (d *devTemporal) Stop() {
	if d.p != nil {
		d.p.Stop(10 * time.Second)
		d.p = nil
	}
}
func (d *devTemporal) Restart(ctx context.Context) error {
	p, err := devstack.StartTemporal(ctx, d.o)
	d.p = p
	return err
}

// The PostgreSQL cluster every server of a run shares, each server on
// databases of its own; stopped by stopPostgres at the end of TestMain.
var pg struct {
	sync.Mutex
	cluster *pgtemporal.Postgres
	servers int
}

// pgTemporal is a temporal-server on PostgreSQL; own is its cluster when
// it has one of its own (startTemporalOwnDatabase).
type pgTemporal struct {
	*pgtemporal.Server
	own *pgtemporal.Postgres
}

func (p pgTemporal) Stop() {
	p.Server.Stop(20 * time.Second)
	if p.own != nil {
		p.own.Stop(10 * time.Second)
		p.own.Remove()
	}
}
func (p pgTemporal) Restart(ctx context.Context) error { return p.Start(ctx) }

// databaseCrasher is a testTemporal whose database a test may crash and
// start again: the server on a PostgreSQL cluster of its own.
type databaseCrasher interface {
	KillDatabase()
	RestartDatabase(ctx context.Context) error
	RollServer(ctx context.Context) error
}

func (p pgTemporal) KillDatabase()                             { p.own.Kill() }
func (p pgTemporal) RestartDatabase(ctx context.Context) error { return p.own.Start(ctx) }

// RollServer restarts the server gracefully on its running database: the
// step README's runbook asks for after a database crash.
func (p pgTemporal) RollServer(ctx context.Context) error {
	p.Server.Stop(20 * time.Second)
	return p.Start(ctx)
}

// startTemporalOwnDatabase is startTemporal, except that on PostgreSQL the
// server gets a cluster of its own (a databaseCrasher), so a test can
// crash the database without touching the other tests' servers.
func startTemporalOwnDatabase(ctx context.Context, dir string, log io.Writer) (testTemporal, error) {
	if !onPostgres() {
		return startTemporal(ctx, dir, log)
	}
	own, err := pgtemporal.StartPostgres(ctx, log)
	if err != nil {
		return nil, err
	}
	tp, err := startPGServer(ctx, own, "temporal", dir, log)
	if err != nil {
		own.Remove()
		return nil, err
	}
	tp.own = own
	return tp, nil
}

func startPGTemporal(ctx context.Context, dir string, log io.Writer) (testTemporal, error) {
	pg.Lock()
	if pg.cluster == nil {
		var err error
		if pg.cluster, err = pgtemporal.StartPostgres(ctx, log); err != nil {
			pg.Unlock()
			return nil, err
		}
	}
	pg.servers++
	db := fmt.Sprintf("temporal_%d", pg.servers)
	pg.Unlock()
	return startPGServer(ctx, pg.cluster, db, dir, log)
}

// startPGServer starts a temporal-server on database db of cluster.
func startPGServer(ctx context.Context, cluster *pgtemporal.Postgres, db, dir string, log io.Writer) (pgTemporal, error) {
	serverBin, err := pgtemporal.Bin(pgtemporal.ServerBinEnv, "temporal-server")
	if err != nil {
		return pgTemporal{}, err
	}
	sqlTool, err := pgtemporal.Bin(pgtemporal.SQLToolBinEnv, "temporal-sql-tool")
	if err != nil {
		return pgTemporal{}, err
	}
	s, err := pgtemporal.StartServer(ctx, pgtemporal.ServerOptions{
		ServerBin: serverBin, SQLToolBin: sqlTool, Postgres: cluster, Database: db,
		Dir: filepath.Join(dir, "temporal-server"), Namespace: "default", Log: log,
	})
	if err != nil {
		return pgTemporal{}, err
	}
	return pgTemporal{Server: s}, nil
}

// stopPostgres removes the shared cluster, if one was started.
func stopPostgres() {
	pg.Lock()
	defer pg.Unlock()
	if pg.cluster != nil {
		pg.cluster.Stop(10 * time.Second)
		pg.cluster.Remove()
	}
}
