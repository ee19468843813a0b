package netcheck_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigil-rmm/vigil/internal/netcheck"
	"github.com/vigil-rmm/vigil/internal/netcheck/netchecktest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// run runs p with a short timeout.
func run(t *testing.T, p netcheck.Probe, timeout time.Duration) netcheck.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r := p.Run(ctx)
	t.Logf("%T: %s %v %q", p, r.Status, r.Latency, r.Detail)
	if r.At.IsZero() {
		t.Error("result without a start time")
	}
	return r
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) (string, int) {
	t.Helper()
	return "127.0.0.1", netchecktest.ClosedPort(t)
}

func TestTCP(t *testing.T) {
	port := netchecktest.Listen(t).Port
	host, closed := closedPort(t)

	tests := []struct {
		name string
		p    netcheck.TCP
		want netcheck.Status
	}{
		{"listener", netcheck.TCP{Host: "127.0.0.1", Port: port}, netcheck.OK},
		{"listener by name", netcheck.TCP{Host: "localhost", Port: port, Resolver: fixedResolver{"localhost": "127.0.0.1"}}, netcheck.OK},
		{"closed port", netcheck.TCP{Host: host, Port: closed}, netcheck.NG},
		{"unresolvable", netcheck.TCP{Host: "does-not-exist.invalid", Port: 80}, netcheck.ERR},
		{"bad port", netcheck.TCP{Host: host, Port: 0}, netcheck.ERR},
		{"dialer refuses", netcheck.TCP{Host: host, Port: port, Dialer: errDialer{syscallErr("connect", "ECONNRESET")}}, netcheck.NG},
		{"dialer times out", netcheck.TCP{Host: host, Port: port, Dialer: errDialer{&net.OpError{Op: "dial", Net: "tcp", Err: timeoutErr{}}}}, netcheck.WR},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := run(t, &tc.p, 3*time.Second); got.Status != tc.want {
				t.Errorf("status %s, want %s (%s)", got.Status, tc.want, got.Detail)
			}
		})
	}
}

func TestTCPPresets(t *testing.T) {
	want := map[string]int{"http": 80, "https": 443, "ftp": 21, "pop3": 110, "smtp": 25, "dns": 53}
	for name, port := range want {
		if netcheck.Ports[name] != port {
			t.Errorf("preset %s = %d, want %d", name, netcheck.Ports[name], port)
		}
	}
}

// fixedResolver resolves names from a map, NXDOMAIN for the rest.
type fixedResolver map[string]string

func (f fixedResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return []netip.Addr{netip.MustParseAddr(a)}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// errDialer fails every dial with err.
type errDialer struct{ err error }

func (d errDialer) DialContext(context.Context, string, string) (net.Conn, error) {
	return nil, d.err
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// newCert returns a self-signed certificate for 127.0.0.1 that expires
// in days (plus an hour, so whole days round down to days).
func newCert(t *testing.T, days int) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "check test"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Duration(days)*24*time.Hour + time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestHTTP(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "<html>all systems nominal</html>")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, strings.Repeat("x", netcheck.MaxBody)+"needle")
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/gone", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/broken", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "oops", http.StatusInternalServerError)
	})
	block := make(chan struct{})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(block) })

	cert, pool := newCert(t, 30)
	tlsSrv := httptest.NewUnstartedServer(mux)
	tlsSrv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	trusted := &tls.Config{RootCAs: pool}
	host, closed := closedPort(t)

	tests := []struct {
		name     string
		p        netcheck.HTTP
		want     netcheck.Status
		certDays int // -1: no certificate expected
	}{
		{"ok", netcheck.HTTP{URL: srv.URL + "/ok"}, netcheck.OK, -1},
		{"keyword found", netcheck.HTTP{URL: srv.URL + "/ok", Keyword: "nominal"}, netcheck.OK, -1},
		{"keyword missing", netcheck.HTTP{URL: srv.URL + "/ok", Keyword: "degraded"}, netcheck.NG, -1},
		{"keyword past 1 MiB", netcheck.HTTP{URL: srv.URL + "/big", Keyword: "needle"}, netcheck.NG, -1},
		{"wrong status", netcheck.HTTP{URL: srv.URL + "/broken"}, netcheck.NG, -1},
		{"expected 500", netcheck.HTTP{URL: srv.URL + "/broken", Status: []int{500}}, netcheck.OK, -1},
		{"redirect is 3xx, not followed", netcheck.HTTP{URL: srv.URL + "/moved"}, netcheck.OK, -1},
		{"redirect not expected", netcheck.HTTP{URL: srv.URL + "/moved", Status: []int{200}}, netcheck.NG, -1},
		{"not found", netcheck.HTTP{URL: srv.URL + "/nothing"}, netcheck.NG, -1},
		{"slow", netcheck.HTTP{URL: srv.URL + "/slow"}, netcheck.WR, -1},
		{"closed port", netcheck.HTTP{URL: "http://" + net.JoinHostPort(host, strconv.Itoa(closed)) + "/"}, netcheck.NG, -1},
		{"unresolvable", netcheck.HTTP{URL: "http://does-not-exist.invalid/"}, netcheck.ERR, -1},
		{"not a URL", netcheck.HTTP{URL: "ftp://example.com/"}, netcheck.ERR, -1},
		{"https", netcheck.HTTP{URL: tlsSrv.URL + "/ok", TLS: trusted}, netcheck.OK, 30},
		{"https, certificate too close to expiry", netcheck.HTTP{URL: tlsSrv.URL + "/ok", TLS: trusted, MinCertDays: 45}, netcheck.NG, 30},
		{"https, untrusted certificate", netcheck.HTTP{URL: tlsSrv.URL + "/ok"}, netcheck.NG, -1},
		{"https to a plain server", netcheck.HTTP{URL: strings.Replace(srv.URL, "http:", "https:", 1) + "/ok", TLS: trusted}, netcheck.NG, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := run(t, &tc.p, time.Second)
			if got.Status != tc.want {
				t.Errorf("status %s, want %s (%s)", got.Status, tc.want, got.Detail)
			}
			if gotDays := daysOf(got); gotDays != tc.certDays {
				t.Errorf("CertDaysLeft %d, want %d", gotDays, tc.certDays)
			}
		})
	}
}

func daysOf(r netcheck.Result) int {
	if r.CertDaysLeft == nil {
		return -1
	}
	return *r.CertDaysLeft
}

func syscallErr(call, name string) error {
	errno, ok := errnos[name]
	if !ok {
		panic(fmt.Sprintf("no errno %s on this platform", name))
	}
	return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError(call, errno)}
}
