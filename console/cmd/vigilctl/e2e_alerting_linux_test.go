package main

// End-to-end tests of network checks, alert rules, notification delivery
// and reports through the built binaries: a controller configured with a
// local SMTP relay and a local webhook receiver, a real agent, and
// vigilctl driving them as docs/checks.md, docs/alerts.md,
// docs/notifications.md and docs/reports.md say. Slow (they build the
// binaries); run with VIGIL_SLOW_TESTS=1, as make test does.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// alertE2EHookRequest is one request the webhook receiver got, and the
// status it answered.
type alertE2EHookRequest struct {
	delivery, timestamp, signature string
	body                           []byte
	status                         int
}

// alertE2EHookBody is the webhook "json" format (docs/notifications.md).
type alertE2EHookBody struct {
	ID      string    `json:"id"`
	Tenant  string    `json:"tenant"`
	Source  string    `json:"source"`
	Kind    string    `json:"kind"`
	AlertID string    `json:"alert_id"`
	Rule    string    `json:"rule"`
	Check   string    `json:"check"`
	Agent   string    `json:"agent"`
	Host    string    `json:"host"`
	Subject string    `json:"subject"`
	Summary string    `json:"summary"`
	Time    time.Time `json:"time"`
}

// alertE2EHook is a plain-http webhook receiver on loopback that records
// every request and answers with the status it is told to.
type alertE2EHook struct {
	t   *testing.T
	url string

	mu     sync.Mutex
	status int
	reqs   []alertE2EHookRequest
}

func alertE2EStartHook(t *testing.T) *alertE2EHook {
	t.Helper()
	h := &alertE2EHook{t: t, status: http.StatusOK}
	srv := httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(srv.Close)
	h.url = srv.URL + "/vigil-hook"
	return h
}

func (h *alertE2EHook) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	h.mu.Lock()
	status := h.status
	if err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		// A 4xx is permanent: a malformed request shows up as a failed
		// delivery, never as a retry.
		status = http.StatusBadRequest
	}
	h.reqs = append(h.reqs, alertE2EHookRequest{delivery: r.Header.Get("X-Vigil-Delivery"), timestamp: r.Header.Get("X-Vigil-Timestamp"),
		signature: r.Header.Get("X-Vigil-Signature"), body: body, status: status})
	h.mu.Unlock()
	w.WriteHeader(status)
}

// answer sets the status of the next responses.
func (h *alertE2EHook) answer(status int) {
	h.mu.Lock()
	h.status = status
	h.mu.Unlock()
}

func (h *alertE2EHook) requests() []alertE2EHookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.reqs)
}

// ofKind returns the requests whose body has this kind, and their bodies.
func (h *alertE2EHook) ofKind(kind string) ([]alertE2EHookRequest, []alertE2EHookBody) {
	h.t.Helper()
	var rs []alertE2EHookRequest
	var bs []alertE2EHookBody
	for _, r := range h.requests() {
		var b alertE2EHookBody
		if err := json.Unmarshal(r.body, &b); err != nil {
			h.t.Fatalf("webhook body is not JSON: %v\n%s", err, r.body)
		}
		if b.Kind == kind {
			rs, bs = append(rs, r), append(bs, b)
		}
	}
	return rs, bs
}

// alertE2EVerify checks a webhook signature exactly as the receiver-side
// recipe of docs/notifications.md says: HMAC-SHA256 over the timestamp
// header, a dot and the raw body, "v1=" and hex, compared in constant
// time against each comma-separated signature, with the timestamp at most
// five minutes away.
func alertE2EVerify(secret string, r alertE2EHookRequest, now time.Time) error {
	ts, err := strconv.ParseInt(r.timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("X-Vigil-Timestamp %q: %w", r.timestamp, err)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("X-Vigil-Timestamp %q is %s away", r.timestamp, d)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(r.timestamp + "."))
	mac.Write(r.body)
	want := []byte("v1=" + hex.EncodeToString(mac.Sum(nil)))
	for _, s := range strings.Split(r.signature, ",") {
		if hmac.Equal([]byte(strings.TrimSpace(s)), want) {
			return nil
		}
	}
	return fmt.Errorf("X-Vigil-Signature %q: no signature matches", r.signature)
}

// alertE2EMail is one message the SMTP relay accepted.
type alertE2EMail struct {
	from    string
	to      []string
	header  mail.Header
	subject string
	body    string
}

