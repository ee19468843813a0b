package alerting

import (
	"context"
	"errors"
	"fmt"

	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Prune deletes the alert records of every tenant that closed longer ago
// than the retention, in transactions of at most PruneBatch records, and
// returns how many it deleted. Open alerts are kept whatever their age.
func (e *Engine) Prune(ctx context.Context) (int, error) {
	cutoff := e.cfg.Now().Add(-e.cfg.Retention).UnixMilli()
	var tenants []*storev1.Tenant
	if err := e.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		tenants, err = schema.ListTenants(tx)
		return err
	}); err != nil {
		return 0, fmt.Errorf("list tenants: %w", err)
	}
	total := 0
	for _, t := range tenants {
		n, err := e.pruneTenant(ctx, t.GetId(), cutoff)
		total += n
		if err != nil {
			return total, fmt.Errorf("tenant %s: %w", t.GetId(), err)
		}
	}
	return total, nil
}

// pruneTenant deletes one tenant's alert records closed before cutoff
// (unix milliseconds).
func (e *Engine) pruneTenant(ctx context.Context, tenant string, cutoff int64) (int, error) {
	total := 0
	for {
		var ids []string
		if err := e.cfg.Store.View(ctx, func(tx store.Tx) error {
			var err error
			ids, err = schema.ExpiredAlertRecords(tx, tenant, cutoff, pruneScan)
			return err
		}); err != nil {
			return total, err
		}
		more := len(ids) == pruneScan
		for len(ids) > 0 {
			chunk := ids[:min(PruneBatch, len(ids))]
			ids = ids[len(chunk):]
			n := 0
			err := e.cfg.Store.Update(ctx, func(tx store.Tx) error {
				n = 0
				for _, id := range chunk {
					r, err := schema.GetAlertRecord(tx, tenant, id)
					if errors.Is(err, store.ErrNotFound) {
						continue
					}
					if err != nil {
						return err
					}
					if end := r.GetEndUnixMs(); end == 0 || end >= cutoff {
						continue
					}
					if err := schema.DeleteAlertRecord(tx, tenant, id); err != nil {
						return err
					}
					n++
				}
				return nil
			})
			if err != nil {
				return total, err
			}
			total += n
		}
		if !more {
			return total, nil
		}
	}
}
