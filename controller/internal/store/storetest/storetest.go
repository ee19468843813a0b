// Package storetest is the conformance suite for store.Store
// implementations. The bbolt store runs it in its tests; an etcd store will
// run the same suite, so callers can rely on one behaviour:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { ... })
//	}
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/store"
)

// Run runs every conformance test against stores made by open. open must
// return a new, empty store for each call and may use t.Cleanup to remove
// files; Run closes every store it gets.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"GetMissing", testGetMissing},
		{"PutGet", testPutGet},
		{"GetReturnsCopy", testGetReturnsCopy},
		{"PutCopiesValue", testPutCopiesValue},
		{"Delete", testDelete},
		{"InvalidKeyAndValue", testInvalidKeyAndValue},
		{"Limits", testLimits},
		{"ViewIsReadOnly", testViewIsReadOnly},
		{"UpdateErrorWritesNothing", testUpdateErrorWritesNothing},
		{"UpdatePanicWritesNothing", testUpdatePanicWritesNothing},
		{"FnErrorPassesThrough", testFnErrorPassesThrough},
		{"ReadYourWrites", testReadYourWrites},
		{"ScanOrder", testScanOrder},
		{"ScanPrefixBoundaries", testScanPrefixBoundaries},
		{"ScanValuesAndStop", testScanValuesAndStop},
		{"ScanWhileWriting", testScanWhileWriting},
		{"CompareAndPut", testCompareAndPut},
		{"CompareAndPutConflictAbortsUpdate", testCompareAndPutConflictAbortsUpdate},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"BatchConcurrent", testBatchConcurrent},
		{"BatchErrorIsolated", testBatchErrorIsolated},
		{"ViewSnapshotIsolation", testViewSnapshotIsolation},
		{"CanceledContext", testCanceledContext},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

var errBoom = errors.New("storetest: boom")

// method is one of the three ways to run a transaction.
type method struct {
	name string
	run  func(store.Store, context.Context, func(store.Tx) error) error
}

var methods = []method{
	{"View", store.Store.View},
	{"Update", store.Store.Update},
	{"Batch", store.Store.Batch},
}

var writeMethods = methods[1:]

func testGetMissing(t *testing.T, s store.Store) {
	_, err := get(t, s, "nope")
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(absent) error = %v, want ErrNotFound", err)
	}
}

func testPutGet(t *testing.T, s store.Store) {
	put(t, s, "a", "1")
	mustGet(t, s, "a", "1")
	put(t, s, "a", "2")
	mustGet(t, s, "a", "2")

	update(t, s, func(tx store.Tx) error { return tx.Put("empty", nil) })
	v, err := get(t, s, "empty")
	if err != nil || v == nil || len(v) != 0 {
		t.Fatalf("Get(empty value) = %q (nil=%t), %v; want non-nil empty, nil", v, v == nil, err)
	}
}

func testGetReturnsCopy(t *testing.T, s store.Store) {
	put(t, s, "k", "value")
	for _, m := range methods {
		err := m.run(s, t.Context(), func(tx store.Tx) error {
			v, err := tx.Get("k")
			if err != nil {
				return err
			}
			v[0] = 'X'
			again, err := tx.Get("k")
			if err != nil {
				return err
			}
			if string(again) != "value" {
				return fmt.Errorf("second Get = %q after mutating the first result", again)
			}
			return nil
		})
		if err != nil {
			t.Errorf("%s: %v", m.name, err)
		}
	}
	mustGet(t, s, "k", "value")
}

func testPutCopiesValue(t *testing.T, s store.Store) {
	buf := []byte("one")
	update(t, s, func(tx store.Tx) error {
		if err := tx.Put("k", buf); err != nil {
			return err
		}
		copy(buf, "XXX")
		v, err := tx.Get("k")
		if err != nil {
			return err
		}
		if string(v) != "one" {
			return fmt.Errorf("get after mutating Put's slice = %q, want %q", v, "one")
		}
		return nil
	})
	mustGet(t, s, "k", "one")
}

