// Package auth holds the controller's identity primitives: secrets that are
// shown once and stored as hashes, roles, the calling principal carried in a
// context, and the rate limiter that slows down token guessing.
//
// Secrets (API tokens, enrollment tokens) are 256-bit random values, so a
// single SHA-256 is a sufficient at-rest hash: there is nothing to brute
// force that a slow KDF would protect (see docs/adr/0004-token-hashing.md).
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Token prefixes make a leaked secret recognisable to secret scanners.
const (
	APITokenPrefix    = "vgl_api_"
	EnrollTokenPrefix = "vgl_enr_"
)

// NewSecret returns a new random secret with prefix, and its hash.
func NewSecret(prefix string) (secret, hash string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("random: %w", err)
	}
	secret = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, Hash(secret), nil
}

// Hash returns the hex SHA-256 of a secret, the form stored at rest.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(secret)))
	return hex.EncodeToString(sum[:])
}

// NewID returns a random identifier "prefix-" followed by 16 lower-case
// base32 characters (80 bits).
func NewID(prefix string) (string, error) {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	var sb strings.Builder
	sb.WriteString(prefix)
	sb.WriteByte('-')
	// 80 bits -> 16 base32 characters.
	var acc uint64
	bits := 0
	for _, c := range b {
		acc = acc<<8 | uint64(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			sb.WriteByte(alphabet[(acc>>uint(bits))&31])
		}
	}
	return sb.String(), nil
}

// Role is what a principal may do.
type Role string

// The roles.
const (
	RoleAdmin          Role = "admin"
	RoleTechnician     Role = "technician"
	RoleClientApprover Role = "client-approver"
	RoleClientViewer   Role = "client-viewer"
)

// TenantScoped reports whether the role is confined to one tenant.
func (r Role) TenantScoped() bool { return r == RoleClientApprover || r == RoleClientViewer }

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleTechnician, RoleClientApprover, RoleClientViewer:
		return true
	}
	return false
}

// RoleFromProto converts the wire enum.
func RoleFromProto(r managev1.Role) (Role, error) {
	switch r {
	case managev1.Role_ROLE_ADMIN:
		return RoleAdmin, nil
	case managev1.Role_ROLE_TECHNICIAN:
		return RoleTechnician, nil
	case managev1.Role_ROLE_CLIENT_APPROVER:
		return RoleClientApprover, nil
	case managev1.Role_ROLE_CLIENT_VIEWER:
		return RoleClientViewer, nil
	}
	return "", fmt.Errorf("role %v: want admin, technician, client-approver or client-viewer", r)
}

// Proto converts to the wire enum.
func (r Role) Proto() managev1.Role {
	switch r {
	case RoleAdmin:
		return managev1.Role_ROLE_ADMIN
	case RoleTechnician:
		return managev1.Role_ROLE_TECHNICIAN
	case RoleClientApprover:
		return managev1.Role_ROLE_CLIENT_APPROVER
	case RoleClientViewer:
		return managev1.Role_ROLE_CLIENT_VIEWER
	}
	return managev1.Role_ROLE_UNSPECIFIED
}

type principalKey struct{}

// WithPrincipal returns ctx carrying the authenticated principal.
func WithPrincipal(ctx context.Context, p *storev1.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the authenticated principal, or nil.
func PrincipalFrom(ctx context.Context) *storev1.Principal {
	p, _ := ctx.Value(principalKey{}).(*storev1.Principal)
	return p
}

// CanSeeTenant reports whether p may see objects of tenant.
func CanSeeTenant(p *storev1.Principal, tenant string) bool {
	if p == nil {
		return false
	}
	if !Role(p.Role).TenantScoped() {
		return true
	}
	return p.Tenant == tenant
}

// Enrollment and API token errors. Each has its own message so an operator
// can tell a typo from an expired or exhausted token.
var (
	// ErrTokenUnknown means no token with that secret exists.
	ErrTokenUnknown = errors.New("enrollment token not recognised (check for a typo, or create one with `vigilctl token create`)")
	// ErrTokenExpired means the token exists but its validity ended.
	ErrTokenExpired = errors.New("enrollment token expired")
	// ErrTokenUsedUp means the token served all the enrollments it allows.
	ErrTokenUsedUp = errors.New("enrollment token used up")
	// ErrRateLimited means too many failed attempts came from one address.
	ErrRateLimited = errors.New("too many failed attempts")
	// ErrUnauthenticated means no valid API token was presented.
	ErrUnauthenticated = errors.New("missing or invalid API token")
	// ErrPermission means the principal's role does not allow the call.
	ErrPermission = errors.New("permission denied")
)
