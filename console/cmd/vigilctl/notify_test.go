package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-rmm/vigil/controller/controllertest"
	"github.com/vigil-rmm/vigil/internal/clientconfig"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// notifyCLI runs vigilctl against a real in-process controller. Its
// webhook receiver is on loopback, which a controller with the default
// configuration refuses to call: the test delivery fails, and says why.
type notifyCLI struct {
	t     *testing.T
	ctl   *controllertest.Controller
	dir   string
	mu    sync.Mutex
	calls int
	url   string
}

func newNotifyCLI(t *testing.T) *notifyCLI {
	t.Helper()
	n := &notifyCLI{t: t, dir: t.TempDir()}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		n.mu.Lock()
		n.calls++
		n.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	n.url = srv.URL + "/teams"
	n.ctl = controllertest.Start(t)
	n.ctl.Tenant(t, "acme")
	return n
}

// config writes a client config for token and returns its path.
func (n *notifyCLI) config(name, token string) string {
	n.t.Helper()
	p := filepath.Join(n.dir, name+".json")
	c := &clientconfig.Config{Controller: n.ctl.APIAddr, CAPEM: string(n.ctl.CAPEM), Token: token, Principal: name}
	if err := c.Save(p); err != nil {
		n.t.Fatal(err)
	}
	return p
}

