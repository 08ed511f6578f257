package activities

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/workflows"
)

// Issue 13 item 9: a job's error, which its client reads (GET /jobs/{id},
// job_failed, GET /jobs/{id}/webhooks), must not tell which internal
// addresses exist or which ports are open. The "public" side is 127.0.0.1
// (allowed); the "internal" one is 127.0.0.2 (refused), where a listener
// logs every connection it gets.

// leakPattern matches what an error must not show a client: an IPv4
// address, a port, dial wording, localhost.
var leakPattern = regexp.MustCompile(`\d+\.\d+\.\d+\.\d+|:\d{2,5}\b|dial|tcp|localhost|127\.`)

func requireNoLeak(t *testing.T, msg string, ports ...int) {
	t.Helper()
	require.NotRegexp(t, leakPattern, msg)
	for _, p := range ports {
		require.NotContains(t, msg, strconv.Itoa(p))
	}
}

// internalListener listens on 127.0.0.2 and counts the connections it gets.
type internalListener struct {
	addr  string
	port  int
	mu    sync.Mutex
	conns int
}

func newInternalListener(t *testing.T) *internalListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	il := &internalListener{addr: ln.Addr().String(), port: ln.Addr().(*net.TCPAddr).Port}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			il.mu.Lock()
			il.conns++
			il.mu.Unlock()
			c.Close()
		}
	}()
	return il
}

func (il *internalListener) connections() int {
	il.mu.Lock()
	defer il.mu.Unlock()
	return il.conns
}

// refusedPort is a loopback port nothing listens on.
func refusedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return port
}

// redirector answers every request with a redirect to target.
func redirector(t *testing.T, target string) string {
	t.Helper()
	return loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target, http.StatusTemporaryRedirect)
	})).URL
}

var publicLoopback = netip.MustParsePrefix("127.0.0.1/32")

// requireCauseHas: the error's cause chain, which the history keeps, has
// the detail the message leaves out.
func requireCauseHas(t *testing.T, err error, detail string) {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%v", err)
	cause := errors.Unwrap(appErr)
	require.NotNil(t, cause, "the application error has a cause")
	require.Contains(t, cause.Error(), detail)
}

func TestDownloadErrorsNameNoAddressOrPort(t *testing.T) {
	internal := newInternalListener(t)
	port := refusedPort(t)

	t.Run("refused port", func(t *testing.T) {
		a := newHTTPActivities(t)
		guarded(t, a, publicLoopback)
		env, _ := newDownloadEnv(t, a)
		_, err := download(t, env, a, "http://127.0.0.1:"+strconv.Itoa(port)+"/clip.mp4")
		appErr := assertAppError(t, err, workflows.ErrTypeTechnical, true)
		require.Equal(t, netguard.MsgSourceUnreachable, appErr.Message())
		requireNoLeak(t, appErr.Message(), port)
		requireCauseHas(t, err, "connection refused")
		requireCauseHas(t, err, strconv.Itoa(port))
	})
	t.Run("redirect to an internal address", func(t *testing.T) {
		a := newHTTPActivities(t)
		guarded(t, a, publicLoopback)
		env, _ := newDownloadEnv(t, a)
		_, err := download(t, env, a, redirector(t, "http://"+internal.addr+"/internal-only.mp4")+"/clip.mp4")
		appErr := assertAppError(t, err, workflows.ErrTypeBlockedAddress, false)
		require.Equal(t, netguard.MsgSourceBlocked, appErr.Message())
		requireNoLeak(t, appErr.Message(), internal.port)
		requireCauseHas(t, err, "127.0.0.2")
	})
	t.Run("yt-dlp redirected to an internal address", func(t *testing.T) {
		a, _ := ytdlpEnv(t, t.TempDir())
		guarded(t, a, publicLoopback)
		env, _ := newDownloadEnv(t, a)
		_, err := download(t, env, a, redirector(t, "http://"+internal.addr+"/internal-only.mpd")+"/watch?v=1")
		appErr := assertAppError(t, err, workflows.ErrTypeBlockedAddress, false)
		require.Equal(t, netguard.MsgSourceBlocked, appErr.Message())
		requireNoLeak(t, appErr.Message(), internal.port)
		requireCauseHas(t, err, netguard.RefusalReason)
	})
	require.Zero(t, internal.connections(), "the internal listener was never reached")
}

func TestWebhookAttemptErrorsNameNoAddressOrPort(t *testing.T) {
	internal := newInternalListener(t)
	port := refusedPort(t)
	a := &Activities{}
	guarded(t, a, publicLoopback)

	rec := deliver(t, a, workflows.WebhookInput{URL: "http://127.0.0.1:" + strconv.Itoa(port) + "/hook", EventID: "evt_1", Body: []byte(`{}`)})
	require.False(t, rec.Delivered)
	require.False(t, rec.Final, "a receiver that is down is worth another attempt")
	require.Equal(t, netguard.MsgReceiverUnreachable, rec.Error)
	requireNoLeak(t, rec.Error, port)

	rec = deliver(t, a, workflows.WebhookInput{URL: redirector(t, "http://"+internal.addr+"/hook"), EventID: "evt_2", Body: []byte(`{}`)})
	require.False(t, rec.Delivered)
	require.True(t, rec.Final, "a refused address is final")
	require.Equal(t, netguard.MsgReceiverBlocked, rec.Error)
	requireNoLeak(t, rec.Error, internal.port)
	require.Zero(t, internal.connections(), "the internal listener was never reached")
	require.False(t, strings.Contains(rec.Error, "127.0.0.2"))
}
