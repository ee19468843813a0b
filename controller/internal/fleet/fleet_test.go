package fleet

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/internal/logging"
)

type mapFlusher struct {
	calls int
	got   map[string]int64
	err   error
}

func (m *mapFlusher) FlushLastSeen(_ context.Context, seen map[string]int64) error {
	m.calls++
	if m.err != nil {
		return m.err
	}
	for k, v := range seen {
		m.got[k] = v
	}
	return nil
}

func TestAttachReplaceKick(t *testing.T) {
	now := time.Unix(100, 0)
	f := New(logging.Discard(), func() time.Time { return now })
	ctx1, cancel1 := context.WithCancelCause(context.Background())
	detach1 := f.Attach("a", cancel1)
	if on, ts := f.Online("a"); !on || ts != 100 {
		t.Fatalf("online=%v ts=%d", on, ts)
	}
	ctx2, cancel2 := context.WithCancelCause(context.Background())
	detach2 := f.Attach("a", cancel2)
	if !errors.Is(context.Cause(ctx1), ErrReplaced) {
		t.Fatalf("first stream not replaced: %v", context.Cause(ctx1))
	}
	detach1() // late detach of the replaced stream must not drop the new one
	if on, _ := f.Online("a"); !on {
		t.Fatal("new stream dropped by old detach")
	}
	cause := errors.New("revoked")
	if !f.Kick("a", cause) || context.Cause(ctx2) != cause {
		t.Fatal("kick did not cancel")
	}
	now = now.Add(5 * time.Second)
	f.Touch("a")
	detach2()
	if on, ts := f.Online("a"); on || ts != 105 {
		t.Fatalf("after detach online=%v ts=%d", on, ts)
	}
	if f.Kick("a", cause) {
		t.Fatal("kick of offline agent reported a stream")
	}
}

func TestFlushBatchesAndRetries(t *testing.T) {
	now := time.Unix(100, 0)
	f := New(logging.Discard(), func() time.Time { return now })
	for _, id := range []string{"a", "b", "c"} {
		f.Touch(id)
	}
	fl := &mapFlusher{got: map[string]int64{}, err: errors.New("disk full")}
	if err := f.Flush(context.Background(), fl); err == nil {
		t.Fatal("want error")
	}
	fl.err = nil
	if err := f.Flush(context.Background(), fl); err != nil {
		t.Fatal(err)
	}
	if len(fl.got) != 3 || fl.calls != 2 {
		t.Fatalf("got %v after %d calls", fl.got, fl.calls)
	}
	if err := f.Flush(context.Background(), fl); err != nil || fl.calls != 2 {
		t.Fatalf("empty flush wrote: calls=%d", fl.calls)
	}
}
