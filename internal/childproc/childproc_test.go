package childproc_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/childproc"
	"github.com/riptide-dev/riptide/internal/mediatest"
	"github.com/riptide-dev/riptide/internal/netguard"
)

// internalListener is an "internal" service on 127.0.0.2 (which no test
// guard allows) that logs every connection it gets.
type internalListener struct {
	ln   net.Listener
	mu   sync.Mutex
	hits []string
}

func listenInternal(t *testing.T) *internalListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	require.NoError(t, err)
	l := &internalListener{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			l.mu.Lock()
			l.hits = append(l.hits, c.RemoteAddr().String())
			l.mu.Unlock()
			// Answer like an FTP server, so a client that got here
			// would go on.
			_, _ = c.Write([]byte("220 internal FTP ready\r\n"))
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return l
}

func (l *internalListener) port() string {
	_, p, _ := net.SplitHostPort(l.ln.Addr().String())
	return p
}

func (l *internalListener) connections() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.hits)
}

func requireSandbox(t *testing.T) {
	t.Helper()
	if st := childproc.Current(); !st.Active {
		if os.Getenv("RIPTIDE_REQUIRE_SANDBOX") == "1" {
			t.Fatalf("sandbox unavailable: %s", st.Reason)
		}
		t.Skipf("sandbox unavailable here: %s", st.Reason)
	}
}

// guardedProxy is the worker's guarded proxy with 127.0.0.1 as the only
// "public" address.
func guardedProxy(t *testing.T) *netguard.Proxy {
	t.Helper()
	p, err := netguard.StartProxy(netguard.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}), nil)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

func envOf(t *testing.T, opts childproc.Options) []string {
	t.Helper()
	out, err := childproc.Command(context.Background(), opts, "env").Output()
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	slices.Sort(lines)
	return lines
}

// TestEnvIsExactlyTheAllowedKeys: with proxy variables set for the worker,
// a child (confined or not, with the proxy or without) sees exactly PATH,
// HOME, TMPDIR and LANG.
func TestEnvIsExactlyTheAllowedKeys(t *testing.T) {
	for _, k := range []string{"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ftp_proxy", "all_proxy"} {
		t.Setenv(k, "http://127.0.0.2:9")
	}
	t.Setenv("no_proxy", "*")
	t.Setenv("NO_PROXY", "*")
	t.Setenv("RIPTIDE_S3_SECRET_ACCESS_KEY", "secret")
	dir := t.TempDir()
	want := []string{"HOME=" + dir, "LANG=C.UTF-8", "PATH=" + childproc.BasePath, "TMPDIR=" + dir}
	require.Equal(t, want, envOf(t, childproc.Options{Dir: dir}))
	p := guardedProxy(t)
	require.Equal(t, want, envOf(t, childproc.Options{Dir: dir, Proxy: p.URL()}), "through the sandbox helper")

	// The job directory can come from the context too.
	out, err := childproc.CommandContext(childproc.WithDir(context.Background(), dir), "env").Output()
	require.NoError(t, err)
	require.Contains(t, string(out), "HOME="+dir+"\n")
	require.NotContains(t, strings.ToLower(string(out)), "proxy")
}

func TestEnvPutsTheProgramsDirectoryFirst(t *testing.T) {
	env := childproc.Env("/opt/tools/bin/yt-dlp", "/job")
	require.Equal(t, "PATH=/opt/tools/bin:"+childproc.BasePath, env[0])
	require.Equal(t, "PATH="+childproc.BasePath, childproc.Env("/usr/bin/ffmpeg", "/job")[0])
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]childproc.Mode{"": childproc.ModeAuto, "AUTO": childproc.ModeAuto,
		"required": childproc.ModeRequired, " off ": childproc.ModeOff} {
		got, err := childproc.ParseMode(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	_, err := childproc.ParseMode("on")
	require.ErrorContains(t, err, "want auto, required or off")
}

// TestNoNetworkChildReachesNothing: ffprobe (the real one) asked for an
// http and an ftp URL on an internal listener cannot connect: the listener
// logs nothing. The same child unconfined does connect (the check is real).
func TestNoNetworkChildReachesNothing(t *testing.T) {
	mediatest.RequireTools(t, "ffprobe")
	requireSandbox(t)
	l := listenInternal(t)
	for _, u := range []string{"http://127.0.0.2:" + l.port() + "/x.mp4", "ftp://127.0.0.2:" + l.port() + "/internal-only.mp4"} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		out, err := childproc.CommandContext(ctx, "ffprobe", "-v", "error", "--", u).CombinedOutput()
		cancel()
		require.Error(t, err, "%s", out)
		require.Empty(t, l.connections(), "ffprobe reached the internal listener: %s", out)
	}
	// Control: outside the sandbox, the same command does connect.
	out, _ := exec.Command("ffprobe", "-v", "error", "-rw_timeout", "2000000", "--", "ftp://127.0.0.2:"+l.port()+"/internal-only.mp4").CombinedOutput()
	require.Eventually(t, func() bool { return len(l.connections()) > 0 }, 5*time.Second, 50*time.Millisecond,
		"unconfined ffprobe connects (control): %s", out)
}

