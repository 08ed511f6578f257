package devstack

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// Service is a child process a Supervisor keeps running. Start starts it
// and returns once it is ready (or failed to get there).
type Service struct {
	Name  string
	Start func(ctx context.Context) (*Proc, error)
}

// Supervisor keeps services running like `restart: unless-stopped`: a
// child that exits, for whatever reason, is started again after a backoff
// while the others keep running; only the end of Run's context stops them.
type Supervisor struct {
	// Log receives one line per start, exit and restart.
	Log io.Writer
	// MinBackoff is the first wait before a restart, doubling up to
	// MaxBackoff while the child keeps dying; a child that ran for
	// ResetAfter starts again from MinBackoff.
	MinBackoff, MaxBackoff, ResetAfter time.Duration
	// StopGrace is how long a child may take to exit on SIGTERM.
	StopGrace time.Duration

	mu    sync.Mutex
	procs map[string]*Proc
}

// NewSupervisor has the dev stack's defaults: 0.5 s doubling to 10 s,
// reset after 30 s of running.
func NewSupervisor(log io.Writer) *Supervisor {
	return &Supervisor{Log: log, MinBackoff: 500 * time.Millisecond, MaxBackoff: 10 * time.Second,
		ResetAfter: 30 * time.Second, StopGrace: 15 * time.Second}
}

// Pids maps each service to its current process id (0 while restarting).
func (s *Supervisor) Pids() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for name, p := range s.procs {
		if p != nil {
			out[name] = p.Pid()
		} else {
			out[name] = 0
		}
	}
	return out
}

func (s *Supervisor) set(name string, p *Proc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.procs[name] = p
}

func (s *Supervisor) logf(format string, args ...any) {
	fmt.Fprintf(s.Log, "riptide-dev: "+format+"\n", args...)
}

// Run starts the services in order, each once ready before the next (a
// service that cannot start the first time is an error: Run stops those
// already started and returns it), calls ready, then keeps them running
// until ctx is done and stops them, last first.
func (s *Supervisor) Run(ctx context.Context, services []Service, ready func()) error {
	s.mu.Lock()
	s.procs = map[string]*Proc{}
	s.mu.Unlock()
	stopAll := func() {
		s.mu.Lock()
		procs := s.procs
		s.mu.Unlock()
		for i := len(services) - 1; i >= 0; i-- {
			if p := procs[services[i].Name]; p != nil {
				p.Stop(s.StopGrace)
			}
		}
	}
	first := make([]*Proc, len(services))
	for i, svc := range services {
		p, err := svc.Start(ctx)
		if err != nil {
			stopAll()
			return fmt.Errorf("%s: %w", svc.Name, err)
		}
		s.logf("%s started (pid %d)", svc.Name, p.Pid())
		s.set(svc.Name, p)
		first[i] = p
	}
	if ready != nil {
		ready()
	}
	var wg sync.WaitGroup
	for i, svc := range services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.keep(ctx, svc, first[i])
		}()
	}
	<-ctx.Done()
	s.logf("stopping every component")
	wg.Wait()
	stopAll()
	return nil
}

// keep restarts svc whenever its process exits, until ctx is done.
func (s *Supervisor) keep(ctx context.Context, svc Service, p *Proc) {
	backoff := s.MinBackoff
	started := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.Done():
		}
		ran := time.Since(started)
		if ran >= s.ResetAfter {
			backoff = s.MinBackoff
		}
		s.set(svc.Name, nil)
		s.logf("%s (pid %d) exited after %s: %s; restarting in %s", svc.Name, p.Pid(), ran.Round(time.Millisecond), exitReason(p.Err()), backoff)
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, s.MaxBackoff)
			np, err := svc.Start(ctx)
			if err == nil {
				p, started = np, time.Now()
				s.set(svc.Name, p)
				s.logf("%s restarted (pid %d)", svc.Name, p.Pid())
				break
			}
			if ctx.Err() != nil {
				return
			}
			s.logf("%s did not start: %v; retrying in %s", svc.Name, err, backoff)
		}
	}
}

// exitReason says how a process ended: "exit status 1", "signal: killed".
func exitReason(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}
