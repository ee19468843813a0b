package fleet

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/internal/logging"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
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
	_, detach1 := f.Attach("a", cancel1, nil)
	if on, ts := f.Online("a"); !on || ts != 100 {
		t.Fatalf("online=%v ts=%d", on, ts)
	}
	ctx2, cancel2 := context.WithCancelCause(context.Background())
	_, detach2 := f.Attach("a", cancel2, nil)
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

func TestSend(t *testing.T) {
	f := New(logging.Discard(), nil)
	msg := &agentv1.ControllerMessage{Msg: &agentv1.ControllerMessage_Scan{Scan: &agentv1.ScanRequest{RequestId: "r"}}}
	if err := f.Send("a", "scan-request", msg); !errors.Is(err, ErrOffline) {
		t.Errorf("send to an offline agent: %v, want ErrOffline", err)
	}
	_, cancel := context.WithCancelCause(t.Context())
	_, detachOld := f.Attach("old", cancel, []string{"metrics"})
	defer detachOld()
	if err := f.Send("old", "scan-request", msg); !errors.Is(err, ErrUnsupported) {
		t.Errorf("send to an agent without the capability: %v, want ErrUnsupported", err)
	}
	out, detach := f.Attach("a", cancel, []string{"metrics", "scan-request"})
	var err error
	sent := 0
	for err == nil {
		if err = f.Send("a", "scan-request", msg); err == nil {
			sent++
		}
	}
	if !errors.Is(err, ErrBusy) || sent == 0 || sent > 16 {
		t.Errorf("after %d queued: %v, want ErrBusy after a few", sent, err)
	}
	if got := <-out; got != msg {
		t.Errorf("stream got %v, want the sent message", got)
	}
	detach()
	if err := f.Send("a", "scan-request", msg); !errors.Is(err, ErrOffline) {
		t.Errorf("send after detach: %v, want ErrOffline", err)
	}
}
