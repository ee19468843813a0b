//go:build unix || windows

package netcheck_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/internal/netcheck"
)

// TestClassify checks the mapping table (doc.go) on errors built the way
// the net package wraps them.
func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want netcheck.Status
	}{
		{"nil", nil, netcheck.OK},
		{"refused", syscallErr("connect", "ECONNREFUSED"), netcheck.NG},
		{"reset", syscallErr("read", "ECONNRESET"), netcheck.NG},
		{"kernel timeout", syscallErr("connect", "ETIMEDOUT"), netcheck.WR},
		{"deadline", &net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}, netcheck.WR},
		{"context deadline", context.DeadlineExceeded, netcheck.WR},
		{"net.Error timeout", &net.OpError{Op: "read", Err: timeoutErr{}}, netcheck.WR},
		{"host unreachable", syscallErr("connect", "EHOSTUNREACH"), netcheck.ERR},
		{"network unreachable", syscallErr("connect", "ENETUNREACH"), netcheck.ERR},
		{"local firewall", syscallErr("connect", "EACCES"), netcheck.ERR},
		{"out of descriptors", syscallErr("socket", "EMFILE"), netcheck.ERR},
		{"name not found", &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, netcheck.ERR},
		{"name lookup timed out", &net.DNSError{Err: "i/o timeout", Name: "x.example", IsTimeout: true}, netcheck.ERR},
		{"cancelled", context.Canceled, netcheck.ERR},
		{"anything else", errors.New("something local"), netcheck.ERR},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, why := netcheck.Classify(tc.err); got != tc.want {
				t.Errorf("Classify(%v) = %s (%s), want %s", tc.err, got, why, tc.want)
			}
		})
	}
}

// TestClassifyRealErrors checks the table on errors the system really
// returned.
func TestClassifyRealErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var d net.Dialer

	host, port := closedPort(t)
	_, refused := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	_, lookup := net.DefaultResolver.LookupNetIP(ctx, "ip", "does-not-exist.invalid")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	_, deadline := c.Read(make([]byte, 1))

	short, cancelShort := context.WithTimeout(ctx, time.Millisecond)
	defer cancelShort()
	<-short.Done()
	_, ctxDial := d.DialContext(short, "tcp", ln.Addr().String())

	tests := []struct {
		name string
		err  error
		want netcheck.Status
	}{
		{"connect to a closed port", refused, netcheck.NG},
		{"lookup of an .invalid name", lookup, netcheck.ERR},
		{"read past its deadline", deadline, netcheck.WR},
		{"dial with an expired context", ctxDial, netcheck.WR},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("the system returned no error")
			}
			if got, why := netcheck.Classify(tc.err); got != tc.want {
				t.Errorf("Classify(%v) = %s (%s), want %s", tc.err, got, why, tc.want)
			}
		})
	}
}
