package agentapi

import (
	"errors"
	"sync"
	"testing"
	"time"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// wire records what a sender sent; a send blocks while gate is held.
type wire struct {
	mu   sync.Mutex
	got  []string
	gate sync.Mutex
	fail error
}

func (w *wire) send(m *agentv1.ControllerMessage) error {
	w.gate.Lock()
	defer w.gate.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail != nil {
		return w.fail
	}
	switch {
	case m.GetAck() != nil:
		w.got = append(w.got, "ack "+itoa(m.GetAck().GetSeq()))
	case m.GetGoaway() != nil:
		w.got = append(w.got, "goaway")
	default:
		w.got = append(w.got, "request")
	}
	return nil
}

func (w *wire) sent() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.got...)
}

func itoa(n uint64) string { return string(rune('0' + n)) }

func waitSent(t *testing.T, w *wire, want ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := w.sent()
		if len(got) >= len(want) {
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("sent %v, want %v", got, want)
				}
			}
			if len(got) > len(want) {
				t.Fatalf("sent %v, want %v", got, want)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sent %v, want %v", got, want)
		}
		time.Sleep(time.Millisecond)
	}
}

var request = &agentv1.ControllerMessage{Msg: &agentv1.ControllerMessage_Scan{}}

// TestSenderHoldsUntilStarted: nothing goes before Welcome; then the
// highest ack and the queued requests do.
func TestSenderHoldsUntilStarted(t *testing.T) {
	w := &wire{}
	s := newSender(w.send, func(error) { t.Error("unexpected send error") })
	s.committed(1)
	s.committed(3)
	s.committed(2) // older: merged away
	if !s.offer(request) {
		t.Fatal("offer refused")
	}
	time.Sleep(20 * time.Millisecond)
	if got := w.sent(); len(got) != 0 {
		t.Fatalf("sent %v before start", got)
	}
	s.start()
	waitSent(t, w, "ack 3", "request")
	s.committed(4)
	waitSent(t, w, "ack 3", "request", "ack 4")
	s.stop(time.Second, func() { t.Error("abort called with nothing in flight") })
}

// TestSenderBounds: while a send is stuck, at most OutQueue requests wait
// and acks merge into one; stop aborts the stuck send after its wait.
func TestSenderBounds(t *testing.T) {
	w := &wire{}
	s := newSender(w.send, func(error) {})
	s.start()
	w.gate.Lock() // the wire stops
	s.committed(1)
	time.Sleep(10 * time.Millisecond) // the sender is now stuck in send
	for i := range OutQueue {
		if !s.offer(request) {
			t.Fatalf("offer %d refused", i)
		}
	}
	if s.offer(request) {
		t.Fatal("offer beyond OutQueue taken")
	}
	for seq := uint64(2); seq <= 5; seq++ {
		s.committed(seq)
	}
	aborted := make(chan struct{})
	start := time.Now()
	s.stop(50*time.Millisecond, func() {
		close(aborted)
		w.mu.Lock()
		w.fail = errors.New("connection closed")
		w.mu.Unlock()
		w.gate.Unlock()
	})
	<-aborted
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("stop aborted after %s, before its wait", d)
	}
	if s.offer(request) {
		t.Fatal("offer taken after stop")
	}
}

// TestSenderFinish: the last messages follow the pending ack, no offer is
// taken after them, and they still go when the handler stops at once.
func TestSenderFinish(t *testing.T) {
	w := &wire{}
	s := newSender(w.send, func(error) {})
	if s.finish(request) {
		t.Fatal("finish before Welcome reported success")
	}
	s.start()
	w.gate.Lock()
	s.committed(7)
	if !s.finish(&agentv1.ControllerMessage{Msg: &agentv1.ControllerMessage_Goaway{Goaway: &agentv1.GoAway{}}}) {
		t.Fatal("finish refused")
	}
	if s.offer(request) {
		t.Fatal("offer taken after finish")
	}
	go func() { time.Sleep(20 * time.Millisecond); w.gate.Unlock() }()
	s.stop(5*time.Second, func() { t.Error("abort called") })
	waitSent(t, w, "ack 7", "goaway")
}

// TestSenderSendError: a failed send stops the sender and is reported
// once; later acks and offers go nowhere.
func TestSenderSendError(t *testing.T) {
	w := &wire{fail: errors.New("broken pipe")}
	var errs []error
	var mu sync.Mutex
	s := newSender(w.send, func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() })
	s.start()
	s.committed(1)
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(errs)
		mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("send error not reported")
		}
		time.Sleep(time.Millisecond)
	}
	s.committed(2)
	if s.offer(request) {
		t.Fatal("offer taken after a failed send")
	}
	s.stop(time.Second, func() { t.Error("abort called") })
	mu.Lock()
	defer mu.Unlock()
	if len(errs) != 1 {
		t.Fatalf("errors reported: %v", errs)
	}
}
