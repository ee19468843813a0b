package notify_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/vigil-rmm/vigil/controller/internal/notify"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// openNotifyStore opens a real bbolt store in dir.
func openNotifyStore(t testing.TB, path string) *store.Bolt {
	t.Helper()
	st, err := store.OpenBolt(path, store.BoltOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Open(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	return st
}

// tempNotifyStore opens a real bbolt store in a temporary directory,
// closed when the test ends.
func tempNotifyStore(t testing.TB) *store.Bolt {
	t.Helper()
	st := openNotifyStore(t, filepath.Join(t.TempDir(), "control.db"))
	t.Cleanup(func() { st.Close() })
	return st
}

// notificationIn reads notification id from st.
func notificationIn(t testing.TB, st store.Store, id string) *storev1.Notification {
	t.Helper()
	var n *storev1.Notification
	if err := st.View(context.Background(), func(tx store.Tx) error {
		var err error
		n, err = schema.GetNotification(tx, id)
		return err
	}); err != nil {
		t.Fatalf("notification %s: %v", id, err)
	}
	return n
}

// notifyClock is the fake clock and timer of the dispatcher.
type notifyClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []notifyTimer
}

type notifyTimer struct {
	at time.Time
	ch chan time.Time
}

func newNotifyClock() *notifyClock {
	return &notifyClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *notifyClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *notifyClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.timers = append(c.timers, notifyTimer{at: c.now.Add(d), ch: ch})
	return ch
}

// Advance moves the clock and fires the timers it passes.
func (c *notifyClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	keep := c.timers[:0]
	for _, tm := range c.timers {
		if !tm.at.After(c.now) {
			tm.ch <- c.now
		} else {
			keep = append(keep, tm)
		}
	}
	c.timers = keep
}

// notifyRig is a store, a clock and a running dispatcher.
type notifyRig struct {
	t     *testing.T
	st    store.Store
	clock *notifyClock
	d     *notify.Dispatcher
}

// startNotifyRig runs a dispatcher on a fresh store until the test ends.
func startNotifyRig(t *testing.T, o notify.Options) *notifyRig {
	t.Helper()
	return startNotifyRigOn(t, tempNotifyStore(t), o)
}

// startNotifyRigOn runs a dispatcher on st, already holding state.
func startNotifyRigOn(t *testing.T, st store.Store, o notify.Options) *notifyRig {
	t.Helper()
	r := &notifyRig{t: t, st: st, clock: newNotifyClock()}
	o.Store, o.Now, o.After = r.st, r.clock.Now, r.clock.After
	if o.Jitter == nil {
		o.Jitter = func() float64 { return 0.5 }
	}
	r.d = notify.New(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

func (r *notifyRig) contact(c *storev1.Contact) {
	r.t.Helper()
	if err := r.st.Update(context.Background(), func(tx store.Tx) error { return schema.PutContact(tx, c) }); err != nil {
		r.t.Fatal(err)
	}
}

// enqueue queues n and wakes the dispatcher, as a producer does.
func (r *notifyRig) enqueue(n *storev1.Notification) {
	r.t.Helper()
	if n.CreatedUnixMs == 0 {
		n.CreatedUnixMs = r.clock.Now().UnixMilli()
	}
	err := r.st.Update(context.Background(), func(tx store.Tx) error {
		_, err := notify.Enqueue(tx, n)
		return err
	})
	if err != nil {
		r.t.Fatal(err)
	}
	r.d.Wake()
}

func (r *notifyRig) notification(id string) *storev1.Notification {
	r.t.Helper()
	return notificationIn(r.t, r.st, id)
}

// waitState waits until delivery idx of notification id is in state.
func (r *notifyRig) waitState(id string, idx int, state storev1.DeliveryState) *storev1.Notification {
	r.t.Helper()
	var n *storev1.Notification
	notifyWaitFor(r.t, "delivery "+id+" state "+state.String(), func() bool {
		n = r.notification(id)
		return idx < len(n.GetDeliveries()) && n.GetDeliveries()[idx].GetState() == state
	})
	return n
}

// notifyWaitFor polls cond for up to 15 s of real time.
func notifyWaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testCA is a CA and a server certificate for localhost and 127.0.0.1.
type testCA struct {
	pemFile string
	pool    *x509.CertPool
	server  tls.Certificate
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "relay test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &testCA{pemFile: path, pool: pool, server: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}}
}

// relayMail is one message the test relay accepted.
type relayMail struct {
	from string
	to   []string
	data []byte
}

// testRelay is an SMTP server (emersion/go-smtp) with STARTTLS and AUTH
// PLAIN. failNext makes the next DATA commands answer 451.
type testRelay struct {
	addr     string
	user     string
	password string

	mu       sync.Mutex
	mails    []relayMail
	failNext int
	authFail int
}

func startTestRelay(t testing.TB, ca *testCA, user, password string) *testRelay {
	t.Helper()
	return startTestRelayOn(t, ca, "127.0.0.1:0", user, password)
}

// startTestRelayOn starts the relay on addr.
func startTestRelayOn(t testing.TB, ca *testCA, addr, user, password string) *testRelay {
	t.Helper()
	r := &testRelay{user: user, password: password}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &relaySession{r: r}, nil }))
	s.Domain = "localhost"
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{ca.server}, MinVersion: tls.VersionTLS12}
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r.addr = l.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(l) }()
	t.Cleanup(func() { s.Close(); <-done })
	return r
}