func testDelete(t *testing.T, s store.Store) {
	put(t, s, "a", "1")
	put(t, s, "b", "2")
	update(t, s, func(tx store.Tx) error { return tx.Delete("a") })
	if _, err := get(t, s, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(deleted) error = %v, want ErrNotFound", err)
	}
	update(t, s, func(tx store.Tx) error { return tx.Delete("never-there") })
	mustGet(t, s, "b", "2")
}

func testInvalidKeyAndValue(t *testing.T, s store.Store) {
	long := strings.Repeat("k", store.MaxKeySize+1)
	big := make([]byte, store.MaxValueSize+1)
	tests := []struct {
		name string
		op   func(store.Tx) error
		want error
	}{
		{"Get empty", func(tx store.Tx) error { _, err := tx.Get(""); return err }, store.ErrInvalidKey},
		{"Put empty", func(tx store.Tx) error { return tx.Put("", []byte("v")) }, store.ErrInvalidKey},
		{"Delete empty", func(tx store.Tx) error { return tx.Delete("") }, store.ErrInvalidKey},
		{"CompareAndPut empty", func(tx store.Tx) error { return tx.CompareAndPut("", nil, []byte("v")) }, store.ErrInvalidKey},
		{"Get long", func(tx store.Tx) error { _, err := tx.Get(long); return err }, store.ErrInvalidKey},
		{"Put long", func(tx store.Tx) error { return tx.Put(long, []byte("v")) }, store.ErrInvalidKey},
		{"Put big", func(tx store.Tx) error { return tx.Put("big", big) }, store.ErrValueTooLarge},
		{"CompareAndPut big", func(tx store.Tx) error { return tx.CompareAndPut("big", nil, big) }, store.ErrValueTooLarge},
	}
	for _, tc := range tests {
		var opErr error
		err := s.Update(t.Context(), func(tx store.Tx) error {
			opErr = tc.op(tx)
			return nil
		})
		if err != nil {
			t.Errorf("%s: Update: %v", tc.name, err)
		}
		if !errors.Is(opErr, tc.want) {
			t.Errorf("%s: error = %v, want %v", tc.name, opErr, tc.want)
		}
	}
	if keys := scanKeys(t, s, ""); len(keys) != 0 {
		t.Errorf("rejected writes left keys behind: %q", keys)
	}
}

func testLimits(t *testing.T, s store.Store) {
	key := strings.Repeat("k", store.MaxKeySize)
	value := bytes.Repeat([]byte{0xa5}, store.MaxValueSize)
	update(t, s, func(tx store.Tx) error { return tx.Put(key, value) })
	got, err := get(t, s, key)
	if err != nil || !bytes.Equal(got, value) {
		t.Fatalf("Get(max key) = %d bytes, %v; want the %d-byte value", len(got), err, len(value))
	}
}

func testViewIsReadOnly(t *testing.T, s store.Store) {
	put(t, s, "k", "v")
	ops := []struct {
		name string
		op   func(store.Tx) error
	}{
		{"Put", func(tx store.Tx) error { return tx.Put("new", []byte("x")) }},
		{"Delete", func(tx store.Tx) error { return tx.Delete("k") }},
		{"CompareAndPut", func(tx store.Tx) error { return tx.CompareAndPut("k", []byte("v"), []byte("x")) }},
	}
	for _, o := range ops {
		err := s.View(t.Context(), o.op)
		if !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("%s in View: error = %v, want ErrReadOnly", o.name, err)
		}
	}
	if keys := scanKeys(t, s, ""); !slices.Equal(keys, []string{"k"}) {
		t.Errorf("keys after writes in View = %q, want [k]", keys)
	}
	mustGet(t, s, "k", "v")
}

