package cookies

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func jarText(exp time.Time) string {
	return fmt.Sprintf("# Netscape HTTP Cookie File\n\n"+
		".youtube.com\tTRUE\t/\tTRUE\t%d\tSID\tsecret-sid\n"+
		"#HttpOnly_.youtube.com\tTRUE\t/\tTRUE\t%d\tHSID\tsecret-hsid\n"+
		".youtube.com\tTRUE\t/\tFALSE\t%d\tYSC\ttracking\n"+
		"www.youtube.com\tFALSE\t/\tFALSE\t0\tPREF\t\n",
		exp.Unix(), exp.Add(time.Hour).Unix(), time.Now().Add(time.Minute).Unix())
}

func TestParseReadsNetscapeLines(t *testing.T) {
	exp := time.Now().Add(100 * 24 * time.Hour).Truncate(time.Second)
	cs, err := Parse([]byte(jarText(exp)))
	require.NoError(t, err)
	require.Len(t, cs, 4)
	require.Equal(t, Cookie{Domain: "youtube.com", Subdomains: true, Path: "/", Secure: true, Expires: exp, Name: "SID", Value: "secret-sid"}, cs[0])
	require.True(t, cs[1].HTTPOnly)
	require.Equal(t, "HSID", cs[1].Name)
	require.False(t, cs[3].Subdomains)
	require.True(t, cs[3].Expires.IsZero())
	require.Equal(t, "", cs[3].Value)

	_, err = Parse([]byte("youtube.com\tTRUE\t/\tsecret-value-here\n"))
	require.ErrorContains(t, err, "line 1")
	require.NotContains(t, err.Error(), "secret")
	_, err = Parse([]byte(".a.com\tTRUE\t/\tFALSE\tsoon\tN\tsecret\n"))
	require.ErrorContains(t, err, "expiry")
	require.NotContains(t, err.Error(), "secret")
}

// TestAuthExpiryIgnoresTrackingCookies: YouTube's YSC expiring in a minute
// says nothing of the sign-in.
func TestAuthExpiryIgnoresTrackingCookies(t *testing.T) {
	exp := time.Now().Add(100 * 24 * time.Hour).Truncate(time.Second)
	cs, err := Parse([]byte(jarText(exp)))
	require.NoError(t, err)
	require.Equal(t, exp, (&Jar{Domain: "youtube.com", Cookies: cs}).AuthExpiry())
	// Elsewhere names that look like sessions count (SID, HSID), else
	// the last persistent cookie.
	require.Equal(t, exp, (&Jar{Domain: "example.com", Cookies: cs}).AuthExpiry())
	require.Equal(t, cs[2].Expires, (&Jar{Domain: "example.com", Cookies: cs[2:]}).AuthExpiry())
}

func TestDomainMatchIsBySuffixOnLabels(t *testing.T) {
	j := &Jar{Domain: "youtube.com"}
	for _, h := range []string{"youtube.com", "www.youtube.com", "M.YouTube.com.", "a.b.youtube.com"} {
		require.True(t, j.Matches(h), h)
	}
	for _, h := range []string{"notyoutube.com", "youtube.com.evil.net", "youtube.co", "com"} {
		require.False(t, j.Matches(h), h)
	}
}

func writeJar(t *testing.T, path, text string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
}

