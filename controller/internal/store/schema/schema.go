package schema

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/controller/internal/store"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Version is the schema version this build writes.
const Version = 2

const keyVersion = "meta/schema"

// ErrNewer means the store was written by a newer controller.
var ErrNewer = errors.New("schema: store was written by a newer vigil-controller; upgrade this binary")

// Migration moves the store from version From to From+1.
type Migration struct {
	From int
	Name string
	Run  func(tx store.Tx) error
}

// Migrations is the ordered list of upgrades. Version 1 is the first release;
// each later schema change appends one entry and a test that opens a store
// of the previous version.
var Migrations = []Migration{
	// Version 2 brings alert rules: tenants created before it get the
	// default rules a new tenant gets at creation.
	{From: 1, Name: "seed default alert rules", Run: migrateSeedAlertRules},
}

// Open checks the schema version of s, initialises an empty store, and runs
// pending migrations.
func Open(ctx context.Context, s store.Store) error {
	return open(ctx, s, Version, Migrations)
}

func open(ctx context.Context, s store.Store, target int, migs []Migration) error {
	var cur int
	err := s.View(ctx, func(tx store.Tx) error {
		v, err := tx.Get(keyVersion)
		if errors.Is(err, store.ErrNotFound) {
			cur = 0
			return nil
		}
		if err != nil {
			return err
		}
		cur, err = strconv.Atoi(string(v))
		if err != nil {
			return fmt.Errorf("schema: bad version %q: %w", v, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if cur > target {
		return fmt.Errorf("%w (store schema %d, this binary %d)", ErrNewer, cur, target)
	}
	if cur == 0 {
		// A store without a version key is new: nothing to migrate.
		return s.Update(ctx, func(tx store.Tx) error {
			return tx.Put(keyVersion, []byte(strconv.Itoa(target)))
		})
	}
	for cur < target {
		var m *Migration
		for i := range migs {
			if migs[i].From == cur {
				m = &migs[i]
			}
		}
		if m == nil {
			return fmt.Errorf("schema: no migration from version %d", cur)
		}
		next := cur + 1
		if err := s.Update(ctx, func(tx store.Tx) error {
			if err := m.Run(tx); err != nil {
				return err
			}
			return tx.Put(keyVersion, []byte(strconv.Itoa(next)))
		}); err != nil {
			return fmt.Errorf("schema: migration %d (%s): %w", cur, m.Name, err)
		}
		cur = next
	}
	return nil
}

// CurrentVersion reads the stored schema version (0 if none).
func CurrentVersion(ctx context.Context, s store.Store) (int, error) {
	var v int
	err := s.View(ctx, func(tx store.Tx) error {
		b, err := tx.Get(keyVersion)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		v, err = strconv.Atoi(string(b))
		return err
	})
	return v, err
}

func getProto(tx store.Tx, key string, m proto.Message) error {
	b, err := tx.Get(key)
	if err != nil {
		return err
	}
	if err := proto.Unmarshal(b, m); err != nil {
		return fmt.Errorf("schema: decode %s: %w", key, err)
	}
	return nil
}

func putProto(tx store.Tx, key string, m proto.Message) error {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("schema: encode %s: %w", key, err)
	}
	return tx.Put(key, b)
}

func listProto[T proto.Message](tx store.Tx, prefix string, newT func() T) ([]T, error) {
	var out []T
	err := tx.Scan(prefix, func(key string, v []byte) error {
		m := newT()
		if err := proto.Unmarshal(v, m); err != nil {
			return fmt.Errorf("schema: decode %s: %w", key, err)
		}
		out = append(out, m)
		return nil
	})
	return out, err
}

func getU64(tx store.Tx, key string) (uint64, error) {
	b, err := tx.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if len(b) != 8 {
		return 0, fmt.Errorf("schema: %s: want 8 bytes, have %d", key, len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

func putU64(tx store.Tx, key string, v uint64) error {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return tx.Put(key, b[:])
}

// Tenants.

func tenantKey(id string) string { return "tenants/" + id }

// GetTenant returns store.ErrNotFound if absent.
func GetTenant(tx store.Tx, id string) (*storev1.Tenant, error) {
	t := &storev1.Tenant{}
	return t, getProto(tx, tenantKey(id), t)
}

// PutTenant writes a tenant.
func PutTenant(tx store.Tx, t *storev1.Tenant) error { return putProto(tx, tenantKey(t.Id), t) }

// ListTenants returns all tenants ordered by id.
func ListTenants(tx store.Tx) ([]*storev1.Tenant, error) {
	return listProto(tx, "tenants/", func() *storev1.Tenant { return &storev1.Tenant{} })
}

// Enrollment tokens.

func tokenKey(hash string) string { return "enrolltokens/" + hash }

// GetEnrollToken looks a token up by the hex SHA-256 of its secret.
func GetEnrollToken(tx store.Tx, hash string) (*storev1.EnrollToken, error) {
	t := &storev1.EnrollToken{}
	return t, getProto(tx, tokenKey(hash), t)
}

// PutEnrollToken writes a token under the hash of its secret.
func PutEnrollToken(tx store.Tx, hash string, t *storev1.EnrollToken) error {
	return putProto(tx, tokenKey(hash), t)
}

// ListEnrollTokens returns all tokens (hash order).
func ListEnrollTokens(tx store.Tx) ([]*storev1.EnrollToken, error) {
	return listProto(tx, "enrolltokens/", func() *storev1.EnrollToken { return &storev1.EnrollToken{} })
}

// Agents.

func agentKey(id string) string { return "agents/" + id }

// GetAgent returns store.ErrNotFound if absent.
func GetAgent(tx store.Tx, id string) (*storev1.Agent, error) {
	a := &storev1.Agent{}
	return a, getProto(tx, agentKey(id), a)
}

// PutAgent writes an agent record.
func PutAgent(tx store.Tx, a *storev1.Agent) error { return putProto(tx, agentKey(a.Id), a) }

// ListAgents returns every agent ordered by id.
func ListAgents(tx store.Tx) ([]*storev1.Agent, error) {
	return listProto(tx, "agents/", func() *storev1.Agent { return &storev1.Agent{} })
}

// CommittedSeq returns the highest report sequence committed for an agent.
func CommittedSeq(tx store.Tx, agentID string) (uint64, error) {
	return getU64(tx, "agentseq/"+agentID)
}

// SetCommittedSeq records the highest committed report sequence.
func SetCommittedSeq(tx store.Tx, agentID string, seq uint64) error {
	return putU64(tx, "agentseq/"+agentID, seq)
}

// LastSeen returns the flushed last-seen time (unix seconds, 0 if never).
func LastSeen(tx store.Tx, agentID string) (int64, error) {
	v, err := getU64(tx, "lastseen/"+agentID)
	return int64(v), err
}

// SetLastSeen records a last-seen time.
func SetLastSeen(tx store.Tx, agentID string, unix int64) error {
	return putU64(tx, "lastseen/"+agentID, uint64(unix))
}

// AllLastSeen returns every flushed last-seen time.
func AllLastSeen(tx store.Tx) (map[string]int64, error) {
	out := map[string]int64{}
	err := tx.Scan("lastseen/", func(key string, v []byte) error {
		if len(v) == 8 {
			out[strings.TrimPrefix(key, "lastseen/")] = int64(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	return out, err
}

// Principals.

// ErrNameTaken means another principal already has the name.
var ErrNameTaken = errors.New("schema: principal name taken")

// GetPrincipal returns store.ErrNotFound if absent.
func GetPrincipal(tx store.Tx, id string) (*storev1.Principal, error) {
	p := &storev1.Principal{}
	return p, getProto(tx, "principals/"+id, p)
}

// CreatePrincipal writes a new principal with its name and token indexes.
func CreatePrincipal(tx store.Tx, p *storev1.Principal) error {
	if _, err := tx.Get("principalnames/" + p.Name); err == nil {
		return ErrNameTaken
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := putProto(tx, "principals/"+p.Id, p); err != nil {
		return err
	}
	if err := tx.Put("principalnames/"+p.Name, []byte(p.Id)); err != nil {
		return err
	}
	return tx.Put("apitokens/"+p.TokenHash, []byte(p.Id))
}

// PrincipalByTokenHash resolves an API token hash.
func PrincipalByTokenHash(tx store.Tx, hash string) (*storev1.Principal, error) {
	id, err := tx.Get("apitokens/" + hash)
	if err != nil {
		return nil, err
	}
	return GetPrincipal(tx, string(id))
}

// ListPrincipals returns principals ordered by name.
func ListPrincipals(tx store.Tx) ([]*storev1.Principal, error) {
	ps, err := listProto(tx, "principals/", func() *storev1.Principal { return &storev1.Principal{} })
	sort.Slice(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
	return ps, err
}

// PrincipalByName resolves a principal's name.
func PrincipalByName(tx store.Tx, name string) (*storev1.Principal, error) {
	id, err := tx.Get("principalnames/" + name)
	if err != nil {
		return nil, err
	}
	return GetPrincipal(tx, string(id))
}

// RevokePrincipal marks p revoked at unix and deletes its token index, so
// its API token no longer resolves.
func RevokePrincipal(tx store.Tx, p *storev1.Principal, unix int64) error {
	if err := tx.Delete("apitokens/" + p.GetTokenHash()); err != nil {
		return err
	}
	p.RevokedUnix = unix
	return putProto(tx, "principals/"+p.GetId(), p)
}
