package checker

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// RetentionOf is how long a check's results are kept: its own
// retention_days (at most MaxRetentionDays) or def.
func RetentionOf(c *storev1.Check, def time.Duration) time.Duration {
	if d := c.GetRetentionDays(); d > 0 {
		return time.Duration(min(d, MaxRetentionDays)) * 24 * time.Hour
	}
	return def
}

// pruneLoop calls Prune at start and every PruneEvery until ctx ends.
func (r *Runner) pruneLoop(ctx context.Context) {
	for {
		if n, err := r.Prune(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			r.cfg.Logger.ErrorContext(ctx, "delete old check results", "err", err)
		} else if n > 0 {
			r.cfg.Logger.InfoContext(ctx, "old check results deleted", "results", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-r.cfg.Clock.At(r.cfg.Clock.Now().Add(PruneEvery)):
		}
	}
}

// Prune deletes every check's results older than its retention, in
// transactions of at most PruneBatch results, and returns how many it
// deleted.
func (r *Runner) Prune(ctx context.Context) (int, error) {
	var checks []*storev1.Check
	if err := r.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		checks, err = schema.ListChecks(tx)
		return err
	}); err != nil {
		return 0, fmt.Errorf("list checks: %w", err)
	}
	now := r.cfg.Clock.Now()
	total := 0
	for _, c := range checks {
		cutoff := now.Add(-RetentionOf(c, r.cfg.Retention)).Unix()
		for {
			n := 0
			err := r.cfg.Store.Update(ctx, func(tx store.Tx) error {
				var err error
				n, err = schema.DeleteCheckResultsBatch(tx, c.GetId(), cutoff, PruneBatch)
				return err
			})
			if err != nil {
				return total, fmt.Errorf("check %s: %w", c.GetId(), err)
			}
			total += n
			if n < PruneBatch {
				break
			}
		}
	}
	return total, nil
}

// purgeSoon wakes the loop that deletes the results of deleted checks.
func (r *Runner) purgeSoon() {
	select {
	case r.purgeKick <- struct{}{}:
	default:
	}
}

// purgeLoop calls Purge at start, after each deletion the API reports
// through Reload, and every PruneEvery (for a purge an error cut short)
// until ctx ends.
func (r *Runner) purgeLoop(ctx context.Context) {
	for {
		if n, err := r.Purge(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			r.cfg.Logger.ErrorContext(ctx, "delete results of deleted checks", "err", err)
		} else if n > 0 {
			r.cfg.Logger.InfoContext(ctx, "results of deleted checks deleted", "results", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-r.purgeKick:
		case <-r.cfg.Clock.At(r.cfg.Clock.Now().Add(PruneEvery)):
		}
	}
}

// Purge deletes the results of every deleted check, in transactions of
// at most PruneBatch results, and returns how many it deleted. Deleting a
// check (schema.DeleteCheck) removes only its definition and state, so
// the API answers at once and ingest is never stalled behind one huge
// write transaction.
func (r *Runner) Purge(ctx context.Context) (int, error) {
	var ids []string
	if err := r.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		ids, err = schema.DeletedChecks(tx)
		return err
	}); err != nil {
		return 0, fmt.Errorf("list deleted checks: %w", err)
	}
	total := 0
	for _, id := range ids {
		for done := false; !done; {
			n := 0
			err := r.cfg.Store.Update(ctx, func(tx store.Tx) error {
				var err error
				n, done, err = schema.PurgeDeletedCheck(tx, id, PruneBatch)
				return err
			})
			if err != nil {
				return total, fmt.Errorf("deleted check %s: %w", id, err)
			}
			total += n
		}
	}
	return total, nil
}
