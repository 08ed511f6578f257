package devstack

import (
	"context"
	"io"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSupervisorRestartsWithBackoff: a child that keeps dying is started
// again with a doubling, capped backoff and its exit status logged, while
// a child that keeps running keeps its process; cancelling stops both.
func TestSupervisorRestartsWithBackoff(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip(err)
	}
	var log lockedBuffer
	s := &Supervisor{Log: &log, MinBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond,
		ResetAfter: time.Hour, StopGrace: 5 * time.Second}
	var mu sync.Mutex
	starts := 0
	dying := Service{Name: "dying", Start: func(context.Context) (*Proc, error) {
		mu.Lock()
		starts++
		mu.Unlock()
		return start("dying", io.Discard, sh, []string{"-c", "exit 3"}, nil)
	}}
	steady := Service{Name: "steady", Start: func(context.Context) (*Proc, error) {
		return start("steady", io.Discard, sh, []string{"-c", "exec sleep 600"}, nil)
	}}
	ctx, cancel := context.WithCancel(context.Background())
	var steadyPid int
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, []Service{dying, steady}, func() { steadyPid = s.Pids()["steady"] }) }()
	for {
		mu.Lock()
		n := starts
		mu.Unlock()
		if n >= 6 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := s.Pids()["steady"]; got != steadyPid || got == 0 {
		t.Errorf("steady child pid %d, was %d", got, steadyPid)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var waits []string
	for _, m := range regexp.MustCompile(`dying \(pid \d+\) exited after \S+: exit status 3; restarting in (\S+)`).FindAllStringSubmatch(log.String(), -1) {
		waits = append(waits, m[1])
	}
	if want := []string{"10ms", "20ms", "40ms", "40ms"}; len(waits) < 4 || !slices.Equal(waits[:4], want) {
		t.Errorf("backoffs %v, want %v first\n%s", waits, want, log.String())
	}
	if !strings.Contains(log.String(), "stopping every component") {
		t.Errorf("no stop logged:\n%s", log.String())
	}
}