// alertE2ERelay is a plain-text SMTP relay on loopback (emersion/go-smtp)
// that keeps every message.
type alertE2ERelay struct {
	addr string

	mu    sync.Mutex
	mails []alertE2EMail
}

func alertE2EStartRelay(t *testing.T) *alertE2ERelay {
	t.Helper()
	r := &alertE2ERelay{}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &alertE2ESession{r: r}, nil }))
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = l.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close(); <-done })
	return r
}

func (r *alertE2ERelay) port() int {
	_, p, _ := net.SplitHostPort(r.addr)
	n, _ := strconv.Atoi(p)
	return n
}

func (r *alertE2ERelay) received() []alertE2EMail {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.mails)
}

type alertE2ESession struct {
	r    *alertE2ERelay
	from string
	to   []string
}

func (s *alertE2ESession) Reset()        { s.from, s.to = "", nil }
func (s *alertE2ESession) Logout() error { return nil }

func (s *alertE2ESession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *alertE2ESession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *alertE2ESession) Data(r io.Reader) error {
	raw, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, r)
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "unreadable message: " + err.Error()}
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "unreadable subject: " + err.Error()}
	}
	var body io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	text, err := io.ReadAll(body)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "unreadable body: " + err.Error()}
	}
	s.r.mu.Lock()
	s.r.mails = append(s.r.mails, alertE2EMail{from: s.from, to: slices.Clone(s.to), header: m.Header, subject: subject, body: string(text)})
	s.r.mu.Unlock()
	return nil
}

// alertE2ELog is a controller's output, safe to read while it runs.
type alertE2ELog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *alertE2ELog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// tail is the last n bytes of the log.
func (l *alertE2ELog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buf.Bytes()
	return string(b[max(len(b)-n, 0):])
}

// alertE2EFastExit makes the race-built binaries this test starts exit
// at once: the race runtime otherwise sleeps a second at exit
// (atexit_sleep_ms), which is a second per vigilctl call. Races are still
// reported when they happen.
func alertE2EFastExit(t *testing.T) {
	t.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
}

// alertE2EConfig writes a controller config file and returns its path.
func (w *world) alertE2EConfig(name string, cfg map[string]any) string {
	w.t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	p := w.path(name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		w.t.Fatal(err)
	}
	return p
}

// alertE2ENotifyConfig is the config of a controller that reaches the
// test's receivers: webhooks to loopback allowed, an SMTP relay in plain
// text on loopback when relay is given, retries 2 s apart at first, and
// alerts evaluated every 10 s (the minimum).
func alertE2ENotifyConfig(relay *alertE2ERelay) map[string]any {
	notify := map[string]any{"retry_base": "2s", "webhook": map[string]any{"allow_private_networks": true}}
	if relay != nil {
		notify["smtp"] = map[string]any{"host": "127.0.0.1", "port": relay.port(), "from": "vigil@msp.example", "tls": "none"}
	}
	return map[string]any{"notify": notify, "alerts": map[string]any{"interval": "10s"}}
}

// alertE2EStartController starts the controller on the world's data
// directory with the config file, as startController does without one.
func (w *world) alertE2EStartController(cfgPath string) {
	w.t.Helper()
	log := &alertE2ELog{}
	w.ctl = exec.Command(filepath.Join(w.bin, "vigil-controller"), "run", "--data", w.path("ctl"),
		"--agent-listen", w.agentAddr, "--api-listen", w.apiAddr, "--config", cfgPath)
	w.ctl.Stdout, w.ctl.Stderr = log, log
	if err := w.ctl.Start(); err != nil {
		w.t.Fatal(err)
	}
	t := w.t
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("controller output (end):\n%s", log.tail(16<<10))
		}
	})
	w.waitFor("controller API", 15*time.Second, func() bool {
		cmd := exec.Command(filepath.Join(w.bin, "vigilctl"), "--config", w.path("admin.json"), "whoami")
		return cmd.Run() == nil
	})
}

