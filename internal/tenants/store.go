package tenants

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultReloadEvery is how often Watch looks at the tenants file's
// modification time.
const DefaultReloadEvery = 3 * time.Second

// Store holds the current Set and replaces it when the tenants file
// changes. Its methods are safe for concurrent use.
type Store struct {
	plainKeys []string
	path      string
	logger    *slog.Logger
	cur       atomic.Pointer[Set]

	mu      sync.Mutex // serialises reloads
	modTime time.Time
	size    int64
}

// NewStore loads the configuration: plainKeys (RIPTIDE_API_KEYS, the
// default tenant's) and the tenants file at path ("" for none). A file that
// cannot be read or parsed is an error here; later, Reload keeps the
// previous configuration instead.
func NewStore(plainKeys []string, path string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{plainKeys: plainKeys, path: path, logger: logger}
	if _, err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

// Static is a store of plain default-tenant keys only, without a file.
func Static(plainKeys []string) *Store {
	s, err := NewStore(plainKeys, "", nil)
	if err != nil {
		// Build fails for duplicate keys across tenants only: impossible
		// with one tenant.
		panic(err)
	}
	return s
}

// StaticSet is a store holding set.
func StaticSet(set *Set) *Store {
	s := &Store{logger: slog.New(slog.DiscardHandler)}
	s.cur.Store(set)
	return s
}

// Current is the configuration in force.
func (s *Store) Current() *Set { return s.cur.Load() }

// load reads the file (when there is one) and installs the new set; changed
// is false when the file has not changed since the last load.
func (s *Store) load() (changed bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var f *File
	if s.path != "" {
		fi, err := os.Stat(s.path)
		if err != nil {
			return false, fmt.Errorf("tenants file: %w", err)
		}
		if s.cur.Load() != nil && fi.ModTime().Equal(s.modTime) && fi.Size() == s.size {
			return false, nil
		}
		data, err := os.ReadFile(s.path)
		if err != nil {
			return false, fmt.Errorf("tenants file: %w", err)
		}
		// Remember the version seen even if it is bad, so a bad file is
		// reported once, not every poll.
		s.modTime, s.size = fi.ModTime(), fi.Size()
		if f, err = Parse(data); err != nil {
			return false, fmt.Errorf("tenants file %s: %w", s.path, err)
		}
	}
	set, err := Build(s.plainKeys, f)
	if err != nil {
		return false, fmt.Errorf("tenants file %s: %w", s.path, err)
	}
	s.cur.Store(set)
	return true, nil
}

// Reload reads the tenants file again if it changed. A file that cannot
// be read or parsed keeps the previous configuration; the error says why
// (it never holds a key).
func (s *Store) Reload() error {
	changed, err := s.load()
	if err != nil {
		s.logger.Error("Tenants file not reloaded; the previous configuration stays", "path", s.path, "error", err)
		return err
	}
	if changed {
		set := s.Current()
		s.logger.Info("Tenants file reloaded", "path", s.path, "tenants", len(set.Tenants()), "keys", set.Keys())
	}
	return nil
}

// Watch reloads the file every interval (DefaultReloadEvery when zero) if
// its modification time or size changed, and at once on SIGHUP, until ctx
// ends. Without a file it returns at once.
func (s *Store) Watch(ctx context.Context, interval time.Duration) {
	if s.path == "" {
		return
	}
	if interval <= 0 {
		interval = DefaultReloadEvery
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			s.mu.Lock()
			s.modTime = time.Time{} // read it even if it looks unchanged
			s.mu.Unlock()
			_ = s.Reload()
		case <-t.C:
			_ = s.Reload()
		}
	}
}
