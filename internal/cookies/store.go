package cookies

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Jar states, as /healthz and the metrics report them.
const (
	StateOK       = "ok"
	StateExpiring = "expiring" // a sign-in cookie expires within the warning window
	StateExpired  = "expired"  // a sign-in cookie has expired
	StateStale    = "stale"    // the site's authenticated probe failed
	StateInvalid  = "invalid"  // the file does not parse
)

// Bad reports whether a state needs the operator (an alert, a /healthz
// warning).
func Bad(state string) bool {
	return state == StateExpired || state == StateStale || state == StateInvalid
}

// Status is a jar's health, with no cookie in it.
type Status struct {
	Name   string `json:"name"`
	Tenant string `json:"tenant,omitempty"`
	Domain string `json:"domain"`
	State  string `json:"state"`
	// AuthExpires is the earliest expiry of its sign-in cookies (nil:
	// session cookies only).
	AuthExpires *time.Time `json:"auth_expires"`
	Cookies     int        `json:"cookies"`
	// Probe is the last authenticated probe's outcome, when the site has
	// a probe URL.
	Probe *ProbeResult `json:"probe,omitempty"`
	// Error says why an invalid jar does not parse (a line number, never
	// its content).
	Error string `json:"error,omitempty"`
}

// ProbeResult is one probe of a site with its jar.
type ProbeResult struct {
	At time.Time `json:"at"`
	OK bool      `json:"ok"`
	// Detail is the HTTP status or the connection error's kind.
	Detail string `json:"detail"`
}

// Options configure a Store.
type Options struct {
	// Dir holds <domain>.txt files for every tenant and <tenant>/<domain>.txt
	// files for one tenant.
	Dir string
	// ExpiringWithin is the window before a sign-in cookie's expiry in
	// which the jar is reported expiring.
	ExpiringWithin time.Duration
	// Reload is how often Dir is checked for changed files.
	Reload time.Duration
	// Probes maps a jar domain to a URL that answers 2xx (not a redirect
	// to a sign-in page) only when its cookies are still signed in.
	Probes map[string]string
	// ProbeEvery is how often each probe runs.
	ProbeEvery time.Duration
	// ProbeClient makes the probes (through the network guard); it must
	// not follow redirects on its own: the Store sets CheckRedirect.
	ProbeClient *http.Client
	// OnBad is called (from the Store's goroutine) when a jar turns
	// expired, stale or invalid.
	OnBad  func(Status)
	Logger *slog.Logger
}

// Store holds the jars of Options.Dir, reloading them when files change.
type Store struct {
	opts Options

	mu     sync.RWMutex
	jars   map[string]*Jar // by Name
	errs   map[string]Status
	probes map[string]ProbeResult // by jar Name
	// reported remembers the last state sent to OnBad, so each turn is
	// reported once.
	reported map[string]string

	stop chan struct{}
	done chan struct{}
}

// Open loads the jars of opts.Dir and, when opts.Reload is positive,
// keeps them current until Close. A missing directory is an error: a typo
// in the setting must not silently mean no cookies.
func Open(opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ExpiringWithin == 0 {
		opts.ExpiringWithin = 72 * time.Hour
	}
	st, err := os.Stat(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("cookies directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("cookies directory %s is not a directory", opts.Dir)
	}
	s := &Store{opts: opts, jars: map[string]*Jar{}, errs: map[string]Status{}, probes: map[string]ProbeResult{},
		reported: map[string]string{}, stop: make(chan struct{}), done: make(chan struct{})}
	s.Reload()
	go s.loop()
	return s, nil
}

// Close stops reloading and probing.
func (s *Store) Close() {
	if s == nil {
		return
	}
	close(s.stop)
	<-s.done
}

func (s *Store) loop() {
	defer close(s.done)
	var reload, probe <-chan time.Time
	if s.opts.Reload > 0 {
		t := time.NewTicker(s.opts.Reload)
		defer t.Stop()
		reload = t.C
	}
	if s.opts.ProbeEvery > 0 && len(s.opts.Probes) > 0 && s.opts.ProbeClient != nil {
		t := time.NewTicker(s.opts.ProbeEvery)
		defer t.Stop()
		probe = t.C
		s.probeAll()
	}
	for {
		select {
		case <-s.stop:
			return
		case <-reload:
			s.Reload()
		case <-probe:
			s.probeAll()
		}
		s.report()
	}
}

// Reload reads the directory again, re-parsing only the files that
// changed.
func (s *Store) Reload() {
	jars := map[string]*Jar{}
	errs := map[string]Status{}
	s.mu.RLock()
	old := s.jars
	s.mu.RUnlock()
	load := func(dir, tenant string) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			s.opts.Logger.Warn("Cookie jars not read", "dir", dir, "error", err)
			return
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".txt") || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			fi, err := e.Info()
			if err != nil {
				continue
			}
			domain := strings.ToLower(strings.TrimSuffix(e.Name(), ".txt"))
			name := domain
			if tenant != "" {
				name = tenant + "/" + domain
			}
			if j := old[name]; j != nil && j.modTime.Equal(fi.ModTime()) && j.size == fi.Size() {
				jars[name] = j
				continue
			}
			j, err := readJar(filepath.Join(dir, e.Name()), tenant, fi)
			if err != nil {
				errs[name] = Status{Name: name, Tenant: tenant, Domain: domain, State: StateInvalid, Error: err.Error()}
				continue
			}
			if old[name] != nil {
				s.opts.Logger.Info("Cookie jar reloaded", "jar", name, "cookies", len(j.Cookies))
			}
			jars[name] = j
		}
	}
	load(s.opts.Dir, "")
	if entries, err := os.ReadDir(s.opts.Dir); err == nil {
		for _, e := range entries {
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				load(filepath.Join(s.opts.Dir, e.Name()), e.Name())
			}
		}
	}
	s.mu.Lock()
	for name := range s.probes {
		if j := jars[name]; j == nil || j != old[name] {
			delete(s.probes, name) // a new file: its last probe says nothing of it
		}
	}
	s.jars, s.errs = jars, errs
	s.mu.Unlock()
}