// TestProxyChildReachesOnlyTheProxy: a child given the guarded proxy gets
// media through it (ffprobe reads a duration over HTTP), while its direct
// connections, by ftp or to the internal address, reach nothing, with
// no_proxy=* and http_proxy set for the worker.
func TestProxyChildReachesOnlyTheProxy(t *testing.T) {
	mediatest.RequireTools(t, "ffmpeg", "ffprobe")
	requireSandbox(t)
	t.Setenv("no_proxy", "*")
	t.Setenv("NO_PROXY", "*")
	l := listenInternal(t)
	t.Setenv("http_proxy", "http://127.0.0.2:"+l.port())

	dir := t.TempDir()
	clip := filepath.Join(dir, "clip.mp4")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:a", "aac", clip)
	media := httptest.NewUnstartedServer(http.FileServer(http.Dir(dir)))
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	media.Listener = mln
	media.Start()
	defer media.Close()
	p := guardedProxy(t)

	ctx := context.Background()
	probe := func(u string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		return childproc.CommandContext(ctx, "ffprobe", "-v", "error", "-rw_timeout", "5000000",
			"-show_entries", "format=duration", "-of", "default=noprint_wrappers=1:nokey=1",
			"-http_proxy", p.URL(), "--", u).CombinedOutput()
	}
	out, err := probe(media.URL + "/clip.mp4")
	require.NoError(t, err, "%s", out)
	require.True(t, strings.HasPrefix(strings.TrimSpace(string(out)), "2."), "duration through the proxy: %s", out)

	for _, u := range []string{
		"ftp://127.0.0.2:" + l.port() + "/internal-only.mp4", // ffmpeg's ftp ignores -http_proxy
		"http://127.0.0.2:" + l.port() + "/x.mp4",            // the proxy refuses it
	} {
		out, err := probe(u)
		require.Error(t, err, "%s", out)
	}
	// Python's own sockets (yt-dlp's), straight to the internal address.
	out, err = childproc.Command(ctx, childproc.Options{Proxy: p.URL()}, "python3", "-c",
		"import socket,sys; socket.create_connection(('127.0.0.2', int(sys.argv[1])), timeout=3)", l.port()).CombinedOutput()
	require.Error(t, err, "%s", out)
	require.Contains(t, string(out), "Connection refused", "inside the namespace 127.0.0.2 is an empty loopback")
	require.Empty(t, l.connections(), "a confined child reached the internal listener")
}

// TestCancelKillsTheProgram: cancelling the context of a confined child
// ends the program, not only the helper.
func TestCancelKillsTheProgram(t *testing.T) {
	requireSandbox(t)
	p := guardedProxy(t)
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := childproc.Command(ctx, childproc.Options{Dir: dir, Proxy: p.URL()}, "sh", "-c", "echo $$ > "+pidFile+"; exec sleep 60")
	cmd.WaitDelay = time.Second
	require.NoError(t, cmd.Start())
	var pid string
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(pidFile)
		pid = strings.TrimSpace(string(b))
		return pid != ""
	}, 10*time.Second, 20*time.Millisecond)
	cancel()
	_ = cmd.Wait()
	require.Eventually(t, func() bool {
		_, err := os.Stat("/proc/" + pid)
		return os.IsNotExist(err)
	}, 5*time.Second, 20*time.Millisecond, "the program outlived its cancelled helper")
}

// TestExitCodePassesThrough: the helper exits as the program did.
func TestExitCodePassesThrough(t *testing.T) {
	requireSandbox(t)
	p := guardedProxy(t)
	err := childproc.Command(context.Background(), childproc.Options{Proxy: p.URL()}, "sh", "-c", "echo oops >&2; exit 3").Run()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, 3, ee.ExitCode())
}
