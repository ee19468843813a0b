package manageapi_test

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"

	"github.com/vigil-rmm/vigil/controller/controllertest"
	"github.com/vigil-rmm/vigil/controller/internal/manageapi"
	"github.com/vigil-rmm/vigil/controller/internal/notify"
	"github.com/vigil-rmm/vigil/controller/internal/server"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// notifyHook is a TLS webhook receiver recording signed calls.
type notifyHook struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls []*http.Request
	body  [][]byte
}

func newNotifyHook(t *testing.T) *notifyHook {
	h := &notifyHook{}
	h.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.calls, h.body = append(h.calls, r), append(h.body, b)
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// notifyController starts a controller whose webhooks trust hook's CA and
// may reach loopback.
func notifyController(t *testing.T, hook *notifyHook) *controllertest.Controller {
	t.Helper()
	caFile := filepath.Join(t.TempDir(), "hook-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hook.srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	c := controllertest.Start(t, func(cfg *server.Config) {
		cfg.Notify.Webhook = notify.WebhookConfig{CAFile: caFile, AllowPrivateNetworks: true}
	})
	c.Tenant(t, "acme")
	c.Tenant(t, "beta")
	return c
}

func notifyClientFor(t *testing.T, c *controllertest.Controller, token string) managev1.NotifyServiceClient {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+c.APIAddr,
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: c.CAPool(), MinVersion: tls.VersionTLS12})),
		grpc.WithPerRPCCredentials(controllertest.Bearer(token)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return managev1.NewNotifyServiceClient(conn)
}

