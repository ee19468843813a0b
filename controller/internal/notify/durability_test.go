package notify_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/notify"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Environment of the child process of TestDeliveryAfterKill.
const (
	envNotifyChild = "NOTIFY_CHILD" // the bbolt file
	envChildSMTP   = "NOTIFY_CHILD_SMTP_PORT"
	envChildCA     = "NOTIFY_CHILD_CA"
	envChildPW     = "NOTIFY_CHILD_PASSWORD_FILE"
)

// TestNotifyChild is the child process of TestDeliveryAfterKill: it runs
// a dispatcher on the bbolt file NOTIFY_CHILD names with the real clock
// (and short retries), prints its progress, and blocks until killed.
func TestNotifyChild(t *testing.T) {
	path := os.Getenv(envNotifyChild)
	if path == "" {
		t.Skip("child process of TestDeliveryAfterKill")
	}
	st := openNotifyStore(t, path)
	port, _ := strconv.Atoi(os.Getenv(envChildSMTP))
	m, err := notify.NewMailer(notify.SMTPConfig{Host: "localhost", Port: port, Username: "vigil", PasswordFile: os.Getenv(envChildPW),
		From: "vigil@msp.example", CAFile: os.Getenv(envChildCA)})
	if err != nil {
		t.Fatal(err)
	}
	wh, err := notify.NewWebhooks(notify.WebhookConfig{AllowPrivateNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	d := notify.New(notify.Options{Store: st, Email: m, Webhook: wh, BackoffBase: 100 * time.Millisecond, BackoffMax: 300 * time.Millisecond,
		MaxAttempts: 100})
	go d.Run(context.Background())
	for {
		attempts, sent := 0, 0
		_ = st.View(context.Background(), func(tx store.Tx) error {
			return schema.NotificationIDs(tx, "acme", 0, func(id string, _ int64) error {
				n, err := schema.GetNotification(tx, id)
				if err != nil {
					return err
				}
				for _, dl := range n.GetDeliveries() {
					for _, a := range dl.GetAttempts() {
						if a.GetEndUnixMs() != 0 {
							attempts++
						}
					}
					if dl.GetState() == storev1.DeliveryState_DELIVERY_STATE_SENT {
						sent++
					}
				}
				return nil
			})
		})
		fmt.Printf("progress attempts=%d sent=%d\n", attempts, sent)
		time.Sleep(20 * time.Millisecond)
	}
}

// notifyChild is a running child process and its last progress line.
type notifyChild struct {
	cmd            *exec.Cmd
	attempts, sent atomic.Int64
	exited         chan struct{}
}

func startNotifyChild(t *testing.T, env ...string) *notifyChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestNotifyChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &notifyChild{cmd: cmd, exited: make(chan struct{})}
	go func() {
		defer close(c.exited)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var a, s int64
			if _, err := fmt.Sscanf(sc.Text(), "progress attempts=%d sent=%d", &a, &s); err == nil {
				c.attempts.Store(a)
				c.sent.Store(s)
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-c.exited })
	return c
}

// kill9 kills the child with SIGKILL: no deferred function, no commit.
func (c *notifyChild) kill9(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-c.exited
}

func reserveAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestDeliveryAfterKill queues notifications while the receivers are
// unreachable, lets a child process try them, kills it with SIGKILL,
// makes the receivers reachable and starts a second child on the same
// file: every notification arrives exactly once at each receiver, and the
// attempts made before the kill are on record.
func TestDeliveryAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	const count = 5
	dir := t.TempDir()
	path := filepath.Join(dir, "control.db")
	hookAddr, smtpAddr := reserveAddr(t), reserveAddr(t)
	_, smtpPort, _ := net.SplitHostPort(smtpAddr)
	ca := newTestCA(t)
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{envNotifyChild + "=" + path, envChildSMTP + "=" + smtpPort, envChildCA + "=" + ca.pemFile, envChildPW + "=" + pw}

	st := openNotifyStore(t, path)
	err := st.Update(context.Background(), func(tx store.Tx) error {
		for _, c := range []*storev1.Contact{hookContact("hook", "http://"+hookAddr+"/hook", storev1.WebhookFormat_WEBHOOK_FORMAT_JSON),
			emailContact("ops", "acme", "ops@acme.example", false)} {
			if err := schema.PutContact(tx, c); err != nil {
				return err
			}
		}
		for i := range count {
			n := firing(fmt.Sprintf("n%d", i), "acme", "hook", "ops")
			if _, err := notify.Enqueue(tx, n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	first := startNotifyChild(t, env...)
	notifyWaitFor(t, "failed attempts in the first child", func() bool { return first.attempts.Load() >= 2*count })
	first.kill9(t)

	sink := &hookSink{}
	l, err := net.Listen("tcp", hookAddr)
	if err != nil {
		t.Fatalf("receiver port taken meanwhile: %v", err)
	}
	hs := &http.Server{Handler: sink, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(l) }()
	t.Cleanup(func() { hs.Close() })
	relay := startTestRelayOn(t, ca, smtpAddr, "vigil", "s3cret")

	second := startNotifyChild(t, env...)
	notifyWaitFor(t, "every delivery sent by the second child", func() bool { return second.sent.Load() == 2*count })
	// Let a duplicate, if the dispatcher were to send one, arrive.
	time.Sleep(300 * time.Millisecond)
	second.kill9(t)

	hooks := map[string]int{}
	for _, rc := range sink.got() {
		hooks[rc.header.Get(notify.HeaderDelivery)]++
	}
	mails := map[string]int{}
	for _, m := range relay.received() {
		mails[mailHeader(t, m.data, "message-id")]++
	}
	st = openNotifyStore(t, path)
	defer st.Close()
	for i := range count {
		id := fmt.Sprintf("n%d", i)
		if hooks[id+"/hook"] != 1 || mails["<"+id+".ops@vigil>"] != 1 {
			t.Errorf("%s: %d webhook calls, %d mails; want exactly one each", id, hooks[id+"/hook"], mails["<"+id+".ops@vigil>"])
		}
		for _, dl := range notificationIn(t, st, id).GetDeliveries() {
			a := dl.GetAttempts()
			if dl.GetState() != storev1.DeliveryState_DELIVERY_STATE_SENT || len(a) < 2 || a[0].GetOk() || a[0].GetError() == "" || !a[len(a)-1].GetOk() {
				t.Errorf("%s to %s: state %s, attempts %v", id, dl.GetContact(), dl.GetState(), a)
			}
		}
	}
	if len(hooks) != count || len(mails) != count {
		t.Errorf("receipts: %v %v", hooks, mails)
	}
}

// TestSendingAtStart: deliveries a stopped controller left SENDING. The
// webhook is sent again with the same X-Vigil-Delivery; the SMS is not
// (it may have gone out), is recorded UNKNOWN and goes to the fallback
// email instead, and its credit is not taken twice.
func TestSendingAtStart(t *testing.T) {
	ca := newTestCA(t)
	relay := startTestRelay(t, ca, "vigil", "s3cret")
	tw := startTwilioFake(t)
	sink := &hookSink{}
	srv := newHookServer(t, sink)
	st := tempNotifyStore(t)
	started := newNotifyClock().Now().Add(-time.Minute)
	err := st.Update(context.Background(), func(tx store.Tx) error {
		for _, c := range []*storev1.Contact{hookContact("hook", srv.URL, storev1.WebhookFormat_WEBHOOK_FORMAT_JSON),
			{Id: "pager", Tenant: "acme", Kind: storev1.ContactKind_CONTACT_KIND_SMS, Address: "+33612345678", FallbackEmail: "pager@acme.example"}} {
			if err := schema.PutContact(tx, c); err != nil {
				return err
			}
		}
		if _, err := notify.AddCredits(tx, "acme", 20, 0, "admin", "", started); err != nil {
			return err
		}
		n := firing("n1", "acme", "hook", "pager")
		if _, err := notify.Enqueue(tx, n); err != nil {
			return err
		}
		// What a claim commits before the send: SENDING, an open attempt,
		// the queue entry moved to the sending index, the credit taken.
		n, err := schema.GetNotification(tx, "n1")
		if err != nil {
			return err
		}
		for i, dl := range n.GetDeliveries() {
			ref := schema.DeliveryRef{Notification: "n1", Index: i}
			dl.State = storev1.DeliveryState_DELIVERY_STATE_SENDING
			dl.Attempts = append(dl.Attempts, &storev1.Attempt{StartUnixMs: started.UnixMilli()})
			if err := errors.Join(schema.UnqueueDelivery(tx, ref), schema.MarkSending(tx, ref)); err != nil {
				return err
			}
		}
		if _, err := notify.AddCredits(tx, "acme", -1, 0, "sms", "", started); err != nil {
			return err
		}
		return schema.PutNotification(tx, n)
	})
	if err != nil {
		t.Fatal(err)
	}
	r := startNotifyRigOn(t, st, notify.Options{Email: relay.mailer(t, ca, "s3cret"), SMS: tw.sender(t),
		Webhook: notify.NewWebhooksWithClient(srv.Client())})
	n := r.waitState("n1", 0, storev1.DeliveryState_DELIVERY_STATE_SENT)
	if a := n.GetDeliveries()[0].GetAttempts(); len(a) != 2 || !strings.Contains(a[0].GetError(), "outcome unknown") || !a[1].GetOk() {
		t.Fatalf("webhook attempts %v", a)
	}
	if got := sink.got(); len(got) != 1 || got[0].header.Get(notify.HeaderDelivery) != "n1/hook" {
		t.Fatalf("webhook calls %d", len(got))
	}
	n = r.waitState("n1", 2, storev1.DeliveryState_DELIVERY_STATE_SENT)
	sms := n.GetDeliveries()[1]
	if sms.GetState() != storev1.DeliveryState_DELIVERY_STATE_UNKNOWN || len(sms.GetAttempts()) != 1 ||
		!strings.Contains(sms.GetAttempts()[0].GetError(), "outcome unknown") {
		t.Fatalf("sms delivery %v", sms)
	}
	if d := n.GetDeliveries()[2]; d.GetAddress() != "pager@acme.example" || d.GetRedirectOf() != 2 {
		t.Fatalf("redirect %v", d)
	}
	if tw.count() != 0 {
		t.Fatal("the interrupted SMS was sent again")
	}
	if c := r.credits("acme"); c.GetBalance() != 19 {
		t.Fatalf("balance %d, want 19 (one credit, taken once)", c.GetBalance())
	}
	if m := relay.received(); len(m) != 1 || mailHeader(t, m[0].data, "message-id") != "<n1.pager@vigil>" {
		t.Fatalf("mails %d", len(m))
	}
}
