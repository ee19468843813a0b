package auth

import (
	"strings"
	"testing"
	"time"
)

func TestSecretHash(t *testing.T) {
	s, h, err := NewSecret(APITokenPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s, APITokenPrefix) || len(s) != len(APITokenPrefix)+43 {
		t.Fatalf("secret %q: unexpected shape", s)
	}
	if Hash(s) != h || Hash(" "+s+"\n") != h {
		t.Fatal("hash not stable or whitespace-sensitive")
	}
	s2, h2, _ := NewSecret(APITokenPrefix)
	if s2 == s || h2 == h {
		t.Fatal("two secrets collide")
	}
}

func TestNewID(t *testing.T) {
	id, err := NewID("ag")
	if err != nil {
		t.Fatal(err)
	}
	if len(id) != 19 || !strings.HasPrefix(id, "ag-") {
		t.Fatalf("id %q", id)
	}
	for _, c := range id[3:] {
		if !strings.ContainsRune("abcdefghijklmnopqrstuvwxyz234567", c) {
			t.Fatalf("id %q has %q", id, c)
		}
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := NewLimiter(3, 10*time.Second)
	l.Now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("attempt %d refused", i)
		}
	}
	ok, wait := l.Allow("a")
	if ok || wait != 10*time.Second {
		t.Fatalf("4th attempt: ok=%v wait=%v", ok, wait)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("other key limited")
	}
	now = now.Add(10 * time.Second)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("not refilled")
	}
	if ok, _ := l.Allow("a"); ok {
		t.Fatal("refilled too much")
	}
}