func (r *testRelay) port() int {
	_, p, _ := net.SplitHostPort(r.addr)
	n, _ := strconv.Atoi(p)
	return n
}

func (r *testRelay) received() []relayMail {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]relayMail(nil), r.mails...)
}

type relaySession struct {
	r      *testRelay
	authed bool
	from   string
	to     []string
}

func (s *relaySession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *relaySession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.r.user || pass != s.r.password {
			s.r.mu.Lock()
			s.r.authFail++
			s.r.mu.Unlock()
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "authentication failed"}
		}
		s.authed = true
		return nil
	}), nil
}

func (s *relaySession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *relaySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *relaySession) Data(rd io.Reader) error {
	b, err := io.ReadAll(rd)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if s.r.failNext > 0 {
		s.r.failNext--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.r.mails = append(s.r.mails, relayMail{from: s.from, to: s.to, data: b})
	return nil
}

func (s *relaySession) Reset()        { s.from, s.to = "", nil }
func (s *relaySession) Logout() error { return nil }

// mailer returns a Mailer for the relay, trusting ca through ca_file.
func (r *testRelay) mailer(t testing.TB, ca *testCA, password string) *notify.Mailer {
	t.Helper()
	pw := filepath.Join(t.TempDir(), "smtp-password")
	if err := os.WriteFile(pw, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := notify.NewMailer(notify.SMTPConfig{Host: "localhost", Port: r.port(), Username: r.user, PasswordFile: pw,
		From: "vigil@msp.example", CAFile: ca.pemFile})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// twilioFake speaks the Twilio Messages API: it checks basic auth and the
// form, and answers 201 with a message document.
type twilioFake struct {
	srv   *httptest.Server
	sid   string
	token string

	mu       sync.Mutex
	messages []map[string]string
	status   int // an error status to answer with, 0: 201
	hits     int // well-formed requests received, answered or not
	// arrived and release, if set, hold each well-formed request: the
	// fake sends on arrived, then waits for release before answering.
	arrived chan struct{}
	release chan struct{}
}

func startTwilioFake(t testing.TB) *twilioFake {
	t.Helper()
	f := &twilioFake{sid: "AC0123456789abcdef", token: "tok-secret"}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *twilioFake) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	user, pass, ok := r.BasicAuth()
	if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+f.sid+"/Messages.json" {
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]any{"code": 20404, "message": "The requested resource was not found"})
		return
	}
	if !ok || user != f.sid || pass != f.token {
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]any{"code": 20003, "message": "Authenticate"})
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("To") == "" || r.PostForm.Get("From") == "" || r.PostForm.Get("Body") == "" {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{"code": 21604, "message": "A 'To' phone number is required."})
		return
	}
	f.mu.Lock()
	f.hits++
	arrived, release := f.arrived, f.release
	f.mu.Unlock()
	if arrived != nil {
		arrived <- struct{}{}
		<-release
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status != 0 {
		w.WriteHeader(f.status)
		_ = json.NewEncoder(w).Encode(map[string]any{"code": 21211, "message": "The 'To' number is not a valid phone number."})
		return
	}
	f.messages = append(f.messages, map[string]string{"To": r.PostForm.Get("To"), "From": r.PostForm.Get("From"), "Body": r.PostForm.Get("Body")})
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"sid": "SM1", "status": "queued"})
}

