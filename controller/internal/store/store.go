package store

import (
	"context"
	"fmt"
)

// Limits every implementation accepts. They are the smallest common
// ground of bbolt and etcd (whose default request limit is 1.5 MiB), so
// data that fits one store fits the other.
const (
	// MaxKeySize is the longest key in bytes.
	MaxKeySize = 4096
	// MaxValueSize is the longest value in bytes.
	MaxValueSize = 1 << 20
)

// Store is a transactional key-value store. Its methods are safe for
// concurrent use. A canceled ctx is checked before a transaction starts:
// the method returns ctx.Err() and fn is not called. A transaction that has
// started runs to its end.
//
// An error returned by fn is returned unchanged (errors.Is works on it);
// errors of the store itself are wrapped with context. If fn panics the
// transaction is rolled back and the panic continues.
type Store interface {
	// View runs fn in a read-only transaction that sees one consistent
	// snapshot: writes committed while fn runs are not visible to it.
	View(ctx context.Context, fn func(Tx) error) error

	// Update runs fn in a read-write transaction and commits it if fn
	// returns nil. If fn returns an error nothing it wrote is kept. When
	// Update returns nil the writes are durable.
	Update(ctx context.Context, fn func(Tx) error) error

	// Batch is Update for hot paths: concurrent callers may share one
	// commit. fn may run more than once (when another caller's fn fails,
	// the batch is retried without it), so fn must be idempotent and must
	// not keep state between runs. Each caller still gets its own outcome:
	// an error from fn discards that caller's writes only.
	Batch(ctx context.Context, fn func(Tx) error) error

	// Close releases the store. It waits for running transactions; after
	// it every method returns ErrClosed. Closing twice returns nil.
	Close() error
}

// Tx is one transaction. It is valid only until the function it was passed
// to returns, and it is not safe for concurrent use. Reads see the
// transaction's own earlier writes.
type Tx interface {
	// Get returns a copy of the value at key, or ErrNotFound. An empty
	// value is returned as a non-nil empty slice.
	Get(key string) ([]byte, error)

	// Put sets key to value. The store keeps its own copy of value.
	Put(key string, value []byte) error

	// Delete removes key. Deleting an absent key is not an error.
	Delete(key string) error

	// Scan calls fn for every key that starts with prefix, in ascending
	// byte order, and stops at the first error fn returns, which Scan
	// returns unchanged. An empty prefix visits every key.
	//
	// value is valid only until fn returns: copy it to keep it. fn may
	// Put and Delete in a read-write transaction; deleting the key being
	// visited does not disturb the scan, but whether keys written ahead of
	// the scan position are visited is unspecified.
	Scan(prefix string, fn func(key string, value []byte) error) error

	// CompareAndPut sets key to value only if its current value equals
	// old, byte for byte; otherwise it returns ErrConflict and writes
	// nothing. A nil old means the key must be absent; a non-nil empty old
	// means it must be present with an empty value.
	CompareAndPut(key string, old, value []byte) error
}

// checkKey reports whether key is usable in any implementation.
func checkKey(key string) error {
	if key == "" {
		return fmt.Errorf("empty key: %w", ErrInvalidKey)
	}
	if len(key) > MaxKeySize {
		return fmt.Errorf("key of %d bytes (max %d): %w", len(key), MaxKeySize, ErrInvalidKey)
	}
	return nil
}

// checkValue reports whether value is storable in any implementation.
func checkValue(key string, value []byte) error {
	if len(value) > MaxValueSize {
		return fmt.Errorf("put %q: value of %d bytes (max %d): %w", key, len(value), MaxValueSize, ErrValueTooLarge)
	}
	return nil
}
