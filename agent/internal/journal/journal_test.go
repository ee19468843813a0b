package journal

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

var ctx = context.Background()

func open(t *testing.T, path string) *Journal {
	t.Helper()
	j, err := Open(path, Options{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

func entry(id string, nonce byte, notAfter time.Time) Entry {
	return Entry{ID: id, Nonce: bytes.Repeat([]byte{nonce}, 16), Plugin: "script", AcceptedAt: notAfter.Add(-time.Hour).Unix(),
		BootTime: 1000, NotAfter: notAfter.Unix(), Timeout: 3600}
}

func TestAcceptRefusesReplays(t *testing.T) {
	j := open(t, filepath.Join(t.TempDir(), "journal.db"))
	now := time.Unix(1_800_000_000, 0)
	if err := j.Accept(ctx, entry("tk-00000001", 1, now)); err != nil {
		t.Fatal(err)
	}
	for name, e := range map[string]Entry{
		"same task":            entry("tk-00000001", 1, now),
		"same id, other nonce": entry("tk-00000001", 2, now),
		"same nonce, other id": entry("tk-00000002", 1, now),
	} {
		if err := j.Accept(ctx, e); !errors.Is(err, ErrSeen) {
			t.Errorf("%s: Accept = %v, want ErrSeen", name, err)
		}
	}
	if seen, _ := j.Seen(ctx, bytes.Repeat([]byte{2}, 16)); seen {
		t.Error("a refused accept left its nonce behind")
	}
	if seen, _ := j.Seen(ctx, bytes.Repeat([]byte{1}, 16)); !seen {
		t.Error("accepted nonce not seen")
	}
	e, err := j.Get(ctx, "tk-00000001")
	if err != nil || e.State != agentv1.TaskState_TASK_STATE_ACCEPTED || e.Plugin != "script" || e.BootTime != 1000 {
		t.Fatalf("Get = %+v, %v", e, err)
	}
	if _, err := j.Get(ctx, "tk-missing0"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get missing = %v", err)
	}
}

// TestRecoveryAcrossReopen: what a crashed agent left is there after a
// reopen; finished tasks are not unfinished; the last update survives.
func TestRecoveryAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	now := time.Unix(1_800_000_000, 0)
	j := open(t, path)
	for i, id := range []string{"tk-accepted", "tk-running0", "tk-rebootin", "tk-finished"} {
		if err := j.Accept(ctx, entry(id, byte(i+1), now)); err != nil {
			t.Fatal(err)
		}
	}
	set := func(id string, s agentv1.TaskState, last *agentv1.TaskUpdate) {
		t.Helper()
		if err := j.Set(ctx, id, s, last, now); err != nil {
			t.Fatal(err)
		}
	}
	set("tk-running0", agentv1.TaskState_TASK_STATE_RUNNING, nil)
	set("tk-rebootin", agentv1.TaskState_TASK_STATE_REBOOTING, &agentv1.TaskUpdate{TaskId: "tk-rebootin", State: agentv1.TaskState_TASK_STATE_REBOOTING})
	set("tk-finished", agentv1.TaskState_TASK_STATE_SUCCEEDED, &agentv1.TaskUpdate{TaskId: "tk-finished",
		State: agentv1.TaskState_TASK_STATE_SUCCEEDED, Output: []*agentv1.OutputLine{{Line: "not kept"}},
		Result: &agentv1.TaskResult{Ok: true, Summary: "done"}})
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j = open(t, path)
	un, err := j.Unfinished(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]agentv1.TaskState{}
	for _, e := range un {
		got[e.ID] = e.State
	}
	want := map[string]agentv1.TaskState{"tk-accepted": agentv1.TaskState_TASK_STATE_ACCEPTED,
		"tk-running0": agentv1.TaskState_TASK_STATE_RUNNING, "tk-rebootin": agentv1.TaskState_TASK_STATE_REBOOTING}
	if len(got) != len(want) {
		t.Fatalf("unfinished = %v, want %v", got, want)
	}
	for id, s := range want {
		if got[id] != s {
			t.Errorf("%s: %v, want %v", id, got[id], s)
		}
	}
	e, err := j.Get(ctx, "tk-finished")
	if err != nil {
		t.Fatal(err)
	}
	last := e.LastUpdate()
	if last.GetResult().GetSummary() != "done" || len(last.GetOutput()) != 0 {
		t.Fatalf("last update = %v, want the result without output", last)
	}
}

func TestPrune(t *testing.T) {
	j := open(t, filepath.Join(t.TempDir(), "journal.db"))
	now := time.Unix(1_800_000_000, 0)
	old := now.Add(-Retention - time.Minute)
	recent := now.Add(-Retention + time.Minute)
	for _, c := range []struct {
		id       string
		nonce    byte
		notAfter time.Time
		state    agentv1.TaskState
	}{
		{"tk-oldfinis", 1, old, agentv1.TaskState_TASK_STATE_FAILED},
		{"tk-recentfi", 2, recent, agentv1.TaskState_TASK_STATE_SUCCEEDED},
		{"tk-oldreboo", 3, old, agentv1.TaskState_TASK_STATE_REBOOTING},
		{"tk-oldrunni", 4, old, agentv1.TaskState_TASK_STATE_RUNNING},
	} {
		if err := j.Accept(ctx, entry(c.id, c.nonce, c.notAfter)); err != nil {
			t.Fatal(err)
		}
		if err := j.Set(ctx, c.id, c.state, nil, now); err != nil {
			t.Fatal(err)
		}
	}
	n, err := j.Prune(ctx, now)
	if err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v; want 1", n, err)
	}
	if _, err := j.Get(ctx, "tk-oldfinis"); !errors.Is(err, ErrNotFound) {
		t.Errorf("old finished task kept: %v", err)
	}
	if seen, _ := j.Seen(ctx, bytes.Repeat([]byte{1}, 16)); seen {
		t.Error("pruned task's nonce kept")
	}
	for _, id := range []string{"tk-recentfi", "tk-oldreboo", "tk-oldrunni"} {
		if _, err := j.Get(ctx, id); err != nil {
			t.Errorf("%s pruned: %v", id, err)
		}
	}
	if n, err := j.Prune(ctx, now); err != nil || n != 0 {
		t.Fatalf("second Prune = %d, %v", n, err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "journal.db")
	j := open(t, path)
	if _, err := Open(path, Options{Timeout: 50 * time.Millisecond}); !errors.Is(err, ErrInUse) {
		t.Errorf("second open = %v, want ErrInUse", err)
	}
	_ = j.Close()
	if err := j.Accept(ctx, entry("tk-00000001", 1, time.Now())); !errors.Is(err, ErrClosed) {
		t.Errorf("accept after close = %v", err)
	}

	// Someone else's bbolt file.
	other := filepath.Join(dir, "other.db")
	db, err := bolt.Open(other, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("x")); return err })
	_ = db.Close()
	if _, err := Open(other, Options{}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("foreign file = %v, want ErrCorrupt", err)
	}

	// A newer schema.
	newer := filepath.Join(dir, "newer.db")
	j = open(t, newer)
	_ = j.Close()
	db, err = bolt.Open(newer, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchemaVersion, []byte{0, 0, 0, 0, 0, 0, 0, 9})
	})
	_ = db.Close()
	if _, err := Open(newer, Options{}); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("newer schema = %v, want ErrSchemaTooNew", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, %v", fi.Mode().Perm(), err)
	}
}