func TestStoreLooksUpTenantThenSharedAndReloads(t *testing.T) {
	dir := t.TempDir()
	exp := time.Now().Add(100 * 24 * time.Hour)
	writeJar(t, filepath.Join(dir, "youtube.com.txt"), jarText(exp))
	writeJar(t, filepath.Join(dir, "vimeo.com.txt"), ".vimeo.com\tTRUE\t/\tFALSE\t0\ts\tv\n")
	writeJar(t, filepath.Join(dir, "acme", "youtube.com.txt"), jarText(exp))
	writeJar(t, filepath.Join(dir, "music.youtube.com.txt"), jarText(exp))
	s, err := Open(Options{Dir: dir})
	require.NoError(t, err)
	defer s.Close()

	require.Equal(t, "youtube.com", s.Lookup("default", "www.youtube.com").Name())
	require.Equal(t, "acme/youtube.com", s.Lookup("acme", "www.youtube.com").Name())
	require.Equal(t, "music.youtube.com", s.Lookup("default", "music.youtube.com").Name())
	require.Equal(t, "vimeo.com", s.Lookup("acme", "player.vimeo.com").Name(), "a tenant without its own jar gets the shared one")
	require.Nil(t, s.Lookup("default", "example.com"))
	require.Nil(t, (*Store)(nil).Lookup("default", "youtube.com"))

	// A changed file replaces the jar; a broken one is reported, not used.
	writeJar(t, filepath.Join(dir, "vimeo.com.txt"), "broken line\n")
	writeJar(t, filepath.Join(dir, "example.com.txt"), ".example.com\tTRUE\t/\tFALSE\t0\ts\tv\n")
	s.Reload()
	require.Nil(t, s.Lookup("default", "vimeo.com"))
	require.NotNil(t, s.Lookup("default", "example.com"))
	var states []string
	for _, st := range s.Statuses() {
		states = append(states, st.Name+"="+st.State)
	}
	require.Equal(t, []string{"acme/youtube.com=ok", "example.com=ok", "music.youtube.com=ok", "vimeo.com=invalid", "youtube.com=ok"}, states)
}

func TestStatesFollowExpiryAndProbe(t *testing.T) {
	dir := t.TempDir()
	writeJar(t, filepath.Join(dir, "youtube.com.txt"), jarText(time.Now().Add(-time.Hour)))
	writeJar(t, filepath.Join(dir, "example.com.txt"), jarText(time.Now().Add(time.Hour)))
	signedIn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("SID"); err == nil && c.Value == "secret-sid" {
			fmt.Fprint(w, "welcome")
			return
		}
		http.Redirect(w, r, "/login", http.StatusFound)
	}))
	defer signedIn.Close()
	u, _ := url.Parse(signedIn.URL)
	// The probe fetches a URL on the jar's domain; the test's server is
	// on 127.0.0.1, so its jar is for that.
	writeJar(t, filepath.Join(dir, "127.0.0.1.txt"), strings.ReplaceAll(jarText(time.Now().Add(1000*time.Hour)), ".youtube.com", "127.0.0.1"))
	writeJar(t, filepath.Join(dir, "acme", "127.0.0.1.txt"), "127.0.0.1\tFALSE\t/\tFALSE\t0\tSID\twrong\n")
	var bad []string
	s, err := Open(Options{Dir: dir, ExpiringWithin: 2 * time.Hour, ProbeClient: signedIn.Client(),
		Probes: map[string]string{"127.0.0.1": "http://" + u.Host + "/account"},
		OnBad:  func(st Status) { bad = append(bad, st.Name+"="+st.State) }})
	require.NoError(t, err)
	defer s.Close()
	s.Check()
	got := map[string]string{}
	for _, st := range s.Statuses() {
		got[st.Name] = st.State
	}
	require.Equal(t, map[string]string{"youtube.com": StateExpired, "example.com": StateExpiring,
		"127.0.0.1": StateOK, "acme/127.0.0.1": StateStale}, got)
	require.ElementsMatch(t, []string{"youtube.com=expired", "acme/127.0.0.1=stale"}, bad)
	s.Check()
	require.Len(t, bad, 2, "a jar that stays bad is reported once")
}

func TestCopyAndCookieJar(t *testing.T) {
	exp := time.Now().Add(100 * 24 * time.Hour)
	text := jarText(exp)
	cs, err := Parse([]byte(text))
	require.NoError(t, err)
	j := &Jar{Domain: "youtube.com", Cookies: cs, raw: []byte(text)}
	p, err := j.WriteCopy(t.TempDir())
	require.NoError(t, err)
	fi, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	data, _ := os.ReadFile(p)
	require.Equal(t, text, string(data))

	cj := j.CookieJar()
	names := func(u string) []string {
		pu, _ := url.Parse(u)
		var out []string
		for _, c := range cj.Cookies(pu) {
			out = append(out, c.Name)
		}
		return out
	}
	require.ElementsMatch(t, []string{"SID", "HSID", "YSC", "PREF"}, names("https://www.youtube.com/watch"))
	require.ElementsMatch(t, []string{"YSC"}, names("http://m.youtube.com/"), "secure cookies only over https; PREF is www only")
	require.Empty(t, names("https://example.com/"))
}
