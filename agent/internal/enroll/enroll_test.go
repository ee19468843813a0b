package enroll

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/agent/internal/config"
	"github.com/vigil-rmm/vigil/controller/controllertest"
	"github.com/vigil-rmm/vigil/internal/pin"
)

func params(c *controllertest.Controller, token, dir string) Params {
	return Params{Controller: c.AgentAddr, CAPin: c.CAPin, Token: token, StateDir: dir, Hostname: "web-01", Timeout: 10 * time.Second}
}

func TestEnrollWritesIdentity(t *testing.T) {
	c := controllertest.Start(t)
	c.Tenant(t, "acme")
	dir := filepath.Join(t.TempDir(), "state")
	id, err := Enroll(context.Background(), params(c, c.EnrollToken(t, "acme", 1, time.Hour), dir))
	if err != nil {
		t.Fatal(err)
	}
	if id.Tenant != "acme" || !strings.HasPrefix(id.AgentID, "ag-") {
		t.Fatalf("identity %+v", id)
	}
	got, err := config.LoadIdentity(dir)
	if err != nil || got.AgentID != id.AgentID {
		t.Fatalf("reload: %v %+v", err, got)
	}
	fi, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %v, want 0700", fi.Mode().Perm())
	}
	for _, f := range []string{config.KeyFile, config.CertFile, config.IdentityFile} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v err %v, want 0600", f, fi.Mode().Perm(), err)
		}
	}
	if _, err := LoadTLS(dir); err != nil {
		t.Fatalf("LoadTLS: %v", err)
	}
	// A second enrollment into the same state dir is refused without --force.
	_, err = Enroll(context.Background(), params(c, c.EnrollToken(t, "acme", 1, time.Hour), dir))
	if !errors.Is(err, ErrAlreadyEnrolled) {
		t.Fatalf("re-enroll: %v", err)
	}
	p := params(c, c.EnrollToken(t, "acme", 1, time.Hour), dir)
	p.Force = true
	id2, err := Enroll(context.Background(), p)
	if err != nil || id2.AgentID == id.AgentID {
		t.Fatalf("forced re-enroll: %v, %+v", err, id2)
	}
}

func TestEnrollWrongPin(t *testing.T) {
	c := controllertest.Start(t)
	c.Tenant(t, "acme")
	token := c.EnrollToken(t, "acme", 1, time.Hour)
	other := controllertest.Start(t) // a different CA
	p := params(c, token, filepath.Join(t.TempDir(), "s"))
	p.CAPin = other.CAPin
	_, err := Enroll(context.Background(), p)
	if !errors.Is(err, pin.ErrMismatch) {
		t.Fatalf("got %v, want pin mismatch", err)
	}
	if _, err := os.Stat(filepath.Join(p.StateDir, config.KeyFile)); !os.IsNotExist(err) {
		t.Fatal("key written despite a refused enrollment")
	}
	// The token was not spent by the refused attempt.
	p.CAPin = c.CAPin
	if _, err := Enroll(context.Background(), p); err != nil {
		t.Fatalf("enroll with the right pin after a wrong one: %v", err)
	}
}

func TestEnrollBadInput(t *testing.T) {
	c := controllertest.Start(t)
	for name, p := range map[string]Params{
		"pin without prefix": {Controller: c.AgentAddr, CAPin: "abcd", Token: "x", StateDir: t.TempDir()},
		"short pin":          {Controller: c.AgentAddr, CAPin: "sha256:abcd", Token: "x", StateDir: t.TempDir()},
		"address":            {Controller: "nohostport", CAPin: c.CAPin, Token: "x", StateDir: t.TempDir()},
		"no token":           {Controller: c.AgentAddr, CAPin: c.CAPin, StateDir: t.TempDir()},
	} {
		if _, err := Enroll(context.Background(), p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestTokenMisuse(t *testing.T) {
	c := controllertest.Start(t)
	c.Tenant(t, "acme")
	dir := func() string { return filepath.Join(t.TempDir(), "s") }

	used := c.EnrollToken(t, "acme", 1, time.Hour)
	if _, err := Enroll(context.Background(), params(c, used, dir())); err != nil {
		t.Fatal(err)
	}
	expiring := c.EnrollToken(t, "acme", 1, time.Minute)

	cases := []struct {
		name, token, want string
	}{
		{"unknown", "vgl_enr_notarealtoken", "Unauthenticated"},
		{"used up", used, "used up"},
	}
	for _, tc := range cases {
		_, err := Enroll(context.Background(), params(c, tc.token, dir()))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
	_ = expiring // expiry is covered with a fake clock in controller/internal/agentapi

	// Repeated failures from one address are rate limited.
	var last error
	for i := 0; i < 15; i++ {
		_, last = Enroll(context.Background(), params(c, "vgl_enr_guess", dir()))
	}
	if last == nil || !strings.Contains(last.Error(), "ResourceExhausted") {
		t.Fatalf("after 15 bad tokens: %v, want ResourceExhausted", last)
	}
}
