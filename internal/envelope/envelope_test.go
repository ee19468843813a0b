package envelope

import (
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/internal/pin"
	trustv1 "github.com/vigil-rmm/vigil/proto/vigil/trust/v1"
)

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

type party struct {
	key  ed25519.PrivateKey
	cert *trustv1.Certificate
}

func newRoot(t *testing.T) (ed25519.PrivateKey, []byte) {
	t.Helper()
	_, root, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	d, err := pin.Parse(Fingerprint(root.Public().(ed25519.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	return root, d
}

func newParty(t *testing.T, root ed25519.PrivateKey, name, role, tenant string) party {
	t.Helper()
	pub, key, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := Issue(root, &trustv1.CertificateBody{Principal: name, Role: role, Tenant: tenant, PublicKey: pub,
		NotBeforeUnix: now.Add(-time.Hour).Unix(), NotAfterUnix: now.Add(365 * 24 * time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	return party{key, cert}
}

func task(downtime bool) *trustv1.Task {
	return &trustv1.Task{TaskId: NewTaskID(), Tenant: "acme", AgentId: "ag-1", Plugin: "reboot",
		Parameters: map[string]string{"message": "patching"}, NotBeforeUnix: now.Unix(), NotAfterUnix: now.Add(time.Hour).Unix(),
		Downtime: downtime, Nonce: NewNonce(), CreatedUnix: now.Unix(), CreatedBy: "alice"}
}

func TestVerify(t *testing.T) {
	root, rootPin := newRoot(t)
	otherRoot, _ := newRoot(t)
	tech := newParty(t, root, "alice", RoleTechnician, "")
	techOther := newParty(t, root, "tom", RoleTechnician, "globex")
	approver := newParty(t, root, "carol", RoleClientApprover, "acme")
	approverOther := newParty(t, root, "dave", RoleClientApprover, "globex")
	forged := newParty(t, otherRoot, "mallory", RoleTechnician, "")
	policy := Policy{RootPin: rootPin, AgentID: "ag-1", Tenant: "acme", Now: now}

	sign := func(tk *trustv1.Task, signers ...party) *trustv1.SignedTask {
		st, err := SignTask(tk, signers[0].cert, signers[0].key)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range signers[1:] {
			st.Signatures = append(st.Signatures, Sign(st.Task, s.cert, s.key))
		}
		return st
	}
	tamper := func(st *trustv1.SignedTask) *trustv1.SignedTask {
		var tk trustv1.Task
		_ = proto.Unmarshal(st.Task, &tk)
		tk.Parameters["message"] = "rm -rf /"
		st.Task, _ = proto.Marshal(&tk)
		return st
	}
	cases := []struct {
		name   string
		st     *trustv1.SignedTask
		policy Policy
		want   error
	}{
		{"technician, no downtime", sign(task(false), tech), policy, nil},
		{"downtime with approver", sign(task(true), tech, approver), policy, nil},
		{"downtime without approver", sign(task(true), tech), policy, ErrApprovalMissing},
		{"downtime, approver of another tenant", sign(task(true), tech, approverOther), policy, ErrApprovalMissing},
		{"approver alone", sign(task(false), approver), policy, ErrNoTechnician},
		{"technician scoped to another tenant", sign(task(false), techOther), policy, ErrNoTechnician},
		{"certificate from another root", sign(task(false), forged), policy, ErrUntrustedRoot},
		{"task changed after signing", tamper(sign(task(false), tech)), policy, ErrBadSignature},
		{"another agent", sign(task(false), tech), Policy{RootPin: rootPin, AgentID: "ag-2", Tenant: "acme", Now: now}, ErrWrongTarget},
		{"too early", sign(task(false), tech), Policy{RootPin: rootPin, Now: now.Add(-10 * time.Minute)}, ErrNotYet},
		{"within the clock skew", sign(task(false), tech), Policy{RootPin: rootPin, Now: now.Add(-4 * time.Minute)}, nil},
		{"expired", sign(task(false), tech), Policy{RootPin: rootPin, Now: now.Add(2 * time.Hour)}, ErrExpired},
		{"certificate expired", sign(task(false), tech), Policy{RootPin: rootPin, Now: now.Add(400 * 24 * time.Hour)}, ErrCertValidity},
		{"revoked", sign(task(false), tech), Policy{RootPin: rootPin, Now: now, Revoked: func(string) bool { return true }}, ErrRevoked},
		{"no time checks for the controller", sign(task(false), tech), Policy{RootPin: rootPin}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := Verify(c.st, c.policy)
			if c.want == nil {
				if err != nil || v.Technician == nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("Verify: %v, want %v", err, c.want)
			}
		})
	}
}

func TestBadSignatureAmongGoodRefuses(t *testing.T) {
	root, rootPin := newRoot(t)
	tech := newParty(t, root, "alice", RoleTechnician, "")
	approver := newParty(t, root, "carol", RoleClientApprover, "acme")
	st, err := SignTask(task(false), tech.cert, tech.key)
	if err != nil {
		t.Fatal(err)
	}
	bad := Sign(st.Task, approver.cert, approver.key)
	bad.Signature[0] ^= 1
	st.Signatures = append(st.Signatures, bad)
	if _, err := Verify(st, Policy{RootPin: rootPin, Now: now}); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("Verify: %v, want ErrBadSignature", err)
	}
}

func TestCheckTask(t *testing.T) {
	for name, mut := range map[string]func(*trustv1.Task){
		"bad id":          func(t *trustv1.Task) { t.TaskId = "../x" },
		"bad plugin":      func(t *trustv1.Task) { t.Plugin = "../../bin/sh" },
		"short nonce":     func(t *trustv1.Task) { t.Nonce = []byte{1} },
		"window reversed": func(t *trustv1.Task) { t.NotAfterUnix = t.NotBeforeUnix },
		"window too long": func(t *trustv1.Task) { t.NotAfterUnix = t.NotBeforeUnix + int64(31*24*3600) },
		"bad param name":  func(t *trustv1.Task) { t.Parameters["A B"] = "x" },
		"param too long":  func(t *trustv1.Task) { t.Parameters["script"] = string(make([]byte, MaxParamValue+1)) },
	} {
		tk := task(false)
		mut(tk)
		if err := CheckTask(tk); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

func TestKeyFiles(t *testing.T) {
	pub, key, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "root.key")
	if err := WritePrivateKey(path, key); err != nil {
		t.Fatal(err)
	}
	if err := WritePrivateKey(path, key); err == nil {
		t.Error("an existing key file was overwritten")
	}
	got, err := ReadPrivateKey(path)
	if err != nil || !got.Equal(key) {
		t.Fatalf("ReadPrivateKey: %v", err)
	}
	back, err := ParsePublicKey(EncodePublicKey(pub))
	if err != nil || !back.Equal(pub) {
		t.Fatalf("public key round trip: %v", err)
	}
	if _, err := ParsePublicKey("ed25519:AAAA"); err == nil {
		t.Error("short public key accepted")
	}
}

func FuzzVerify(f *testing.F) {
	root, rootPin := newRootF(f)
	pub, key, _ := GenerateKey()
	cert, _ := Issue(root, &trustv1.CertificateBody{Principal: "alice", Role: RoleTechnician, PublicKey: pub,
		NotBeforeUnix: 1, NotAfterUnix: 1 << 40})
	st, _ := SignTask(task(false), cert, key)
	b, _ := proto.Marshal(st)
	f.Add(b)
	f.Fuzz(func(t *testing.T, in []byte) {
		var st trustv1.SignedTask
		if proto.Unmarshal(in, &st) != nil {
			return
		}
		v, err := Verify(&st, Policy{RootPin: rootPin})
		if err == nil && (v.Technician == nil || v.Task == nil) {
			t.Fatal("verified without a technician")
		}
	})
}

func newRootF(f *testing.F) (ed25519.PrivateKey, []byte) {
	_, root, err := GenerateKey()
	if err != nil {
		f.Fatal(err)
	}
	d, _ := pin.Parse(Fingerprint(root.Public().(ed25519.PublicKey)))
	return root, d
}
