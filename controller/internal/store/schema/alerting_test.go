package schema_test

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/controller/internal/alert"
	"github.com/vigil-rmm/vigil/controller/internal/alerting"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// TestMigrationSeedsDefaultAlertRules opens a store written at version 1
// (two tenants, one of which already has a rule of a default's id) and
// checks that Open brings it to version 2 with alert.DefaultRules for
// every tenant, keeping what exists.
func TestMigrationSeedsDefaultAlertRules(t *testing.T) {
	s, err := store.OpenBolt(filepath.Join(t.TempDir(), "control.db"), store.BoltOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	kept := &storev1.AlertRule{Id: alert.DefaultCPU, Tenant: "beta", Kind: "metric", Metric: "cpu", Op: ">", Threshold: 80}
	update(t, s, func(tx store.Tx) error {
		if err := tx.Put("meta/schema", []byte("1")); err != nil {
			return err
		}
		for _, id := range []string{"acme", "beta"} {
			if err := schema.PutTenant(tx, &storev1.Tenant{Id: id, Timezone: "UTC", CreatedUnix: 1000}); err != nil {
				return err
			}
		}
		return schema.PutAlertRule(tx, kept)
	})
	if err := schema.Open(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	if v, err := schema.CurrentVersion(t.Context(), s); err != nil || v != 2 {
		t.Fatalf("version %d, %v", v, err)
	}
	view(t, s, func(tx store.Tx) error {
		for _, tenant := range []string{"acme", "beta"} {
			rules, err := schema.ListAlertRules(tx, tenant)
			if err != nil {
				return err
			}
			byID := map[string]*storev1.AlertRule{}
			for _, r := range rules {
				byID[r.GetId()] = r
			}
			for _, want := range alert.DefaultRules(tenant) {
				got := byID[want.ID]
				if got == nil {
					t.Errorf("%s: no %s", tenant, want.ID)
					continue
				}
				if tenant == "beta" && want.ID == alert.DefaultCPU {
					if !proto.Equal(got, kept) {
						t.Errorf("existing rule overwritten: %v", got)
					}
					continue
				}
				w := alerting.RuleToStore(want)
				w.CreatedUnix, w.UpdatedUnix = 1000, 1000
				if !proto.Equal(got, w) {
					t.Errorf("%s %s:\n got  %v\n want %v", tenant, want.ID, got, w)
				}
			}
			if len(rules) != 6 {
				t.Errorf("%s: %d rules", tenant, len(rules))
			}
		}
		return nil
	})
}

func TestAlertStateKeys(t *testing.T) {
	s := openStore(t)
	update(t, s, func(tx store.Tx) error {
		for _, target := range []string{"ag-1", "ag-1|/var", "ag-1|C:", "ag-10", "ag-10|/", "|shop"} {
			if err := schema.PutAlertState(tx, "acme", "disk", target, &storev1.AlertState{Detail: target}); err != nil {
				return err
			}
		}
		if err := schema.PutAlertState(tx, "acme", "a/b", "ag-1", &storev1.AlertState{}); err == nil {
			return errors.New("a rule id with a slash was accepted")
		}
		return nil
	})
	view(t, s, func(tx store.Tx) error {
		one, err := schema.ListAlertStates(tx, "acme", "disk", "ag-1")
		if err != nil {
			return err
		}
		var keys []string
		for k := range one {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"ag-1", "ag-1|/var", "ag-1|C:"}) {
			t.Errorf("states of ag-1: %v", keys)
		}
		all, err := schema.ListAlertStates(tx, "acme", "disk", "")
		if err != nil || len(all) != 6 {
			t.Errorf("every state: %d %v", len(all), err)
		}
		refs, err := schema.ListAlertStateRefs(tx, "acme")
		if err != nil || len(refs) != 6 || refs[0] != (schema.AlertStateRef{Tenant: "acme", Rule: "disk", Target: "ag-1"}) {
			t.Errorf("refs %v %v", refs, err)
		}
		if _, err := schema.GetAlertRule(tx, "acme", "../x"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("rule id with a slash: %v", err)
		}
		return nil
	})
}
