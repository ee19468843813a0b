package metrics

import "time"

// SetRetainEvery shortens Run's tick for tests. Call it before Run.
func (db *DB) SetRetainEvery(d time.Duration) { db.retainEvery = d }
