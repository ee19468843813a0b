package envelope

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// PEM block types of key files.
const (
	privatePEM = "VIGIL ED25519 PRIVATE KEY"
	// PublicPrefix starts the text form of a public key.
	PublicPrefix = "ed25519:"
)

// WritePrivateKey writes key to path (mode 0600). It refuses to overwrite
// an existing file: a lost root or signing key is replaced deliberately.
func WritePrivateKey(path string, key ed25519.PrivateKey) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := pem.Encode(f, &pem.Block{Type: privatePEM, Bytes: key.Seed()}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadPrivateKey reads a key written by WritePrivateKey. It refuses a file
// other users can read.
func ReadPrivateKey(path string) (ed25519.PrivateKey, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s: mode %v: a private key must be readable by its owner only (chmod 600)", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != privatePEM || len(blk.Bytes) != ed25519.SeedSize {
		return nil, fmt.Errorf("%s: not a vigil Ed25519 private key", path)
	}
	return ed25519.NewKeyFromSeed(blk.Bytes), nil
}

// EncodePublicKey returns the text form of a public key: "ed25519:" and
// its base64.
func EncodePublicKey(pub ed25519.PublicKey) string {
	return PublicPrefix + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey parses the text form.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	rest, ok := strings.CutPrefix(s, PublicPrefix)
	if !ok {
		return nil, fmt.Errorf("public key %q: must start with %q", s, PublicPrefix)
	}
	b, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("public key: want ed25519: followed by the base64 of 32 bytes")
	}
	return ed25519.PublicKey(b), nil
}
