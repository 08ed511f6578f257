package netguard

import (
	"errors"
	"net"
	"net/url"
)

// What a client is told when a connection to a URL it gave fails. Dial
// errors name the address and port tried ("dial tcp 10.0.0.7:5432:
// connect: connection refused") and the guard's refusals the address a
// name resolved to, which would let any client map the worker's network
// through job errors: the client gets one of these sentences, naming no
// address, port or host, and the error itself goes to the worker's logs
// and, as the cause of the activity's failure, to the Temporal history.
const (
	// MsgSourceBlocked: the source (or a redirect) led to an address the
	// guard refuses.
	MsgSourceBlocked = "the source address is not allowed"
	// MsgSourceUnreachable: no connection to the source could be made or
	// kept (refused, reset, unresolvable, TLS failed).
	MsgSourceUnreachable = "could not connect to the source"
	// MsgSourceTimeout: the source did not answer in time.
	MsgSourceTimeout = "the source did not answer in time"

	MsgReceiverBlocked     = "the receiver address is not allowed"
	MsgReceiverUnreachable = "could not connect to the receiver"
	MsgReceiverTimeout     = "the receiver did not answer in time"
)

// IsNetError reports whether err is a failure of the connection itself
// (dialling, resolving, reading, the guard's refusal) rather than of what
// was said over it: the errors whose text names addresses and ports.
func IsNetError(err error) bool {
	var (
		op  *net.OpError
		dns *net.DNSError
		ue  *url.Error
		b   *BlockedError
	)
	return errors.As(err, &op) || errors.As(err, &dns) || errors.As(err, &ue) || errors.As(err, &b)
}

// SourceMessage is the client's sentence for err, a failed connection to a
// job's source (IsNetError).
func SourceMessage(err error) string {
	return message(err, MsgSourceBlocked, MsgSourceTimeout, MsgSourceUnreachable)
}

// ReceiverMessage is the client's sentence for err, a failed connection
// to a webhook receiver.
func ReceiverMessage(err error) string {
	return message(err, MsgReceiverBlocked, MsgReceiverTimeout, MsgReceiverUnreachable)
}

func message(err error, blocked, timeout, unreachable string) string {
	var ne net.Error
	switch {
	case IsBlocked(err):
		return blocked
	case errors.As(err, &ne) && ne.Timeout():
		return timeout
	default:
		return unreachable
	}
}
