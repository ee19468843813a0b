package netcheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"
)

// Status is the outcome of one run. Every run has exactly one.
type Status int

// The statuses; doc.go has the table of what produces each.
const (
	// OK: the expected reply came.
	OK Status = iota + 1
	// NG: a negative reply came (refused, reset, ICMP unreachable, a
	// wrong HTTP status, a failed TLS handshake, NXDOMAIN).
	NG
	// WR: no reply came within the timeout.
	WR
	// ERR: the check could not start (the name does not resolve, no
	// route, a local error). It says nothing about the target.
	ERR
)

// String returns "OK", "NG", "WR" or "ERR".
func (s Status) String() string {
	switch s {
	case OK:
		return "OK"
	case NG:
		return "NG"
	case WR:
		return "WR"
	case ERR:
		return "ERR"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Result is one run of a check.
type Result struct {
	Status Status
	// At is when the run started.
	At time.Time
	// Latency is the time to the reply: the TCP handshake (after the name
	// lookup), the HTTP response headers, the DNS answer, the first echo
	// reply. Otherwise it is the time the run took.
	Latency time.Duration
	// Detail is a short human-readable account: what came back, or why
	// nothing did.
	Detail string
	// CertDaysLeft is, for HTTPS, the whole days until the server's
	// certificate expires (negative once it has); nil otherwise.
	CertDaysLeft *int
}

// Probe is one kind of network check. Run never returns without a
// Result; it stops at ctx's deadline (DefaultTimeout when ctx has none).
type Probe interface {
	Run(ctx context.Context) Result
}

// DefaultTimeout bounds a run whose context has no deadline.
const DefaultTimeout = 10 * time.Second

// Dialer opens connections; *net.Dialer is one. Tests inject their own.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// Resolver turns host names into addresses; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

var (
	_ Dialer   = (*net.Dialer)(nil)
	_ Resolver = (*net.Resolver)(nil)
)

// ended is the Result of a run that started at start and ends now.
func ended(start time.Time, st Status, detail string) Result {
	return Result{Status: st, At: start, Latency: time.Since(start), Detail: detail}
}

// withTimeout gives ctx DefaultTimeout when it has no deadline.
func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, DefaultTimeout)
}

// Classify maps the error of a connection attempt (TCP connect, HTTP
// request, UDP exchange) to a status and a short reason. A nil error is
// OK. The table is in doc.go; its order matters: a failed name lookup is
// ERR even when it timed out, since the target was never tried.
func Classify(err error) (Status, string) {
	if err == nil {
		return OK, ""
	}
	if st, why, ok := classifyKnown(err); ok {
		return st, why
	}
	return ERR, "local error: " + err.Error()
}

// classifyKnown is Classify without the last row: ok is false for an
// error no row matches.
func classifyKnown(err error) (Status, string, bool) {
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		return ERR, "name lookup: " + dnsErr.Error(), true
	case errors.Is(err, context.Canceled):
		return ERR, "cancelled", true
	}
	if st, why, ok := classifyErrno(err); ok {
		return st, why, true
	}
	var nerr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return WR, "no reply within the timeout", true
	case errors.As(err, &nerr) && nerr.Timeout():
		return WR, "no reply within the timeout", true
	}
	return 0, "", false
}
