// Package cookies holds the operator's cookie jars: Netscape cookies.txt
// files, one per site domain (and optionally per tenant), that riptide
// passes to yt-dlp (a private copy per job, --cookies) and to its native
// downloader (an http.CookieJar) for URLs on the jar's domain. It also says
// how healthy each jar is: when its sign-in cookies expire, and whether an
// authenticated probe of the site still passes.
//
// Cookie values never leave this package except into the per-job copy and
// the jar of a job's HTTP client: not into logs, workflow histories or API
// answers, which only ever see a jar's Name (its tenant and domain).
package cookies

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Cookie is one line of a cookies.txt file.
type Cookie struct {
	Domain string // without the leading dot
	// Subdomains: the cookie is sent to subdomains of Domain too (a
	// leading dot, or TRUE in the second column).
	Subdomains bool
	Path       string
	Secure     bool
	HTTPOnly   bool
	// Expires is zero for a session cookie.
	Expires time.Time
	Name    string
	Value   string
}

// Jar is one cookies.txt file.
type Jar struct {
	// Tenant owns the jar; "" for the operator's jars shared by every
	// tenant.
	Tenant string
	// Domain is the site the jar is for: the file's name without ".txt".
	Domain  string
	Cookies []Cookie
	// raw is the file as read, for the per-job copies.
	raw []byte
	// modTime and size tell a changed file on reload.
	modTime time.Time
	size    int64
}

// Name is how logs, metrics, /healthz and histories refer to the jar:
// "youtube.com", or "acme/youtube.com" for a tenant's.
func (j *Jar) Name() string {
	if j.Tenant == "" {
		return j.Domain
	}
	return j.Tenant + "/" + j.Domain
}

// Parse reads a Netscape cookies.txt file. Lines starting with "#" are
// comments except "#HttpOnly_", which marks an HttpOnly cookie (as curl
// and browser exporters write them).
func Parse(data []byte) ([]Cookie, error) {
	var out []Cookie
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		httpOnly := false
		if rest, ok := strings.CutPrefix(line, "#HttpOnly_"); ok {
			line, httpOnly = rest, true
		}
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) == 6 {
			f = append(f, "") // an empty value
		}
		if len(f) != 7 {
			// The line itself may hold a secret: only its number.
			return nil, fmt.Errorf("line %d: %d tab-separated fields, want 7", n, len(f))
		}
		c := Cookie{
			Domain:   strings.ToLower(strings.TrimPrefix(f[0], ".")),
			Path:     f[2],
			Secure:   strings.EqualFold(f[3], "TRUE"),
			HTTPOnly: httpOnly,
			Name:     f[5],
			Value:    f[6],
		}
		c.Subdomains = strings.HasPrefix(f[0], ".") || strings.EqualFold(f[1], "TRUE")
		if c.Domain == "" || c.Name == "" {
			return nil, fmt.Errorf("line %d: no domain or no name", n)
		}
		exp, err := strconv.ParseFloat(f[4], 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: expiry %q is not a number", n, f[4])
		}
		if exp > 0 {
			c.Expires = time.Unix(int64(exp), 0)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Matches reports whether host is the jar's domain or one of its
// subdomains.
func (j *Jar) Matches(host string) bool {
	return domainMatch(host, j.Domain)
}

func domainMatch(host, domain string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return host == domain || strings.HasSuffix(host, "."+domain)
}

// WriteCopy writes a private copy of the jar into dir (mode 0600), for
// yt-dlp's --cookies, which rewrites the file it is given. The caller
// removes it when the job's step ends.
func (j *Jar) WriteCopy(dir string) (string, error) {
	f, err := os.CreateTemp(dir, ".cookies-*.txt")
	if err != nil {
		return "", err
	}
	// CreateTemp makes the file 0600.
	if _, err := f.Write(j.raw); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// CookieJar returns an http.CookieJar holding the jar's unexpired cookies,
// which net/http sends only to the hosts each cookie is for.
func (j *Jar) CookieJar() http.CookieJar {
	cj, _ := cookiejar.New(nil) // never fails without options
	byURL := map[string][]*http.Cookie{}
	now := time.Now()
	for _, c := range j.Cookies {
		if !c.Expires.IsZero() && !c.Expires.After(now) {
			continue
		}
		scheme := "http"
		if c.Secure {
			scheme = "https"
		}
		u := scheme + "://" + c.Domain + "/"
		hc := &http.Cookie{Name: c.Name, Value: c.Value, Path: c.Path, Secure: c.Secure, HttpOnly: c.HTTPOnly, Expires: c.Expires}
		if c.Subdomains {
			hc.Domain = c.Domain
		}
		byURL[u] = append(byURL[u], hc)
	}
	for u, cs := range byURL {
		pu, err := url.Parse(u)
		if err != nil {
			continue
		}
		cj.SetCookies(pu, cs)
	}
	return cj
}

// authNames are the sign-in cookies of sites whose jars also carry many
// short-lived tracking cookies: their expiry is the jar's.
var authNames = map[string][]string{
	"youtube.com": {"SID", "HSID", "SSID", "APISID", "SAPISID", "__Secure-1PSID", "__Secure-3PSID", "LOGIN_INFO"},
	"google.com":  {"SID", "HSID", "SSID", "APISID", "SAPISID", "__Secure-1PSID", "__Secure-3PSID"},
}

// authWords mark a sign-in cookie's name on other sites.
var authWords = []string{"sess", "sid", "auth", "token", "login"}

// AuthExpiry is the earliest expiry among the jar's sign-in cookies: the
// site's known ones, else those whose names look like sessions or tokens.
// A jar with none of those expires with its last persistent cookie. Zero
// when they are all session cookies, or the jar has none.
func (j *Jar) AuthExpiry() time.Time {
	names := authNames[j.Domain]
	isAuth := func(c Cookie) bool {
		if names != nil {
			return slices.Contains(names, c.Name)
		}
		lower := strings.ToLower(c.Name)
		return slices.ContainsFunc(authWords, func(w string) bool { return strings.Contains(lower, w) })
	}
	var earliest, latest time.Time
	for _, c := range j.Cookies {
		if c.Expires.IsZero() {
			continue
		}
		if c.Expires.After(latest) {
			latest = c.Expires
		}
		if isAuth(c) && (earliest.IsZero() || c.Expires.Before(earliest)) {
			earliest = c.Expires
		}
	}
	if earliest.IsZero() && names == nil {
		return latest
	}
	return earliest
}

func readJar(path, tenant string, fi os.FileInfo) (*Jar, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cs, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return &Jar{
		Tenant: tenant, Domain: strings.ToLower(strings.TrimSuffix(fi.Name(), ".txt")),
		Cookies: cs, raw: data, modTime: fi.ModTime(), size: fi.Size(),
	}, nil
}