func testUpdateErrorWritesNothing(t *testing.T, s store.Store) {
	put(t, s, "a", "1")
	put(t, s, "b", "2")
	for _, m := range writeMethods {
		err := m.run(s, t.Context(), func(tx store.Tx) error {
			if err := tx.Put("a", []byte("changed")); err != nil {
				return err
			}
			if err := tx.Delete("b"); err != nil {
				return err
			}
			if err := tx.Put("c", []byte("new")); err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Errorf("%s error = %v, want errBoom", m.name, err)
		}
	}
	assertContents(t, s, map[string]string{"a": "1", "b": "2"})
}

func testUpdatePanicWritesNothing(t *testing.T, s store.Store) {
	put(t, s, "a", "1")
	for _, m := range writeMethods {
		func() {
			defer func() {
				if r := recover(); r != errBoom {
					t.Errorf("%s: recovered %v, want the panic to reach the caller", m.name, r)
				}
			}()
			_ = m.run(s, t.Context(), func(tx store.Tx) error {
				if err := tx.Put("a", []byte("changed")); err != nil {
					return err
				}
				if err := tx.Put("c", []byte("new")); err != nil {
					return err
				}
				panic(errBoom)
			})
		}()
	}
	assertContents(t, s, map[string]string{"a": "1"})
}

func testFnErrorPassesThrough(t *testing.T, s store.Store) {
	for _, m := range methods {
		err := m.run(s, t.Context(), func(store.Tx) error { return errBoom })
		if err != errBoom {
			t.Errorf("%s error = %#v, want errBoom itself", m.name, err)
		}
	}
}

func testReadYourWrites(t *testing.T, s store.Store) {
	put(t, s, "p/old", "o")
	update(t, s, func(tx store.Tx) error {
		if err := tx.Put("p/new", []byte("n")); err != nil {
			return err
		}
		v, err := tx.Get("p/new")
		if err != nil || string(v) != "n" {
			return fmt.Errorf("own write: Get = %q, %v", v, err)
		}
		if err := tx.Delete("p/old"); err != nil {
			return err
		}
		if _, err := tx.Get("p/old"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("own delete: Get error = %v, want ErrNotFound", err)
		}
		var keys []string
		err = tx.Scan("p/", func(k string, _ []byte) error {
			keys = append(keys, k)
			return nil
		})
		if err != nil {
			return err
		}
		if !slices.Equal(keys, []string{"p/new"}) {
			return fmt.Errorf("scan in tx = %q, want [p/new]", keys)
		}
		return nil
	})
	assertContents(t, s, map[string]string{"p/new": "n"})
}

func testScanOrder(t *testing.T, s store.Store) {
	want := []string{"A", "a", "a/", "a/b", "a0", "ab", "b", "b\x00", "b\x01", "z", "\x7f", "é", "\xff", "\xff\xff"}
	shuffled := slices.Clone(want)
	slices.Reverse(shuffled)
	update(t, s, func(tx store.Tx) error {
		for _, k := range shuffled {
			if err := tx.Put(k, []byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
	if got := scanKeys(t, s, ""); !slices.Equal(got, want) {
		t.Errorf("Scan(\"\") = %q, want %q", got, want)
	}

	// Many keys, written in several transactions.
	var many []string
	for i := range 1000 {
		many = append(many, fmt.Sprintf("many/%04d", (i*7919)%1000))
	}
	for chunk := range slices.Chunk(many, 250) {
		update(t, s, func(tx store.Tx) error {
			for _, k := range chunk {
				if err := tx.Put(k, []byte("v")); err != nil {
					return err
				}
			}
			return nil
		})
	}
	got := scanKeys(t, s, "many/")
	if len(got) != 1000 || !slices.IsSorted(got) {
		t.Errorf("Scan(many/) = %d keys, sorted %t; want 1000 sorted", len(got), slices.IsSorted(got))
	}
}

func testScanPrefixBoundaries(t *testing.T, s store.Store) {
	keys := []string{
		"agent", "agents", "agents/", "agents/a", "agents/b/c", "agents0", "agents2/x",
		"agents.", "agentt", "b\xff", "b\xff\x00", "b\xff\xff", "c",
	}
	update(t, s, func(tx store.Tx) error {
		for _, k := range keys {
			if err := tx.Put(k, []byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
	tests := []struct {
		prefix string
		want   []string
	}{
		{"agents/", []string{"agents/", "agents/a", "agents/b/c"}},
		{"agents2/", []string{"agents2/x"}},
		{"agents", []string{"agents", "agents.", "agents/", "agents/a", "agents/b/c", "agents0", "agents2/x"}},
		{"agent", []string{"agent", "agents", "agents.", "agents/", "agents/a", "agents/b/c", "agents0", "agents2/x", "agentt"}},
		{"agents/b/", []string{"agents/b/c"}},
		{"agents/a", []string{"agents/a"}},
		{"agents/z", nil},
		{"aaa", nil},
		{"b\xff", []string{"b\xff", "b\xff\x00", "b\xff\xff"}},
		{"b\xff\x00", []string{"b\xff\x00"}},
		{"d", nil},
		{"\xff", nil},
	}
	for _, tc := range tests {
		if got := scanKeys(t, s, tc.prefix); !slices.Equal(got, tc.want) {
			t.Errorf("Scan(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
}

func testScanValuesAndStop(t *testing.T, s store.Store) {
	for i := range 5 {
		put(t, s, fmt.Sprintf("v/%d", i), fmt.Sprintf("value-%d", i))
	}
	got := map[string]string{}
	visited := 0
	err := s.View(t.Context(), func(tx store.Tx) error {
		return tx.Scan("v/", func(k string, v []byte) error {
			got[k] = string(v) // string() copies
			visited++
			if visited == 3 {
				return errBoom
			}
			return nil
		})
	})
	if err != errBoom {
		t.Fatalf("Scan error = %v, want errBoom", err)
	}
	want := map[string]string{"v/0": "value-0", "v/1": "value-1", "v/2": "value-2"}
	if visited != 3 || !maps.Equal(got, want) {
		t.Errorf("Scan visited %d: %q, want 3: %q", visited, got, want)
	}
}

func testScanWhileWriting(t *testing.T, s store.Store) {
	const n = 300
	update(t, s, func(tx store.Tx) error {
		for i := range n {
			if err := tx.Put(fmt.Sprintf("p/%04d", i), []byte("old")); err != nil {
				return err
			}
		}
		return tx.Put("q/keep", []byte("k"))
	})

	// In one transaction: rewriting the visited key visits every key once;
	// then deleting the visited key visits and deletes every key, also
	// when the first scan already changed the keys' pages.
	rewrote, deleted := 0, 0
	update(t, s, func(tx store.Tx) error {
		err := tx.Scan("p/", func(k string, _ []byte) error {
			rewrote++
			return tx.Put(k, bytes.Repeat([]byte("new"), 50))
		})
		if err != nil {
			return err
		}
		return tx.Scan("p/", func(k string, _ []byte) error {
			deleted++
			return tx.Delete(k)
		})
	})
	if rewrote != n || deleted != n {
		t.Errorf("rewriting scan visited %d keys, deleting scan %d; want %d each", rewrote, deleted, n)
	}
	assertContents(t, s, map[string]string{"q/keep": "k"})
}

func testCompareAndPut(t *testing.T, s store.Store) {
	tests := []struct {
		name    string
		initial map[string]string
		old     []byte
		wantErr error
		want    map[string]string
	}{
		{"absent, nil old", nil, nil, nil, map[string]string{"k": "new"}},
		{"absent, old given", nil, []byte("x"), store.ErrConflict, map[string]string{}},
		{"absent, empty old", nil, []byte{}, store.ErrConflict, map[string]string{}},
		{"present, nil old", map[string]string{"k": "cur"}, nil, store.ErrConflict, map[string]string{"k": "cur"}},
		{"present, equal old", map[string]string{"k": "cur"}, []byte("cur"), nil, map[string]string{"k": "new"}},
		{"present, other old", map[string]string{"k": "cur"}, []byte("cux"), store.ErrConflict, map[string]string{"k": "cur"}},
		{"present, prefix old", map[string]string{"k": "cur"}, []byte("cu"), store.ErrConflict, map[string]string{"k": "cur"}},
		{"present empty, empty old", map[string]string{"k": ""}, []byte{}, nil, map[string]string{"k": "new"}},
		{"present empty, nil old", map[string]string{"k": ""}, nil, store.ErrConflict, map[string]string{"k": ""}},
	}
	for _, tc := range tests {
		update(t, s, func(tx store.Tx) error {
			if err := tx.Delete("k"); err != nil {
				return err
			}
			for k, v := range tc.initial {
				if err := tx.Put(k, []byte(v)); err != nil {
					return err
				}
			}
			return nil
		})
		var casErr error
		update(t, s, func(tx store.Tx) error {
			casErr = tx.CompareAndPut("k", tc.old, []byte("new"))
			return nil
		})
		if !errors.Is(casErr, tc.wantErr) {
			t.Errorf("%s: error = %v, want %v", tc.name, casErr, tc.wantErr)
		}
		if got := contents(t, s); !maps.Equal(got, tc.want) {
			t.Errorf("%s: contents = %s, want %s", tc.name, describe(got), describe(tc.want))
		}
	}
}

func testCompareAndPutConflictAbortsUpdate(t *testing.T, s store.Store) {
	put(t, s, "k", "cur")
	err := s.Update(t.Context(), func(tx store.Tx) error {
		if err := tx.Put("other", []byte("x")); err != nil {
			return err
		}
		return tx.CompareAndPut("k", []byte("stale"), []byte("new"))
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Update error = %v, want ErrConflict", err)
	}
	assertContents(t, s, map[string]string{"k": "cur"})
}

func testConcurrentUpdates(t *testing.T, s store.Store) {
	const workers, each = 8, 25
	runConcurrently(t, workers, func(int) error {
		for range each {
			if err := s.Update(t.Context(), increment("counter")); err != nil {
				return err
			}
		}
		return nil
	})
	mustGet(t, s, "counter", fmt.Sprint(workers*each))
}

func testBatchConcurrent(t *testing.T, s store.Store) {
	const workers = 64
	runConcurrently(t, workers, func(i int) error {
		return s.Batch(t.Context(), func(tx store.Tx) error {
			if err := tx.Put(fmt.Sprintf("batch/%03d", i), []byte("ok")); err != nil {
				return err
			}
			return increment("counter")(tx)
		})
	})
	mustGet(t, s, "counter", fmt.Sprint(workers))
	if got := scanKeys(t, s, "batch/"); len(got) != workers {
		t.Errorf("Batch wrote %d keys, want %d", len(got), workers)
	}
}

func testBatchErrorIsolated(t *testing.T, s store.Store) {
	const workers = 40
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			errs[i] = s.Batch(t.Context(), func(tx store.Tx) error {
				if err := tx.Put(fmt.Sprintf("batch/%03d", i), []byte("ok")); err != nil {
					return err
				}
				return []error{nil, errBoom}[i%2]
			})
		})
	}
	wg.Wait()
	want := map[string]string{}
	for i := 0; i < workers; i += 2 {
		want[fmt.Sprintf("batch/%03d", i)] = "ok"
	}
	for i, err := range errs {
		if wantErr := []error{nil, errBoom}[i%2]; err != wantErr {
			t.Errorf("caller %d: error = %v, want %v", i, err, wantErr)
		}
	}
	assertContents(t, s, want)
}

func testViewSnapshotIsolation(t *testing.T, s store.Store) {
	// Grow the store and free the space again, so the concurrent write
	// below reuses pages instead of growing a bbolt file (which would wait
	// for the open View).
	update(t, s, func(tx store.Tx) error {
		for i := range 64 {
			if err := tx.Put(fmt.Sprintf("pad/%02d", i), make([]byte, 4096)); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error {
		return tx.Scan("pad/", func(k string, _ []byte) error { return tx.Delete(k) })
	})
	put(t, s, "snap/a", "v1")
	put(t, s, "snap/gone", "g")

	var wg sync.WaitGroup
	writerDone := make(chan error, 1)
	err := s.View(t.Context(), func(tx store.Tx) error {
		if err := expectSnapshot(tx, "before the write"); err != nil {
			return err
		}
		wg.Go(func() {
			writerDone <- s.Update(context.Background(), func(tx store.Tx) error {
				if err := tx.Put("snap/a", []byte("v2")); err != nil {
					return err
				}
				if err := tx.Put("snap/b", []byte("new")); err != nil {
					return err
				}
				return tx.Delete("snap/gone")
			})
		})
		select {
		case err := <-writerDone:
			if err != nil {
				return fmt.Errorf("concurrent Update: %w", err)
			}
		case <-time.After(10 * time.Second):
			return errors.New("concurrent Update did not commit within 10s while a View was open")
		}
		return expectSnapshot(tx, "after a concurrent commit")
	})
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	assertContents(t, s, map[string]string{"snap/a": "v2", "snap/b": "new"})
}

// expectSnapshot checks tx still sees the data from before the write in
// testViewSnapshotIsolation.
func expectSnapshot(tx store.Tx, when string) error {
	v, err := tx.Get("snap/a")
	if err != nil || string(v) != "v1" {
		return fmt.Errorf("%s: Get(snap/a) = %q, %v; want v1", when, v, err)
	}
	if _, err := tx.Get("snap/b"); !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s: Get(snap/b) error = %v, want ErrNotFound", when, err)
	}
	var keys []string
	err = tx.Scan("snap/", func(k string, _ []byte) error {
		keys = append(keys, k)
		return nil
	})
	if err != nil {
		return err
	}
	if want := []string{"snap/a", "snap/gone"}; !slices.Equal(keys, want) {
		return fmt.Errorf("%s: Scan(snap/) = %q, want %q", when, keys, want)
	}
	return nil
}

func testCanceledContext(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, m := range methods {
		called := false
		err := m.run(s, ctx, func(tx store.Tx) error {
			called = true
			return nil
		})
		if !errors.Is(err, context.Canceled) || called {
			t.Errorf("%s with canceled ctx: error = %v, fn called %t; want context.Canceled, not called", m.name, err, called)
		}
	}
}

func testClosed(t *testing.T, s store.Store) {
	put(t, s, "k", "v")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, m := range methods {
		called := false
		err := m.run(s, t.Context(), func(store.Tx) error {
			called = true
			return nil
		})
		if !errors.Is(err, store.ErrClosed) || called {
			t.Errorf("%s after Close: error = %v, fn called %t; want ErrClosed, not called", m.name, err, called)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// increment adds one to the decimal counter at key.
func increment(key string) func(store.Tx) error {
	return func(tx store.Tx) error {
		n := 0
		v, err := tx.Get(key)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		default:
			if _, err := fmt.Sscan(string(v), &n); err != nil {
				return fmt.Errorf("counter %q: %w", v, err)
			}
		}
		return tx.Put(key, []byte(fmt.Sprint(n+1)))
	}
}

// runConcurrently runs fn(0..n-1) in n goroutines and fails on any error.
func runConcurrently(t *testing.T, n int, fn func(i int) error) {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = fn(i) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

func update(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func put(t *testing.T, s store.Store, key, value string) {
	t.Helper()
	update(t, s, func(tx store.Tx) error { return tx.Put(key, []byte(value)) })
}

func get(t *testing.T, s store.Store, key string) ([]byte, error) {
	t.Helper()
	var v []byte
	err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		v, err = tx.Get(key)
		return err
	})
	return v, err
}

func mustGet(t *testing.T, s store.Store, key, want string) {
	t.Helper()
	v, err := get(t, s, key)
	if err != nil || string(v) != want {
		t.Fatalf("Get(%q) = %q, %v; want %q", key, v, err, want)
	}
}

func scanKeys(t *testing.T, s store.Store, prefix string) []string {
	t.Helper()
	var keys []string
	err := s.View(t.Context(), func(tx store.Tx) error {
		return tx.Scan(prefix, func(k string, _ []byte) error {
			keys = append(keys, k)
			return nil
		})
	})
	if err != nil {
		t.Fatalf("Scan(%q): %v", prefix, err)
	}
	return keys
}

func contents(t *testing.T, s store.Store) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := s.View(t.Context(), func(tx store.Tx) error {
		return tx.Scan("", func(k string, v []byte) error {
			m[k] = string(v)
			return nil
		})
	})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return m
}

func assertContents(t *testing.T, s store.Store, want map[string]string) {
	t.Helper()
	if got := contents(t, s); !maps.Equal(got, want) {
		t.Errorf("store contents = %s, want %s", describe(got), describe(want))
	}
}

// describe prints a store's contents briefly: a failing test may leave
// hundreds of keys behind.
func describe(m map[string]string) string {
	keys := slices.Sorted(maps.Keys(m))
	var b strings.Builder
	fmt.Fprintf(&b, "%d keys {", len(keys))
	for i, k := range keys {
		if i == 8 {
			b.WriteString(" ...")
			break
		}
		v := m[k]
		if len(v) > 16 {
			v = v[:16] + "..."
		}
		fmt.Fprintf(&b, " %q: %q", k, v)
	}
	b.WriteString(" }")
	return b.String()
}
