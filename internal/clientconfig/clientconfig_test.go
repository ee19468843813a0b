package clientconfig

import (
	"os"
	"path/filepath"
	"testing"
)

// TestOldConfigLoads: a config written before signed tasks has no signing
// fields and still loads.
func TestOldConfigLoads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin.json")
	old := `{"controller": "127.0.0.1:7444", "ca_pem": "pem", "token": "vgl_api_x", "principal": "admin"}`
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.SigningKey != "" || c.SigningCertificate != "" || c.SigningKeyPath(path) != "" {
		t.Fatalf("signing fields of an old config: %+v", c)
	}
}

func TestSigningFieldsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tom.json")
	c := &Config{Controller: "ctl:7444", CAPEM: "pem", Token: "vgl_api_x", Principal: "tom",
		SigningKey: "/keys/tom.signing.key", SigningCertificate: "CgR0ZXN0"}
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *c {
		t.Fatalf("got %+v, want %+v", got, c)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
}

func TestSigningKeyPath(t *testing.T) {
	cases := []struct {
		key, cfg, want string
	}{
		{"", "/etc/vigil/tom.json", ""},
		{"/keys/tom.key", "/etc/vigil/tom.json", "/keys/tom.key"},
		{"tom.signing.key", "/etc/vigil/tom.json", "/etc/vigil/tom.signing.key"},
		{"keys/tom.key", "var/tom.json", "var/keys/tom.key"},
	}
	for _, c := range cases {
		if got := (&Config{SigningKey: c.key}).SigningKeyPath(c.cfg); got != c.want {
			t.Errorf("SigningKeyPath(%q) with key %q = %q, want %q", c.cfg, c.key, got, c.want)
		}
	}
}