// alertE2EStdout runs vigilctl, requires exit 0 and returns its stdout
// alone (run mixes in stderr).
func (w *world) alertE2EStdout(args ...string) []byte {
	w.t.Helper()
	cmd := exec.Command(filepath.Join(w.bin, "vigilctl"), args...)
	cmd.Env = append(os.Environ(), "VIGIL_CONFIG="+w.path("admin.json"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		w.t.Fatalf("vigilctl %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.Bytes()
}

// alertE2EContact creates a contact and returns its id and, for a
// webhook, the signing secret shown once.
func (w *world) alertE2EContact(args ...string) (id, secret string) {
	w.t.Helper()
	var c struct {
		ID            string `json:"id"`
		WebhookSecret string `json:"webhook_secret"`
	}
	w.ctlJSON(&c, append([]string{"contact", "create", "--tenant", "acme"}, args...)...)
	if c.ID == "" {
		w.t.Fatalf("contact create %v: no id", args)
	}
	return c.ID, c.WebhookSecret
}

// alertE2ENotification is `notifications list|show -o json`.
type alertE2ENotification struct {
	ID         string `json:"id"`
	Tenant     string `json:"tenant"`
	Source     string `json:"source"`
	Kind       string `json:"kind"`
	Check      string `json:"check"`
	AlertID    string `json:"alert_id"`
	Subject    string `json:"subject"`
	Deliveries []struct {
		Contact      string `json:"contact"`
		Kind         string `json:"kind"`
		State        string `json:"state"`
		AttemptCount int    `json:"attempt_count"`
		Attempts     []struct {
			Start time.Time  `json:"start"`
			End   *time.Time `json:"end"`
			OK    bool       `json:"ok"`
			Error string     `json:"error"`
		} `json:"attempts"`
	} `json:"deliveries"`
}

func (w *world) alertE2ENotifications() []alertE2ENotification {
	w.t.Helper()
	var ns []alertE2ENotification
	w.ctlJSON(&ns, "notifications", "list", "--tenant", "acme")
	return ns
}

// alertE2EAllSent reports whether every delivery of every notification
// listed is sent.
func alertE2EAllSent(ns []alertE2ENotification) bool {
	for _, n := range ns {
		for _, d := range n.Deliveries {
			if d.State != "sent" {
				return false
			}
		}
	}
	return true
}

// alertE2ECheckResults is the check's results, oldest first.
func (w *world) alertE2ECheckResults(id string) []netCheckResultView {
	w.t.Helper()
	var h struct {
		Results []netCheckResultView `json:"results"`
	}
	w.ctlJSON(&h, "check", "history", id, "--since", "1h")
	slices.SortFunc(h.Results, func(a, b netCheckResultView) int { return a.Time.Compare(b.Time) })
	return h.Results
}

// alertE2ERunCheck runs the check once with `check resume` (which runs it
// at once, docs/checks.md) and waits for its one new result, which must
// have the status want. A resume that reaches the runner while the
// previous run is still finishing is dropped, so it asks again after a
// while without a result.
func (w *world) alertE2ERunCheck(id, want string) {
	w.t.Helper()
	n := len(w.alertE2ECheckResults(id))
	var rs []netCheckResultView
	for try := 0; ; try++ {
		if try == 3 {
			w.t.Fatalf("check %s: no new result after %d resumes", id, try)
		}
		w.run(0, "vigilctl", "check", "resume", id)
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && len(rs) <= n {
			time.Sleep(50 * time.Millisecond)
			rs = w.alertE2ECheckResults(id)
		}
		if len(rs) > n {
			break
		}
	}
	if len(rs) != n+1 {
		w.t.Fatalf("check %s: %d new results for one run: %+v", id, len(rs)-n, rs[n:])
	}
	if got := rs[n]; got.Status != want {
		w.t.Fatalf("check %s: run gave %s (%s), want %s", id, got.Status, got.Detail, want)
	}
}

// alertE2ETarget is a TCP listener the test owns, as a check's target:
// it accepts and closes connections until closed.
type alertE2ETarget struct {
	addr string
	l    net.Listener
	done chan struct{}
}

func alertE2EListen(t *testing.T, addr string) *alertE2ETarget {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	tg := &alertE2ETarget{addr: l.Addr().String(), l: l, done: make(chan struct{})}
	go func() {
		defer close(tg.done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	t.Cleanup(tg.close)
	return tg
}

func (tg *alertE2ETarget) close() {
	_ = tg.l.Close()
	<-tg.done
}

func (tg *alertE2ETarget) port() string {
	_, p, _ := net.SplitHostPort(tg.addr)
	return p
}

// alertE2ECreateCheck creates a tcp check of the target from the
// controller. Its interval is a day, so its own slots do not run it during
// the test: only `check resume` does.
func (w *world) alertE2ECreateCheck(tg *alertE2ETarget) string {
	w.t.Helper()
	var c struct {
		ID string `json:"id"`
	}
	w.ctlJSON(&c, "check", "create", "--tenant", "acme", "--target", "127.0.0.1", "--type", "tcp", "--port", tg.port(),
		"--interval", "24h", "--timeout", "2s", "--name", "e2e target")
	if c.ID == "" {
		w.t.Fatal("check create: no id")
	}
	return c.ID
}

// TestAlertingE2ECheckNotices: a tcp check of a port the test owns goes
// down after two failing runs and up after two good ones; each change
// reaches the default webhook exactly once, signed as
// docs/notifications.md says, and the default email contact through a
// local SMTP relay with the documented subject.
func TestAlertingE2ECheckNotices(t *testing.T) {
	alertE2EFastExit(t)
	start := time.Now()
	w := newWorld(t)
	defer func() { t.Logf("wall time %s", time.Since(start).Round(time.Millisecond)) }()
	hook, relay := alertE2EStartHook(t), alertE2EStartRelay(t)
	w.alertE2EStartController(w.alertE2EConfig("controller.json", alertE2ENotifyConfig(relay)))
	w.run(0, "vigilctl", "tenant", "create", "acme")
	hookID, secret := w.alertE2EContact("--webhook", hook.url, "--format", "json", "--default")
	if len(secret) < 32 {
		t.Fatalf("webhook secret %q: want a long random secret", secret)
	}
	mailID, _ := w.alertE2EContact("--email", "ops@acme.example", "--default")

	tg := alertE2EListen(t, "127.0.0.1:0")
	id := w.alertE2ECreateCheck(tg)
	// A new check that finds its target up sends nothing.
	w.alertE2ERunCheck(id, "OK")
	w.alertE2ERunCheck(id, "OK")
	if ns := w.alertE2ENotifications(); len(ns) != 0 {
		t.Fatalf("notifications after two good runs of a new check: %+v", ns)
	}

	// Down: one failing run is not enough, the second sends the notice.
	tg.close()
	w.alertE2ERunCheck(id, "NG")
	if ns := w.alertE2ENotifications(); len(ns) != 0 {
		t.Fatalf("notifications after one failing run: %+v", ns)
	}
	w.alertE2ERunCheck(id, "NG")
	subject := fmt.Sprintf("DOWN: tcp %s (from controller)", tg.addr)
	alertE2EWaitNotice(t, w, hook, relay, "down", 1)
	alertE2ECheckNotice(t, hook, relay, secret, hookID, mailID, id, "down", subject)

	// Up again on the same port: two good runs.
	tg = alertE2EListen(t, tg.addr)
	w.alertE2ERunCheck(id, "OK")
	if ns := w.alertE2ENotifications(); len(ns) != 1 {
		t.Fatalf("notifications after one good run: %d, want the down one only", len(ns))
	}
	w.alertE2ERunCheck(id, "OK")
	alertE2EWaitNotice(t, w, hook, relay, "up", 2)
	alertE2ECheckNotice(t, hook, relay, secret, hookID, mailID, id, "up", fmt.Sprintf("UP: tcp %s (from controller)", tg.addr))

	// Nothing was sent twice, and the list shows both notices sent to both
	// contacts, one attempt each.
	if rs, _ := hook.ofKind("down"); len(rs) != 1 {
		t.Fatalf("down notice reached the webhook %d times", len(rs))
	}
	if n := len(hook.requests()); n != 2 {
		t.Fatalf("webhook got %d requests, want 2 (down, up)", n)
	}
	ns := w.alertE2ENotifications()
	kinds := map[string]bool{}
	for _, n := range ns {
		kinds[n.Kind] = true
		if n.Source != "check" || n.Check != id || len(n.Deliveries) != 2 {
			t.Fatalf("notification %+v: want a check notice of %s with 2 deliveries", n, id)
		}
		for _, d := range n.Deliveries {
			if d.State != "sent" || d.AttemptCount != 1 {
				t.Fatalf("notification %s delivery to %s: %s after %d attempts, want sent after 1", n.ID, d.Contact, d.State, d.AttemptCount)
			}
		}
	}
	if len(ns) != 2 || !kinds["down"] || !kinds["up"] {
		t.Fatalf("notifications list: %+v, want down and up", ns)
	}
}

// alertE2EWaitNotice waits until the webhook got a notice of kind, the
// relay has mails mails, and every delivery listed is sent.
func alertE2EWaitNotice(t *testing.T, w *world, hook *alertE2EHook, relay *alertE2ERelay, kind string, mails int) {
	t.Helper()
	took := w.waitFor(kind+" notice delivered", 20*time.Second, func() bool {
		rs, _ := hook.ofKind(kind)
		return len(rs) > 0 && len(relay.received()) >= mails && alertE2EAllSent(w.alertE2ENotifications())
	})
	t.Logf("%s notice delivered %s after the deciding run", kind, took.Round(time.Millisecond))
}

// alertE2ECheckNotice checks the one webhook request and the one mail of
// a check notice.
func alertE2ECheckNotice(t *testing.T, hook *alertE2EHook, relay *alertE2ERelay, secret, hookID, mailID, check, kind, subject string) {
	t.Helper()
	rs, bs := hook.ofKind(kind)
	if len(rs) != 1 {
		t.Fatalf("%s notice reached the webhook %d times, want once", kind, len(rs))
	}
	r, b := rs[0], bs[0]
	if err := alertE2EVerify(secret, r, time.Now()); err != nil {
		t.Fatalf("%s notice signature: %v", kind, err)
	}
	// The check can fail: another secret, or a changed body, does not verify.
	if alertE2EVerify(secret+"x", r, time.Now()) == nil {
		t.Fatal("signature verified with the wrong secret")
	}
	tampered := r
	tampered.body = bytes.Replace(r.body, []byte(`"acme"`), []byte(`"evil"`), 1)
	if alertE2EVerify(secret, tampered, time.Now()) == nil {
		t.Fatal("signature verified a changed body")
	}
	if b.Tenant != "acme" || b.Source != "check" || b.Check != check || b.Host != "127.0.0.1" || b.Subject != subject ||
		!strings.Contains(b.Summary, check) || r.delivery != b.ID+"/"+hookID || r.status != http.StatusOK {
		t.Fatalf("%s notice: delivery %q, body %+v; want check %s, subject %q", kind, r.delivery, b, check, subject)
	}

	var got []alertE2EMail
	for _, m := range relay.received() {
		if m.header.Get("X-Vigil-Delivery") == b.ID+"/"+mailID {
			got = append(got, m)
		}
	}
	if len(got) != 1 {
		t.Fatalf("%s notice: %d mails for %s/%s, want 1", kind, len(got), b.ID, mailID)
	}
	m := got[0]
	if want := "[vigil] " + subject; m.subject != want {
		t.Errorf("%s mail subject %q, want %q (docs/notifications.md, Email)", kind, m.subject, want)
	}
	if m.from != "vigil@msp.example" || !slices.Equal(m.to, []string{"ops@acme.example"}) ||
		m.header.Get("Message-Id") != "<"+b.ID+"."+mailID+"@vigil>" || !strings.Contains(m.body, check) {
		t.Fatalf("%s mail: from %q to %v, Message-ID %q, body:\n%s", kind, m.from, m.to, m.header.Get("Message-Id"), m.body)
	}
}

// TestAlertingE2EAlertNotice: a rule that always holds fires on a real
// agent's metrics; the webhook is told, naming the agent's host; the alert
// is listed open, acknowledged, and maintenance of the agent starts and
// stops.
func TestAlertingE2EAlertNotice(t *testing.T) {
	alertE2EFastExit(t)
	start := time.Now()
	w := newWorld(t)
	defer func() { t.Logf("wall time %s", time.Since(start).Round(time.Millisecond)) }()
	hook := alertE2EStartHook(t)
	w.alertE2EStartController(w.alertE2EConfig("controller.json", alertE2ENotifyConfig(nil)))
	w.run(0, "vigilctl", "tenant", "create", "acme")
	_, secret := w.alertE2EContact("--webhook", hook.url, "--default")
	agent := w.enrollAgent("agent1", "acme")
	w.startAgent("agent1")
	w.waitFor("first metrics", 20*time.Second, func() bool { return len(w.samples(agent)) > 0 })

	var rule struct {
		ID string `json:"id"`
	}
	created := time.Now()
	w.ctlJSON(&rule, "rule", "create", "--tenant", "acme", "--kind", "metric", "--metric", "cpu", "--op", ">=", "--threshold", "0",
		"--consecutive", "1", "--name", "always")
	if rule.ID == "" {
		t.Fatal("rule create: no id")
	}
	w.waitFor("firing notice at the webhook", 30*time.Second, func() bool {
		_, bs := hook.ofKind("firing")
		return len(bs) > 0
	})
	t.Logf("firing notice received %s after the rule was created", time.Since(created).Round(time.Millisecond))
	rs, bs := hook.ofKind("firing")
	host, _ := os.Hostname()
	if len(rs) != 1 || bs[0].Source != "alert" || bs[0].Rule != rule.ID || bs[0].Agent != agent || bs[0].Host != host ||
		bs[0].AlertID == "" || !strings.Contains(bs[0].Subject, host) {
		t.Fatalf("firing notices: %+v; want one of rule %s on agent %s, host %q", bs, rule.ID, agent, host)
	}
	if err := alertE2EVerify(secret, rs[0], time.Now()); err != nil {
		t.Fatalf("firing notice signature: %v", err)
	}

	var open []alertJSON
	w.ctlJSON(&open, "alert", "list", "--tenant", "acme", "--open")
	i := slices.IndexFunc(open, func(a alertJSON) bool { return a.ID == bs[0].AlertID })
	if i < 0 {
		t.Fatalf("alert list --open: %+v; want %s", open, bs[0].AlertID)
	}
	if a := open[i]; a.Rule != rule.ID || a.Agent != agent || a.Host != host || !a.Open || a.State != "firing" || !a.Notified || a.Suppressed {
		t.Fatalf("open alert: %+v", a)
	}
	var acked alertJSON
	w.ctlJSON(&acked, "alert", "ack", bs[0].AlertID, "--comment", "looking at it")
	if acked.State != "acknowledged" || acked.AckedAt == nil || acked.AckedBy == "" || !acked.Open {
		t.Fatalf("alert ack: %+v", acked)
	}

	var m maintenanceJSON
	w.ctlJSON(&m, "maintenance", "start", agent, "--until", "1h", "--reason", "e2e")
	if m.AgentID != agent || !m.Active || m.Hostname != host || time.Until(m.End) < 55*time.Minute || time.Until(m.End) > 65*time.Minute {
		t.Fatalf("maintenance start: %+v", m)
	}
	var ms []maintenanceJSON
	w.ctlJSON(&ms, "maintenance", "list", "--tenant", "acme")
	if len(ms) != 1 || ms[0].AgentID != agent || !ms[0].Active || ms[0].Reason != "e2e" {
		t.Fatalf("maintenance list while active: %+v", ms)
	}
	w.ctlJSON(&m, "maintenance", "stop", agent)
	if m.AgentID != agent || m.Active {
		t.Fatalf("maintenance stop: %+v", m)
	}
	w.ctlJSON(&ms, "maintenance", "list", "--tenant", "acme")
	if len(ms) != 1 || ms[0].Active {
		t.Fatalf("maintenance list after stop: %+v", ms)
	}
	// The acknowledged alert neither repeats nor fires again.
	if rs, _ := hook.ofKind("firing"); len(rs) != 1 {
		t.Fatalf("firing notice sent %d times", len(rs))
	}
}

// TestAlertingE2EKillWithQueuedNotifications: test notifications fail
// against a receiver answering 503 and wait for their retry; the
// controller is killed with SIGKILL, the receiver recovers, and after a
// restart on the same data directory each notification reaches it exactly
// once with a 200, its attempts from before the kill still recorded.
func TestAlertingE2EKillWithQueuedNotifications(t *testing.T) {
	alertE2EFastExit(t)
	start := time.Now()
	w := newWorld(t)
	defer func() { t.Logf("wall time %s", time.Since(start).Round(time.Millisecond)) }()
	hook := alertE2EStartHook(t)
	hook.answer(http.StatusServiceUnavailable)

	// retry_base is validated: the controller refuses a bad one and names it.
	cfg := alertE2ENotifyConfig(nil)
	cfg["notify"].(map[string]any)["retry_base"] = "500ms"
	out := alertE2ERunExit(t, w, 2, "vigil-controller", "run", "--data", w.path("ctl"), "--agent-listen", w.agentAddr,
		"--api-listen", w.apiAddr, "--config", w.alertE2EConfig("bad.json", cfg))
	if !strings.Contains(out, "notify.retry_base") {
		t.Fatalf("bad retry_base: %s", out)
	}

	cfgPath := w.alertE2EConfig("controller.json", alertE2ENotifyConfig(nil))
	w.alertE2EStartController(cfgPath)
	w.run(0, "vigilctl", "tenant", "create", "acme")
	contact, secret := w.alertE2EContact("--webhook", hook.url)
	const count = 3
	ids := map[string]bool{}
	for range count {
		var r struct {
			Notification string `json:"notification"`
		}
		w.ctlJSON(&r, "contact", "test", contact)
		ids[r.Notification] = true
	}
	if len(ids) != count {
		t.Fatalf("contact test gave ids %v, want %d distinct", ids, count)
	}

	// Every notification failed at least once and waits for its retry.
	before := map[string]int{}
	w.waitFor("every delivery failed and queued", 20*time.Second, func() bool {
		var ns []alertE2ENotification
		w.ctlJSON(&ns, "notifications", "list", "--tenant", "acme", "--state", "queued")
		clear(before)
		for _, n := range ns {
			if len(n.Deliveries) == 1 && n.Deliveries[0].State == "queued" && n.Deliveries[0].AttemptCount >= 1 {
				before[n.ID] = n.Deliveries[0].AttemptCount
			}
		}
		return len(before) == count
	})
	if err := w.ctl.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	_ = w.ctl.Wait()
	failed := len(hook.requests())
	hook.answer(http.StatusOK)
	for _, r := range hook.requests() {
		if r.status != http.StatusServiceUnavailable {
			t.Fatalf("before the kill the receiver answered %d", r.status)
		}
	}
	t.Logf("killed with %d notifications queued after %d failed requests", count, failed)

	w.alertE2EStartController(cfgPath)
	took := w.waitFor("every notification sent after the restart", 30*time.Second, func() bool {
		ns := w.alertE2ENotifications()
		return len(ns) == count && alertE2EAllSent(ns)
	})
	t.Logf("all sent %s after the restart", took.Round(time.Millisecond))

	ok := map[string]int{}
	for _, r := range hook.requests() {
		if r.status == http.StatusOK {
			ok[r.delivery]++
			if err := alertE2EVerify(secret, r, time.Now()); err != nil {
				t.Fatalf("delivery %s after the restart: %v", r.delivery, err)
			}
		}
	}
	for id := range ids {
		if n := ok[id+"/"+contact]; n != 1 {
			t.Errorf("notification %s answered 200 %d times, want exactly once", id, n)
		}
	}
	if len(ok) != count {
		t.Errorf("200 answers per delivery: %v, want one for each of %d notifications", ok, count)
	}

	for id, n := range before {
		var v alertE2ENotification
		w.ctlJSON(&v, "notifications", "show", id)
		d := v.Deliveries[0]
		if d.State != "sent" || len(d.Attempts) < n+1 || d.AttemptCount != len(d.Attempts) {
			t.Fatalf("notification %s: %s with %d attempts; want sent after the %d failed before the kill", id, d.State, len(d.Attempts), n)
		}
		for i, a := range d.Attempts[:n] {
			if a.OK || !strings.Contains(a.Error, "503") || !a.Start.Before(killed) {
				t.Fatalf("notification %s attempt %d (before the kill): %+v", id, i, a)
			}
		}
		if last := d.Attempts[len(d.Attempts)-1]; !last.OK || last.Start.Before(killed) {
			t.Fatalf("notification %s last attempt: %+v", id, last)
		}
	}
}

// alertE2ERunExit runs a binary that must end by itself within 20 s with
// the exit code want, and returns its output.
func alertE2ERunExit(t *testing.T, w *world, want int, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(w.bin, name), args...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if code != want {
		t.Fatalf("%s %s: exit %d, want %d\n%s", name, strings.Join(args, " "), code, want, out)
	}
	return string(out)
}

// TestAlertingE2EReport: the report of a tenant with an agent and a check
// comes as one JSON document naming both, and as the five CSV files. A
// report covers whole minutes only, and an agent's figures start at the
// first whole minute after its enrollment (docs/reports.md): the test
// waits for the next whole minute, so the check's result is in the
// period, and checks the agent's availability and metrics against the
// period the report says it covers (an agent with no whole enrolled minute
// in it is left out; waiting up to two minutes for one is beyond this
// suite's time budget, the report package's tests cover those figures).
func TestAlertingE2EReport(t *testing.T) {
	alertE2EFastExit(t)
	start := time.Now()
	w := newWorld(t)
	defer func() { t.Logf("wall time %s", time.Since(start).Round(time.Millisecond)) }()
	w.startController()
	w.run(0, "vigilctl", "tenant", "create", "acme")
	enrollFrom := time.Now()
	agent := w.enrollAgent("agent1", "acme")
	enrollTo := time.Now()
	w.startAgent("agent1")
	tg := alertE2EListen(t, "127.0.0.1:0")
	check := w.alertE2ECreateCheck(tg)
	w.alertE2ERunCheck(check, "OK")
	w.waitFor("first metrics", 20*time.Second, func() bool { return len(w.samples(agent)) > 0 })
	boundary := time.Now().Truncate(time.Minute).Add(time.Minute)
	t.Logf("waiting %s for the next whole minute", time.Until(boundary).Round(time.Second))
	time.Sleep(time.Until(boundary) + 500*time.Millisecond)

	var rep struct {
		Tenant             string    `json:"tenant"`
		Since              time.Time `json:"since"`
		Until              time.Time `json:"until"`
		AvailabilityAgents []struct {
			AgentID         string `json:"agent_id"`
			ExpectedMinutes int    `json:"expected_minutes"`
		} `json:"availability_agents"`
		AvailabilityChecks []struct {
			CheckID string `json:"check_id"`
			Vantage string `json:"vantage"`
			OK      int    `json:"ok"`
		} `json:"availability_checks"`
		Metrics []struct {
			AgentID string `json:"agent_id"`
			Days    []struct {
				Samples int `json:"samples"`
			} `json:"days"`
		} `json:"metrics"`
		Compliance struct {
			Agents  int `json:"agents"`
			Patches []struct {
				AgentID string `json:"agent_id"`
			} `json:"patches"`
		} `json:"compliance"`
	}
	out := w.alertE2EStdout("report", "--tenant", "acme", "--format", "json")
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("report --format json: %v\n%s", err, out)
	}
	if rep.Tenant != "acme" || rep.Until.After(time.Now()) || rep.Until.Sub(rep.Since) < 9*24*time.Hour ||
		len(rep.AvailabilityChecks) != 1 || rep.AvailabilityChecks[0].CheckID != check || rep.AvailabilityChecks[0].Vantage != "controller" ||
		rep.AvailabilityChecks[0].OK != 1 ||
		rep.Compliance.Agents != 1 || len(rep.Compliance.Patches) != 1 || rep.Compliance.Patches[0].AgentID != agent {
		t.Fatalf("report: %s", out)
	}
	// The agent's first whole minute, as the controller may have seen the
	// enrollment anywhere between enrollFrom and enrollTo. It stores the
	// enrollment time in whole seconds, and a minute that starts exactly
	// then counts.
	firstMinute := func(t time.Time) time.Time {
		t = t.Truncate(time.Second)
		if m := t.Truncate(time.Minute); !m.Equal(t) {
			return m.Add(time.Minute)
		}
		return t
	}
	firstFrom, firstTo := firstMinute(enrollFrom), firstMinute(enrollTo)
	switch {
	case !rep.Until.After(firstFrom):
		if len(rep.AvailabilityAgents) != 0 || len(rep.Metrics) != 0 {
			t.Fatalf("report until %s, agent enrolled at %s: want it out of availability and metrics\n%s", rep.Until, enrollTo, out)
		}
	case rep.Until.After(firstTo):
		if len(rep.AvailabilityAgents) != 1 || rep.AvailabilityAgents[0].AgentID != agent || rep.AvailabilityAgents[0].ExpectedMinutes < 1 ||
			len(rep.Metrics) != 1 || rep.Metrics[0].AgentID != agent || len(rep.Metrics[0].Days) == 0 || rep.Metrics[0].Days[0].Samples < 1 {
			t.Fatalf("report until %s, agent enrolled at %s: want its availability and metrics\n%s", rep.Until, enrollTo, out)
		}
	default:
		t.Logf("enrollment straddled a minute boundary: agent figures not checked")
	}

	dir := w.path("report")
	w.alertE2EStdout("report", "--tenant", "acme", "--format", "csv", "--out", dir)
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Name())
	}
	want := []string{"alerts.csv", "availability-agents.csv", "availability-checks.csv", "compliance.csv", "metrics.csv"}
	if !slices.Equal(names, want) {
		t.Fatalf("report --format csv --out: files %v, want %v", names, want)
	}
	for _, f := range []struct{ file, header, row string }{
		{"alerts.csv", "id", ""},
		{"availability-agents.csv", "agent_id", ""},
		{"availability-checks.csv", "check_id", check},
		{"compliance.csv", "agent_id", agent},
		{"metrics.csv", "agent_id", ""},
	} {
		b, err := os.ReadFile(filepath.Join(dir, f.file))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil || len(rows) == 0 || rows[0][0] != f.header ||
			(f.row != "" && !slices.ContainsFunc(rows[1:], func(r []string) bool { return r[0] == f.row })) {
			t.Fatalf("%s: %v; want header %q and a row of %q\n%s", f.file, err, f.header, f.row, b)
		}
	}
}
