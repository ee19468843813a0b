//go:build unix || windows

package check_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/check"
)

// TestClassify checks the mapping table (doc.go) on errors built the way
// the net package wraps them.
func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want check.Status
	}{
		{"nil", nil, check.OK},
		{"refused", syscallErr("connect", "ECONNREFUSED"), check.NG},
		{"reset", syscallErr("read", "ECONNRESET"), check.NG},
		{"kernel timeout", syscallErr("connect", "ETIMEDOUT"), check.WR},
		{"deadline", &net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}, check.WR},
		{"context deadline", context.DeadlineExceeded, check.WR},
		{"net.Error timeout", &net.OpError{Op: "read", Err: timeoutErr{}}, check.WR},
		{"host unreachable", syscallErr("connect", "EHOSTUNREACH"), check.ERR},
		{"network unreachable", syscallErr("connect", "ENETUNREACH"), check.ERR},
		{"local firewall", syscallErr("connect", "EACCES"), check.ERR},
		{"out of descriptors", syscallErr("socket", "EMFILE"), check.ERR},
		{"name not found", &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, check.ERR},
		{"name lookup timed out", &net.DNSError{Err: "i/o timeout", Name: "x.example", IsTimeout: true}, check.ERR},
		{"cancelled", context.Canceled, check.ERR},
		{"anything else", errors.New("something local"), check.ERR},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, why := check.Classify(tc.err); got != tc.want {
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
		want check.Status
	}{
		{"connect to a closed port", refused, check.NG},
		{"lookup of an .invalid name", lookup, check.ERR},
		{"read past its deadline", deadline, check.WR},
		{"dial with an expired context", ctxDial, check.WR},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("the system returned no error")
			}
			if got, why := check.Classify(tc.err); got != tc.want {
				t.Errorf("Classify(%v) = %s (%s), want %s", tc.err, got, why, tc.want)
			}
		})
	}
}
