package server

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// TicketKeyFile holds the TLS session ticket keys (newest first). Keeping
// them across restarts lets thousands of agents resume their TLS sessions
// when they reconnect after a controller restart, instead of each doing a
// full handshake with signatures at the same moment.
const TicketKeyFile = "session-tickets.key"

// TicketRotation is how long one ticket key encrypts new tickets.
const TicketRotation = 24 * time.Hour

// loadTicketKeys returns the session ticket keys, creating or rotating the
// file as needed: a new key is added in front once the newest is older
// than TicketRotation, and the previous one is kept so tickets it issued
// still resume.
func loadTicketKeys(dir string, now time.Time) ([][32]byte, error) {
	path := filepath.Join(dir, TicketKeyFile)
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("session ticket keys: %w", err)
	}
	var keys [][32]byte
	for i := 0; i+32 <= len(b) && len(keys) < 2; i += 32 {
		var k [32]byte
		copy(k[:], b[i:i+32])
		keys = append(keys, k)
	}
	fi, statErr := os.Stat(path)
	if len(keys) > 0 && statErr == nil && now.Sub(fi.ModTime()) < TicketRotation {
		return keys, nil
	}
	var fresh [32]byte
	if _, err := rand.Read(fresh[:]); err != nil {
		return nil, err
	}
	keys = append([][32]byte{fresh}, keys...)
	if len(keys) > 2 {
		keys = keys[:2]
	}
	out := make([]byte, 0, 64)
	for _, k := range keys {
		out = append(out, k[:]...)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, out, 0o600); err != nil {
		return nil, fmt.Errorf("session ticket keys: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("session ticket keys: %w", err)
	}
	return keys, nil
}
