package metrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Retain drops every day bucket that lies entirely before the retention
// horizon (now minus Options.Retention), one transaction per day so a big
// day does not make one huge commit, and forgets latest samples older than
// the horizon. It returns how many days it dropped, also on error.
func (db *DB) Retain(ctx context.Context) (droppedDays int, err error) {
	if err := db.begin(ctx, "retain metrics"); err != nil {
		return 0, err
	}
	horizon := db.now().Add(-db.retention)
	// A day ends where the next begins, so day D is entirely before the
	// horizon exactly when D sorts before the horizon's own day.
	cutoff := []byte(dayName(max(horizon.UnixMilli(), 0)))

	var old [][]byte
	err = db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Cursor()
		for name, _ := c.First(); name != nil && bytes.Compare(name, cutoff) < 0; name, _ = c.Next() {
			if isDay(name) {
				old = append(old, bytes.Clone(name))
			}
		}
		return nil
	})
	if err != nil {
		return 0, txError("retain metrics", err)
	}
	for _, day := range old {
		if err := ctx.Err(); err != nil {
			return droppedDays, err
		}
		err := db.bolt.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(day) })
		if err != nil {
			return droppedDays, txError(fmt.Sprintf("retain metrics: drop day %s", day), err)
		}
		droppedDays++
		db.log.InfoContext(ctx, "dropped metrics day", "day", string(day), "retention", db.retention)
	}
	if err := db.bolt.Update(func(tx *bolt.Tx) error { return dropStaleLatest(tx, horizon.UnixMilli()) }); err != nil {
		return droppedDays, txError("retain metrics: latest", err)
	}
	return droppedDays, nil
}

// dropStaleLatest deletes latest samples taken before horizonMS.
func dropStaleLatest(tx *bolt.Tx, horizonMS int64) error {
	b := tx.Bucket(latestBucket)
	var stale [][]byte
	err := b.ForEach(func(agent, v []byte) error {
		if timeMS, _, _, ok := parseLatest(v); !ok || timeMS < horizonMS {
			stale = append(stale, bytes.Clone(agent))
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Deleted after the walk: deleting under a cursor can skip keys.
	for _, agent := range stale {
		if err := b.Delete(agent); err != nil {
			return err
		}
	}
	return nil
}

// Run calls Retain now and every hour until ctx is done, then returns nil.
// A failed Retain is logged and tried again at the next tick; Run returns
// an error only if the DB was closed under it.
func (db *DB) Run(ctx context.Context) error {
	tick := time.NewTicker(db.retainEvery)
	defer tick.Stop()
	for {
		_, err := db.Retain(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, ErrClosed):
			return fmt.Errorf("metrics retention: %w", err)
		case err != nil:
			db.log.ErrorContext(ctx, "metrics retention failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