// TestContactsAPI: validation, roles, tenant isolation, and the webhook
// secret shown at creation and rotation only, then used to sign.
func TestContactsAPI(t *testing.T) {
	hook := newNotifyHook(t)
	c := notifyController(t, hook)
	ctx := context.Background()
	admin := notifyClientFor(t, c, c.AdminToken)
	tech := notifyClientFor(t, c, c.Principal(t, "alice", managev1.Role_ROLE_TECHNICIAN, ""))
	approver := notifyClientFor(t, c, c.Principal(t, "carol", managev1.Role_ROLE_CLIENT_APPROVER, "acme"))
	viewer := notifyClientFor(t, c, c.Principal(t, "vic", managev1.Role_ROLE_CLIENT_VIEWER, "acme"))
	beta := notifyClientFor(t, c, c.Principal(t, "dave", managev1.Role_ROLE_CLIENT_APPROVER, "beta"))
	email := managev1.NotifyContactKind_NOTIFY_CONTACT_KIND_EMAIL

	for name, req := range map[string]*managev1.CreateContactRequest{
		"bad email":      {Tenant: "acme", Kind: email, Address: "Ops <ops@acme.example>"},
		"bad phone":      {Tenant: "acme", Kind: managev1.NotifyContactKind_NOTIFY_CONTACT_KIND_SMS, Address: "0612345678"},
		"ftp url":        {Tenant: "acme", Kind: managev1.NotifyContactKind_NOTIFY_CONTACT_KIND_WEBHOOK, Address: "ftp://x"},
		"format on mail": {Tenant: "acme", Kind: email, Address: "a@acme.example", Format: managev1.NotifyWebhookFormat_NOTIFY_WEBHOOK_FORMAT_SLACK},
		"fallback":       {Tenant: "acme", Kind: email, Address: "a@acme.example", FallbackEmail: "b@acme.example"},
		"bad id":         {Tenant: "acme", Kind: email, Address: "a@acme.example", Id: "Bad_ID"},
		"no kind":        {Tenant: "acme", Address: "a@acme.example"},
	} {
		if _, err := admin.CreateContact(ctx, req); code(err) != codes.InvalidArgument {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := viewer.CreateContact(ctx, &managev1.CreateContactRequest{Tenant: "acme", Kind: email, Address: "v@acme.example"}); code(err) != codes.PermissionDenied {
		t.Fatalf("viewer creates: %v", err)
	}
	if _, err := beta.CreateContact(ctx, &managev1.CreateContactRequest{Tenant: "acme", Kind: email, Address: "d@acme.example"}); code(err) != codes.NotFound {
		t.Fatalf("beta approver creates in acme: %v", err)
	}
	mail, err := approver.CreateContact(ctx, &managev1.CreateContactRequest{Tenant: "acme", Kind: email, Address: "ops@acme.example", DefaultContact: true})
	if err != nil || !strings.HasPrefix(mail.GetContact().GetId(), "ct-") || mail.GetWebhookSecret() != "" || mail.GetContact().GetCreatedBy() != "carol" {
		t.Fatalf("approver creates: %v %v", mail, err)
	}
	created, err := tech.CreateContact(ctx, &managev1.CreateContactRequest{Tenant: "acme", Id: "acme-hook", Name: "Acme chat",
		Kind: managev1.NotifyContactKind_NOTIFY_CONTACT_KIND_WEBHOOK, Address: hook.srv.URL + "/in", Format: managev1.NotifyWebhookFormat_NOTIFY_WEBHOOK_FORMAT_SLACK})
	if err != nil || !strings.HasPrefix(created.GetWebhookSecret(), "vgl_whsec_") {
		t.Fatalf("webhook create: %v %v", created, err)
	}
	secret := created.GetWebhookSecret()
	if _, err := admin.CreateContact(ctx, &managev1.CreateContactRequest{Tenant: "beta", Id: "acme-hook", Kind: email, Address: "x@beta.example"}); code(err) != codes.AlreadyExists {
		t.Fatalf("id reused across tenants: %v", err)
	}

	// Another tenant's contact is NotFound, never PermissionDenied.
	if _, err := beta.GetContact(ctx, &managev1.GetContactRequest{Id: "acme-hook"}); code(err) != codes.NotFound {
		t.Fatalf("beta reads acme's contact: %v", err)
	}
	if _, err := beta.DeleteContact(ctx, &managev1.DeleteContactRequest{Id: "acme-hook"}); code(err) != codes.NotFound {
		t.Fatalf("beta deletes acme's contact: %v", err)
	}
	if l, err := beta.ListContacts(ctx, &managev1.ListContactsRequest{}); err != nil || len(l.GetContacts()) != 0 {
		t.Fatalf("beta lists: %v %v", l, err)
	}
	if _, err := beta.ListContacts(ctx, &managev1.ListContactsRequest{Tenant: "acme"}); code(err) != codes.NotFound {
		t.Fatalf("beta lists acme: %v", err)
	}
	l, err := viewer.ListContacts(ctx, &managev1.ListContactsRequest{})
	if err != nil || len(l.GetContacts()) != 2 {
		t.Fatalf("viewer lists: %v %v", l, err)
	}
	got, err := viewer.GetContact(ctx, &managev1.GetContactRequest{Id: "acme-hook"})
	if err != nil || got.GetFormat() != managev1.NotifyWebhookFormat_NOTIFY_WEBHOOK_FORMAT_SLACK {
		t.Fatalf("viewer reads: %v %v", got, err)
	}
	// The secret is in no other answer.
	for _, m := range []string{prototext.Format(l), prototext.Format(got)} {
		if strings.Contains(m, secret) {
			t.Fatal("the webhook secret was returned after creation")
		}
	}

	up, err := approver.UpdateContact(ctx, &managev1.UpdateContactRequest{Id: "acme-hook", Format: managev1.NotifyWebhookFormat_NOTIFY_WEBHOOK_FORMAT_JSON})
	if err != nil || up.GetWebhookSecret() != "" || up.GetContact().GetFormat() != managev1.NotifyWebhookFormat_NOTIFY_WEBHOOK_FORMAT_JSON {
		t.Fatalf("update format: %v %v", up, err)
	}
	rot, err := approver.UpdateContact(ctx, &managev1.UpdateContactRequest{Id: "acme-hook", RotateSecret: true})
	if err != nil || rot.GetWebhookSecret() == "" || rot.GetWebhookSecret() == secret {
		t.Fatalf("rotate: %v %v", rot, err)
	}
	if _, err := approver.UpdateContact(ctx, &managev1.UpdateContactRequest{Id: mail.GetContact().GetId(), RotateSecret: true}); code(err) != codes.InvalidArgument {
		t.Fatalf("rotate an email contact: %v", err)
	}

	// A test notification reaches the receiver, signed with the new secret.
	tr, err := approver.TestContact(ctx, &managev1.TestContactRequest{Id: "acme-hook"})
	if err != nil {
		t.Fatal(err)
	}
	if d := notifyWaitSent(t, viewer, tr.GetNotificationId()).GetDeliveries(); len(d[0].GetAttempts()) != 1 || !d[0].GetAttempts()[0].GetOk() {
		t.Fatalf("attempts %v", d[0].GetAttempts())
	}
	hook.mu.Lock()
	req, body := hook.calls[0], hook.body[0]
	hook.mu.Unlock()
	if err := notify.Verify(rot.GetWebhookSecret(), req.Header, body, time.Now(), time.Minute); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if _, err := beta.GetNotification(ctx, &managev1.GetNotificationRequest{Id: tr.GetNotificationId()}); code(err) != codes.NotFound {
		t.Fatalf("beta reads acme's notification: %v", err)
	}
	list, err := viewer.ListNotifications(ctx, &managev1.ListNotificationsRequest{State: managev1.NotifyDeliveryState_NOTIFY_DELIVERY_STATE_SENT})
	if err != nil || len(list.GetNotifications()) != 1 || list.GetNotifications()[0].GetKind() != "test" {
		t.Fatalf("viewer lists notifications: %v %v", list, err)
	}
	if l, err := beta.ListNotifications(ctx, &managev1.ListNotificationsRequest{}); err != nil || len(l.GetNotifications()) != 0 {
		t.Fatalf("beta lists notifications: %v %v", l, err)
	}

	if _, err := viewer.DeleteContact(ctx, &managev1.DeleteContactRequest{Id: "acme-hook"}); code(err) != codes.PermissionDenied {
		t.Fatalf("viewer deletes: %v", err)
	}
	if _, err := approver.DeleteContact(ctx, &managev1.DeleteContactRequest{Id: "acme-hook"}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.GetContact(ctx, &managev1.GetContactRequest{Id: "acme-hook"}); code(err) != codes.NotFound {
		t.Fatalf("deleted contact: %v", err)
	}
}

// TestSmsCreditsAPI: anyone in the tenant reads; only an admin adds; a
// correction never takes the balance below 0.
func TestSmsCreditsAPI(t *testing.T) {
	c := notifyController(t, newNotifyHook(t))
	ctx := context.Background()
	admin := notifyClientFor(t, c, c.AdminToken)
	tech := notifyClientFor(t, c, c.Principal(t, "alice", managev1.Role_ROLE_TECHNICIAN, ""))
	viewer := notifyClientFor(t, c, c.Principal(t, "vic", managev1.Role_ROLE_CLIENT_VIEWER, "acme"))
	if _, err := tech.AddSmsCredits(ctx, &managev1.AddSmsCreditsRequest{Tenant: "acme", Delta: 10}); code(err) != codes.PermissionDenied {
		t.Fatalf("technician adds: %v", err)
	}
	r, err := admin.AddSmsCredits(ctx, &managev1.AddSmsCreditsRequest{Tenant: "acme", Delta: 100, Note: "pack of 100"})
	if err != nil || r.GetBalance() != 100 || r.GetLowThreshold() != notify.DefaultLowThreshold {
		t.Fatalf("add: %v %v", r, err)
	}
	if r, err = admin.AddSmsCredits(ctx, &managev1.AddSmsCreditsRequest{Tenant: "acme", Delta: -500, Note: "oops"}); err != nil || r.GetBalance() != 0 {
		t.Fatalf("correction: %v %v", r, err)
	}
	if _, err := admin.AddSmsCredits(ctx, &managev1.AddSmsCreditsRequest{Tenant: "nope", Delta: 1}); code(err) != codes.NotFound {
		t.Fatalf("unknown tenant: %v", err)
	}
	for name, req := range map[string]*managev1.AddSmsCreditsRequest{
		"no tenant":          {Delta: 1},
		"nothing to change":  {Tenant: "acme"},
		"delta too large":    {Tenant: "acme", Delta: 1_000_001},
		"correction too big": {Tenant: "acme", Delta: -1_000_001},
		"negative threshold": {Tenant: "acme", LowThreshold: -1},
		"long note":          {Tenant: "acme", Delta: 1, Note: strings.Repeat("x", 257)},
		"two-line note":      {Tenant: "acme", Delta: 1, Note: "paid\nin cash"},
	} {
		if _, err := admin.AddSmsCredits(ctx, req); code(err) != codes.InvalidArgument {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A threshold alone changes the threshold, not the balance nor the
	// history.
	if r, err = admin.AddSmsCredits(ctx, &managev1.AddSmsCreditsRequest{Tenant: "acme", LowThreshold: 25}); err != nil ||
		r.GetLowThreshold() != 25 || r.GetBalance() != 0 || len(r.GetChanges()) != 2 {
		t.Fatalf("threshold: %v %v", r, err)
	}
	got, err := viewer.GetSmsCredits(ctx, &managev1.GetSmsCreditsRequest{Tenant: "acme"})
	if err != nil || len(got.GetChanges()) != 2 || got.GetChanges()[0].GetBy() != "admin" || got.GetChanges()[1].GetDelta() != -500 {
		t.Fatalf("viewer reads: %v %v", got, err)
	}
	if _, err := viewer.GetSmsCredits(ctx, &managev1.GetSmsCreditsRequest{Tenant: "beta"}); code(err) != codes.NotFound {
		t.Fatalf("viewer reads beta: %v", err)
	}
}

// notifyWaitSent waits until notification id's first delivery is SENT.
func notifyWaitSent(t *testing.T, nc managev1.NotifyServiceClient, id string) *managev1.NotifyNotification {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		n, err := nc.GetNotification(context.Background(), &managev1.GetNotificationRequest{Id: id})
		if err != nil {
			t.Fatal(err)
		}
		if d := n.GetDeliveries(); len(d) == 1 && d[0].GetState() == managev1.NotifyDeliveryState_NOTIFY_DELIVERY_STATE_SENT {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("notification %s not sent: %v", id, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNotifyWebhookRedacted: a webhook URL is a credential. Client
// viewers see it as scheme://host/… in contacts and notifications;
// admins, technicians and the tenant's client approvers see it whole.
func TestNotifyWebhookRedacted(t *testing.T) {
	hook := newNotifyHook(t)
	c := notifyController(t, hook)
	ctx := context.Background()
	tech := notifyClientFor(t, c, c.Principal(t, "alice", managev1.Role_ROLE_TECHNICIAN, ""))
	approver := notifyClientFor(t, c, c.Principal(t, "carol", managev1.Role_ROLE_CLIENT_APPROVER, "acme"))
	viewer := notifyClientFor(t, c, c.Principal(t, "vic", managev1.Role_ROLE_CLIENT_VIEWER, "acme"))
	full := hook.srv.URL + "/services/T0/B0/XXsecretXX"
	redacted := hook.srv.URL + "/…"
	created, err := tech.CreateContact(ctx, &managev1.CreateContactRequest{Tenant: "acme", Id: "acme-chat", Address: full,
		Kind: managev1.NotifyContactKind_NOTIFY_CONTACT_KIND_WEBHOOK, Format: managev1.NotifyWebhookFormat_NOTIFY_WEBHOOK_FORMAT_SLACK})
	if err != nil || created.GetContact().GetAddress() != full {
		t.Fatalf("create: %v %v", created, err)
	}
	tr, err := approver.TestContact(ctx, &managev1.TestContactRequest{Id: "acme-chat"})
	if err != nil {
		t.Fatal(err)
	}
	notifyWaitSent(t, viewer, tr.GetNotificationId())
	for _, who := range []struct {
		name string
		nc   managev1.NotifyServiceClient
		want string
	}{{"technician", tech, full}, {"approver", approver, full}, {"viewer", viewer, redacted}} {
		got, err := who.nc.GetContact(ctx, &managev1.GetContactRequest{Id: "acme-chat"})
		if err != nil || got.GetAddress() != who.want {
			t.Errorf("%s reads the contact: %q %v, want %q", who.name, got.GetAddress(), err, who.want)
		}
		l, err := who.nc.ListContacts(ctx, &managev1.ListContactsRequest{Tenant: "acme"})
		if err != nil || len(l.GetContacts()) != 1 || l.GetContacts()[0].GetAddress() != who.want {
			t.Errorf("%s lists contacts: %v %v, want %q", who.name, l, err, who.want)
		}
		n, err := who.nc.GetNotification(ctx, &managev1.GetNotificationRequest{Id: tr.GetNotificationId()})
		if err != nil || n.GetDeliveries()[0].GetAddress() != who.want {
			t.Errorf("%s reads the notification: %v %v, want %q", who.name, n, err, who.want)
		}
		ln, err := who.nc.ListNotifications(ctx, &managev1.ListNotificationsRequest{Tenant: "acme"})
		if err != nil || len(ln.GetNotifications()) != 1 || ln.GetNotifications()[0].GetDeliveries()[0].GetAddress() != who.want {
			t.Errorf("%s lists notifications: %v %v, want %q", who.name, ln, err, who.want)
		}
		if who.nc == viewer && strings.Contains(prototext.Format(n)+prototext.Format(ln)+prototext.Format(l)+prototext.Format(got), "XXsecretXX") {
			t.Error("the viewer was shown the webhook's secret path")
		}
	}
}

// TestNotifyContactTestLimits: contact tests are metered per tenant: at
// most MaxContactTests in ContactTestWindow, and none while
// MaxPendingTestDeliveries of earlier tests are still waiting.
func TestNotifyContactTestLimits(t *testing.T) {
	hook := newNotifyHook(t)
	c := notifyController(t, hook)
	ctx := context.Background()
	admin := notifyClientFor(t, c, c.AdminToken)
	acme := notifyClientFor(t, c, c.Principal(t, "carol", managev1.Role_ROLE_CLIENT_APPROVER, "acme"))
	beta := notifyClientFor(t, c, c.Principal(t, "dave", managev1.Role_ROLE_CLIENT_APPROVER, "beta"))
	// A receiver that refuses connections: its deliveries stay queued
	// for retries.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close()
	webhook := managev1.NotifyContactKind_NOTIFY_CONTACT_KIND_WEBHOOK
	if _, err := admin.CreateContact(ctx, &managev1.CreateContactRequest{Tenant: "acme", Id: "acme-down", Kind: webhook, Address: "https://" + down + "/x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateContact(ctx, &managev1.CreateContactRequest{Tenant: "beta", Id: "beta-up", Kind: webhook, Address: hook.srv.URL + "/b"}); err != nil {
		t.Fatal(err)
	}
	for i := range manageapi.MaxPendingTestDeliveries {
		if _, err := acme.TestContact(ctx, &managev1.TestContactRequest{Id: "acme-down"}); err != nil {
			t.Fatalf("test %d: %v", i+1, err)
		}
	}
	_, err = acme.TestContact(ctx, &managev1.TestContactRequest{Id: "acme-down"})
	if code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "still waiting") {
		t.Fatalf("a test while %d are waiting: %v", manageapi.MaxPendingTestDeliveries, err)
	}
	for i := range manageapi.MaxContactTests {
		tr, err := beta.TestContact(ctx, &managev1.TestContactRequest{Id: "beta-up"})
		if err != nil {
			t.Fatalf("beta test %d: %v", i+1, err)
		}
		notifyWaitSent(t, beta, tr.GetNotificationId())
	}
	_, err = beta.TestContact(ctx, &managev1.TestContactRequest{Id: "beta-up"})
	if code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "try again in") {
		t.Fatalf("test %d within %s: %v", manageapi.MaxContactTests+1, manageapi.ContactTestWindow, err)
	}
	// Each tenant has its own meter: the admin's tests count for beta.
	if _, err := admin.TestContact(ctx, &managev1.TestContactRequest{Id: "beta-up"}); code(err) != codes.ResourceExhausted {
		t.Fatalf("admin test for beta: %v", err)
	}
}

// TestNotifyClientContactIDs: contact ids are unique across tenants, so a
// client choosing one could learn that another tenant uses it. Clients
// get generated ids; a taken id and a free one get the same answer.
func TestNotifyClientContactIDs(t *testing.T) {
	c := notifyController(t, newNotifyHook(t))
	ctx := context.Background()
	admin := notifyClientFor(t, c, c.AdminToken)
	beta := notifyClientFor(t, c, c.Principal(t, "dave", managev1.Role_ROLE_CLIENT_APPROVER, "beta"))
	email := managev1.NotifyContactKind_NOTIFY_CONTACT_KIND_EMAIL
	if _, err := admin.CreateContact(ctx, &managev1.CreateContactRequest{Tenant: "acme", Id: "acme-ops", Kind: email, Address: "ops@acme.example"}); err != nil {
		t.Fatal(err)
	}
	var answers []string
	for _, id := range []string{"acme-ops", "free-name"} {
		_, err := beta.CreateContact(ctx, &managev1.CreateContactRequest{Tenant: "beta", Id: id, Kind: email, Address: "x@beta.example"})
		if code(err) != codes.InvalidArgument {
			t.Fatalf("client chooses id %s: %v", id, err)
		}
		answers = append(answers, status.Convert(err).Message())
	}
	if answers[0] != answers[1] {
		t.Fatalf("a taken id and a free one answered differently: %q, %q", answers[0], answers[1])
	}
	got, err := beta.CreateContact(ctx, &managev1.CreateContactRequest{Tenant: "beta", Kind: email, Address: "x@beta.example"})
	if err != nil || !strings.HasPrefix(got.GetContact().GetId(), "ct-") {
		t.Fatalf("client creates with a generated id: %v %v", got, err)
	}
	if _, err := admin.CreateContact(ctx, &managev1.CreateContactRequest{Tenant: "beta", Id: "acme-ops", Kind: email, Address: "x@beta.example"}); code(err) != codes.AlreadyExists {
		t.Fatalf("staff reuses an id: %v", err)
	}
}
