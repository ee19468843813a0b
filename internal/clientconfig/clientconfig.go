// Package clientconfig is the vigilctl configuration file: where the
// controller's API is, the CA that signs its certificate, and the caller's
// API token. `vigil-controller init --admin-config` writes one for the
// first admin; the file is created with mode 0600 because it holds a secret.
//
// A principal who signs tasks (ADR 0010) also has signing_key, the path of
// its Ed25519 key file (`vigilctl keys generate`), and signing_certificate,
// the root-signed certificate of that key (`vigilctl keys set-cert`). Both
// are optional: configs written before signed tasks load unchanged.
package clientconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Config is the file's content.
type Config struct {
	// Controller is the API address, host:port.
	Controller string `json:"controller"`
	// CAPEM is the controller CA certificate in PEM.
	CAPEM string `json:"ca_pem"`
	// Token is the principal's API token.
	Token string `json:"token"`
	// Principal is the principal's name, for display only.
	Principal string `json:"principal,omitempty"`
	// SigningKey is the path of the principal's task-signing key file. A
	// relative path is relative to the config file's directory.
	SigningKey string `json:"signing_key,omitempty"`
	// SigningCertificate is the base64 of the serialized
	// vigil.trust.v1.Certificate that certifies SigningKey.
	SigningCertificate string `json:"signing_certificate,omitempty"`
}

// SigningKeyPath returns SigningKey resolved against the directory of the
// config file at configPath; "" when no key is recorded.
func (c *Config) SigningKeyPath(configPath string) string {
	if c.SigningKey == "" || filepath.IsAbs(c.SigningKey) {
		return c.SigningKey
	}
	return filepath.Join(filepath.Dir(configPath), c.SigningKey)
}

// Load reads and checks a config file.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("config %s: not valid JSON: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &c, nil
}

// Validate names the first missing field.
func (c *Config) Validate() error {
	switch {
	case c.Controller == "":
		return errors.New("controller: required (host:port of the API listener)")
	case c.CAPEM == "":
		return errors.New("ca_pem: required")
	case c.Token == "":
		return errors.New("token: required")
	}
	return nil
}

// Save writes c to path atomically with mode 0600.
func (c *Config) Save(path string) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".vigilctl-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
