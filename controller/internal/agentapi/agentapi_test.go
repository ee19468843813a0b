package agentapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/controller/internal/auth"
	"github.com/vigil-rmm/vigil/controller/internal/pki"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	"github.com/vigil-rmm/vigil/internal/logging"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

type harness struct {
	srv   *Server
	store store.Store
	now   time.Time
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "c.db"), store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := schema.Open(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	h := &harness{store: st, now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	ca, err := pki.NewCA("test", h.now)
	if err != nil {
		t.Fatal(err)
	}
	lim := auth.NewLimiter(1000, time.Second)
	h.srv = New(Config{Store: st, Signer: ca, CACert: ca.Cert, Logger: logging.Discard(), Limiter: lim,
		Now: func() time.Time { return h.now }})
	err = st.Update(context.Background(), func(tx store.Tx) error {
		return schema.PutTenant(tx, &storev1.Tenant{Id: "acme", Name: "ACME", Timezone: "UTC"})
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) token(t *testing.T, uses uint32, ttl time.Duration) string {
	t.Helper()
	secret, hash, _ := auth.NewSecret(auth.EnrollTokenPrefix)
	err := h.store.Update(context.Background(), func(tx store.Tx) error {
		return schema.PutEnrollToken(tx, hash, &storev1.EnrollToken{Id: hash[:12], Tenant: "acme", Uses: uses,
			ExpiresUnix: h.now.Add(ttl).Unix()})
	})
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

func csr(t testing.TB, curve elliptic.Curve) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestEnrollErrors(t *testing.T) {
	h := newHarness(t)
	good := csr(t, elliptic.P256())
	expired := h.token(t, 5, time.Minute)
	usedUp := h.token(t, 1, time.Hour)
	if _, err := h.srv.Enroll(context.Background(), &agentv1.EnrollRequest{Token: usedUp, CsrDer: good}); err != nil {
		t.Fatal(err)
	}
	h.now = h.now.Add(2 * time.Minute)
	cases := []struct {
		name string
		req  *agentv1.EnrollRequest
		code codes.Code
		msg  string
	}{
		{"unknown", &agentv1.EnrollRequest{Token: "vgl_enr_nope", CsrDer: good}, codes.Unauthenticated, "not recognised"},
		{"expired", &agentv1.EnrollRequest{Token: expired, CsrDer: good}, codes.FailedPrecondition, "expired"},
		{"used up", &agentv1.EnrollRequest{Token: usedUp, CsrDer: good}, codes.FailedPrecondition, "used up"},
		{"no token", &agentv1.EnrollRequest{CsrDer: good}, codes.InvalidArgument, "token: required"},
		{"no csr", &agentv1.EnrollRequest{Token: h.token(t, 1, time.Hour)}, codes.InvalidArgument, "csr_der"},
		{"garbage csr", &agentv1.EnrollRequest{Token: h.token(t, 1, time.Hour), CsrDer: []byte("nope")}, codes.InvalidArgument, "bad certificate request"},
		{"P-384 key", &agentv1.EnrollRequest{Token: h.token(t, 1, time.Hour), CsrDer: csr(t, elliptic.P384())}, codes.InvalidArgument, "P-256"},
		{"control chars", &agentv1.EnrollRequest{Token: h.token(t, 1, time.Hour), CsrDer: good, Hostname: "a\x1b[31m"}, codes.InvalidArgument, "hostname"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.srv.Enroll(context.Background(), tc.req)
			s, _ := status.FromError(err)
			if s.Code() != tc.code || !strings.Contains(s.Message(), tc.msg) {
				t.Fatalf("got %v %q, want %v containing %q", s.Code(), s.Message(), tc.code, tc.msg)
			}
		})
	}
	// Nothing was stored by the refusals: one agent only.
	var n int
	_ = h.store.View(context.Background(), func(tx store.Tx) error {
		as, err := schema.ListAgents(tx)
		n = len(as)
		return err
	})
	if n != 1 {
		t.Fatalf("%d agents stored, want 1", n)
	}
}

func TestEnrollUsesCountedAtomically(t *testing.T) {
	h := newHarness(t)
	tok := h.token(t, 5, time.Hour)
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		ok int
	)
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.srv.Enroll(context.Background(), &agentv1.EnrollRequest{Token: tok, CsrDer: csr(t, elliptic.P256())}); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != 5 {
		t.Fatalf("%d enrollments succeeded with a 5-use token", ok)
	}
}

func TestEnrollRateLimited(t *testing.T) {
	h := newHarness(t)
	h.srv.cfg.Limiter = auth.NewLimiter(3, time.Minute)
	h.srv.cfg.Limiter.Now = func() time.Time { return h.now }
	for i := 0; i < 3; i++ {
		_, err := h.srv.Enroll(context.Background(), &agentv1.EnrollRequest{Token: "vgl_enr_guess", CsrDer: []byte{1}})
		if status.Code(err) == codes.ResourceExhausted {
			t.Fatalf("attempt %d limited too early", i)
		}
	}
	good := h.token(t, 1, time.Hour)
	_, err := h.srv.Enroll(context.Background(), &agentv1.EnrollRequest{Token: good, CsrDer: csr(t, elliptic.P256())})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("4th attempt: %v, want ResourceExhausted even with a good token", err)
	}
	h.now = h.now.Add(time.Minute)
	if _, err := h.srv.Enroll(context.Background(), &agentv1.EnrollRequest{Token: good, CsrDer: csr(t, elliptic.P256())}); err != nil {
		t.Fatalf("after refill: %v", err)
	}
}