func (f *twilioFake) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.messages)
}

func (f *twilioFake) sender(t testing.TB) *notify.SMS {
	t.Helper()
	tok := filepath.Join(t.TempDir(), "sms-token")
	if err := os.WriteFile(tok, []byte(f.token), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := notify.NewSMS(notify.SMSConfig{URL: f.srv.URL, AccountSID: f.sid, AuthTokenFile: tok, From: "+15005550006"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// hookReceipt is one webhook call.
type hookReceipt struct {
	header http.Header
	body   []byte
}

// hookSink records webhook calls and answers with the statuses queued in
// answers (then 200).
type hookSink struct {
	mu       sync.Mutex
	receipts []hookReceipt
	answers  []int
}

func (h *hookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.receipts = append(h.receipts, hookReceipt{header: r.Header.Clone(), body: b})
	code := http.StatusOK
	if len(h.answers) > 0 {
		code, h.answers = h.answers[0], h.answers[1:]
	}
	h.mu.Unlock()
	w.WriteHeader(code)
}

func (h *hookSink) got() []hookReceipt {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookReceipt(nil), h.receipts...)
}

// mailHeader returns a header of a raw message.
func mailHeader(t testing.TB, data []byte, name string) string {
	t.Helper()
	head, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if ok && string(bytes.ToLower(k)) == name {
			return string(bytes.TrimSpace(v))
		}
	}
	return ""
}

// newHookServer is a TLS webhook receiver.
func newHookServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// notifyStore wraps a real store to watch and disturb the dispatcher: it
// counts reads of notification records and fails the next failUpdates
// read-write transactions (as a full disk or an I/O error would).
type notifyStore struct {
	store.Store
	mu          sync.Mutex
	reads       int
	failUpdates int
}

// errNotifyDisk is the error of a transaction notifyStore fails.
var errNotifyDisk = errors.New("injected: no space left on device")

func (s *notifyStore) View(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.View(ctx, func(tx store.Tx) error { return fn(&notifyStoreTx{Tx: tx, s: s}) })
}

func (s *notifyStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	s.mu.Lock()
	fail := s.failUpdates > 0
	if fail {
		s.failUpdates--
	}
	s.mu.Unlock()
	if fail {
		return errNotifyDisk
	}
	return s.Store.Update(ctx, func(tx store.Tx) error { return fn(&notifyStoreTx{Tx: tx, s: s}) })
}

func (s *notifyStore) notificationReads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

func (s *notifyStore) failNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failUpdates = n
}

func (s *notifyStore) failing() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failUpdates
}

type notifyStoreTx struct {
	store.Tx
	s *notifyStore
}

func (t *notifyStoreTx) Get(key string) ([]byte, error) {
	if strings.HasPrefix(key, "notifications/") {
		t.s.mu.Lock()
		t.s.reads++
		t.s.mu.Unlock()
	}
	return t.Tx.Get(key)
}
