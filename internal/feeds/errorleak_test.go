package feeds

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/workflows"
)

// TestFetchErrorsNameNoAddressOrPort (issue 13 item 9): a feed on a
// refused port, and one redirecting to an address the guard refuses
// (127.0.0.2; only 127.0.0.1 is allowed), fail with messages that name no
// address or port; the cause keeps the detail. The refused address is
// final, not retried.
func TestFetchErrorsNameNoAddressOrPort(t *testing.T) {
	g := netguard.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})
	client := &http.Client{Transport: g.Transport()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	require.NoError(t, ln.Close())
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.2:"+port+"/internal.rss", http.StatusFound)
	}))
	defer redirect.Close()

	for _, tc := range []struct {
		url, errType, msg, detail string
		final                     bool
	}{
		{"http://127.0.0.1:" + port + "/show.rss", workflows.ErrTypeTechnical, "fetching the feed: " + netguard.MsgSourceUnreachable, "connection refused", false},
		{redirect.URL + "/show.rss", workflows.ErrTypeBlockedAddress, netguard.MsgSourceBlocked, "127.0.0.2", true},
	} {
		_, err := Fetch(context.Background(), client, tc.url, Limits{})
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(err, &appErr), "%v", err)
		require.Equal(t, tc.errType, appErr.Type())
		require.Equal(t, tc.final, appErr.NonRetryable())
		require.Equal(t, tc.msg, appErr.Message())
		require.NotContains(t, appErr.Message(), port)
		require.NotContains(t, appErr.Message(), "127.")
		require.Contains(t, errors.Unwrap(appErr).Error(), tc.detail)
	}
}