// run runs vigilctl with cfg and checks the exit code.
func (n *notifyCLI) run(cfg string, want int, args ...string) string {
	n.t.Helper()
	var out, errb bytes.Buffer
	if code := run(append([]string{"--config", cfg}, args...), &out, &errb); code != want {
		n.t.Fatalf("vigilctl %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, want, out.String(), errb.String())
	}
	return out.String() + errb.String()
}

func (n *notifyCLI) json(cfg string, v any, args ...string) {
	n.t.Helper()
	out := n.run(cfg, 0, append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		n.t.Fatalf("vigilctl %v: %v\n%s", args, err, out)
	}
}

// TestNotifyCommands drives contact, sms and notifications commands
// against a real controller, end to end to a webhook receiver.
func TestNotifyCommands(t *testing.T) {
	n := newNotifyCLI(t)
	admin := n.config("admin", n.ctl.AdminToken)
	carol := n.config("carol", n.ctl.Principal(t, "carol", managev1.Role_ROLE_CLIENT_APPROVER, "acme"))

	var mail contactView
	n.json(carol, &mail, "contact", "create", "--tenant", "acme", "--email", "ops@acme.example", "--default", "--name", "Ops desk")
	if !strings.HasPrefix(mail.ID, "ct-") || !mail.Default || mail.Kind != "email" || mail.WebhookSecret != "" {
		t.Fatalf("email contact %+v", mail)
	}
	// Contact ids are unique across tenants: only the MSP's staff choose
	// one (a client would learn which ids other tenants use).
	if out := n.run(carol, 1, "contact", "create", "--tenant", "acme", "--webhook", n.url, "--id", "acme-teams"); !strings.Contains(out, "InvalidArgument: invalid argument: id") {
		t.Fatalf("client chooses an id: %s", out)
	}
	out := n.run(admin, 0, "contact", "create", "--tenant", "acme", "--webhook", n.url, "--format", "teams", "--id", "acme-teams")
	m := regexp.MustCompile(`shown once.*\n\s+(vgl_whsec_\S+)`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "webhook (teams)") {
		t.Fatalf("create printed no secret:\n%s", out)
	}
	n.run(carol, 2, "contact", "create", "--tenant", "acme", "--email", "a@acme.example", "--sms", "+33612345678")
	n.run(carol, 2, "contact", "create", "--tenant", "acme", "--email", "a@acme.example", "--format", "slack")
	if out := n.run(carol, 1, "contact", "create", "--tenant", "acme", "--sms", "0612"); !strings.Contains(out, "InvalidArgument: invalid argument: address") {
		t.Fatalf("bad phone: %s", out)
	}

	var list []contactView
	n.json(admin, &list, "contact", "list", "--tenant", "acme")
	if len(list) != 2 {
		t.Fatalf("list %+v", list)
	}
	if out := n.run(admin, 0, "contact", "show", "acme-teams", "-o", "json"); strings.Contains(out, "webhook_secret") || strings.Contains(out, m[1]) {
		t.Fatalf("show returned the secret:\n%s", out)
	}
	var rotated contactView
	n.json(carol, &rotated, "contact", "update", "acme-teams", "--rotate-secret")
	if rotated.WebhookSecret == "" || rotated.WebhookSecret == m[1] {
		t.Fatalf("rotate %+v", rotated)
	}
	var updated contactView
	n.json(carol, &updated, "contact", "update", mail.ID, "--default=false", "--name", "Ops")
	if updated.Default || updated.Name != "Ops" || updated.UpdatedAt == nil {
		t.Fatalf("update %+v", updated)
	}
	n.run(carol, 2, "contact", "update", mail.ID)

	out = n.run(carol, 1, "contact", "test", "acme-teams", "--wait")
	if !strings.Contains(out, "webhook to "+n.url+": failed after 1 attempt(s)") || !strings.Contains(out, "allow_private_networks") {
		t.Fatalf("test --wait:\n%s", out)
	}
	n.mu.Lock()
	calls := n.calls
	n.mu.Unlock()
	if calls != 0 {
		t.Fatalf("the loopback receiver was called %d times", calls)
	}

	var ns []notificationView
	n.json(carol, &ns, "notifications", "list", "--state", "failed", "--since", "1h")
	if len(ns) != 1 || ns[0].Kind != "test" || len(ns[0].Deliveries) != 1 || ns[0].Deliveries[0].State != "failed" {
		t.Fatalf("notifications %+v", ns)
	}
	n.json(carol, &ns, "notifications", "list", "--state", "sent")
	if len(ns) != 0 {
		t.Fatalf("sent notifications %+v", ns)
	}
	newest := newestNotificationID(t, n, carol)
	if out := n.run(carol, 0, "notifications", "show", newest); !strings.Contains(out, "[0] webhook acme-teams") || !strings.Contains(out, "(permanent)") {
		t.Fatalf("show:\n%s", out)
	}
	var shown notificationView
	n.json(carol, &shown, "notifications", "show", newest)
	if shown.ID != newest || shown.Kind != "test" || len(shown.Deliveries) != 1 || shown.Deliveries[0].Contact != "acme-teams" ||
		len(shown.Deliveries[0].Attempts) == 0 || !shown.Deliveries[0].Attempts[0].Permanent {
		t.Fatalf("show -o json %+v", shown)
	}
	n.run(carol, 2, "notifications", "list", "--state", "lost")

	var cr creditsView
	n.json(admin, &cr, "sms", "credits", "--tenant", "acme", "--add", "50", "--note", "first pack")
	if cr.Balance != 50 || len(cr.Changes) != 1 || cr.Changes[0].Note != "first pack" {
		t.Fatalf("credits %+v", cr)
	}
	if out := n.run(carol, 1, "sms", "credits", "--tenant", "acme", "--add", "5"); !strings.Contains(out, "PermissionDenied") {
		t.Fatalf("approver adds credits: %s", out)
	}
	if out := n.run(carol, 0, "sms", "credits", "--tenant", "acme"); !strings.Contains(out, "first pack") {
		t.Fatalf("credits table:\n%s", out)
	}
	n.run(carol, 0, "contact", "delete", mail.ID)
	n.run(carol, 1, "contact", "show", mail.ID)
}

// newestNotificationID is the id of the newest notification cfg sees.
func newestNotificationID(t *testing.T, n *notifyCLI, cfg string) string {
	t.Helper()
	var ns []notificationView
	n.json(cfg, &ns, "notifications", "list")
	if len(ns) == 0 {
		t.Fatal("no notification")
	}
	return ns[0].ID
}