// Lookup returns the jar for a URL host: the tenant's own jar whose domain
// is the longest suffix of host, else the shared one's; nil when none
// matches (or s is nil).
func (s *Store) Lookup(tenant, host string) *Jar {
	if s == nil {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var best *Jar
	for _, t := range []string{tenant, ""} {
		if t == "" && best != nil {
			break
		}
		for _, j := range s.jars {
			if j.Tenant != t || !j.Matches(host) {
				continue
			}
			if best == nil || len(j.Domain) > len(best.Domain) {
				best = j
			}
		}
		if tenant == "" {
			break
		}
	}
	return best
}

// Statuses reports every jar's health, sorted by name.
func (s *Store) Statuses() []Status {
	if s == nil {
		return nil
	}
	now := time.Now()
	s.mu.RLock()
	var out []Status
	for _, j := range s.jars {
		st := Status{Name: j.Name(), Tenant: j.Tenant, Domain: j.Domain, State: StateOK, Cookies: len(j.Cookies)}
		if exp := j.AuthExpiry(); !exp.IsZero() {
			st.AuthExpires = &exp
			switch {
			case !exp.After(now):
				st.State = StateExpired
			case exp.Sub(now) < s.opts.ExpiringWithin:
				st.State = StateExpiring
			}
		}
		if p, ok := s.probes[j.Name()]; ok {
			st.Probe = &p
			if !p.OK && st.State != StateExpired {
				st.State = StateStale
			}
		}
		out = append(out, st)
	}
	for _, e := range s.errs {
		out = append(out, e)
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Status) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// report calls OnBad for each jar that turned bad since the last report.
func (s *Store) report() {
	if s.opts.OnBad == nil {
		return
	}
	for _, st := range s.Statuses() {
		s.mu.Lock()
		prev := s.reported[st.Name]
		s.reported[st.Name] = st.State
		s.mu.Unlock()
		if Bad(st.State) && st.State != prev {
			s.opts.OnBad(st)
		}
	}
}

// Check reloads, runs the probes once and reports bad jars now (tests, and
// the worker at start-up).
func (s *Store) Check() {
	s.Reload()
	s.probeAll()
	s.report()
}

func (s *Store) probeAll() {
	if s.opts.ProbeClient == nil {
		return
	}
	s.mu.RLock()
	var jars []*Jar
	for _, j := range s.jars {
		if s.opts.Probes[j.Domain] != "" {
			jars = append(jars, j)
		}
	}
	s.mu.RUnlock()
	for _, j := range jars {
		res := s.probe(j, s.opts.Probes[j.Domain])
		s.mu.Lock()
		if s.jars[j.Name()] == j {
			s.probes[j.Name()] = res
		}
		s.mu.Unlock()
	}
}

// probe fetches u with the jar's cookies: a 2xx passes; a redirect (to a
// sign-in page, as sites answer signed-out visitors) or any other status
// fails.
func (s *Store) probe(j *Jar, u string) ProbeResult {
	c := *s.opts.ProbeClient
	c.Jar = j.CookieJar()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	res := ProbeResult{At: time.Now()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		res.Detail = "bad probe URL"
		return res
	}
	resp, err := c.Do(req)
	if err != nil {
		res.Detail = "connection failed"
		s.opts.Logger.Warn("Cookie probe failed", "jar", j.Name(), "error", err)
		return res
	}
	resp.Body.Close()
	res.Detail = resp.Status
	res.OK = resp.StatusCode >= 200 && resp.StatusCode < 300
	if !res.OK {
		s.opts.Logger.Warn("Cookie probe says the jar is stale", "jar", j.Name(), "status", resp.Status)
	}
	return res
}
