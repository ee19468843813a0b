package agentapi

import (
	"sync"
	"time"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// OutQueue is how many controller messages (scan requests, task offers)
// may wait for a stream's sender. An offer beyond it is refused, and
// fleet.Send says ErrBusy, rather than queued without bound.
const OutQueue = 4

// sender writes a stream's acks and controller messages. It has no
// goroutine while there is nothing to send: the first ack or message
// starts one, which sends until the queue is empty and then ends. At
// 10,000 idle streams that is 10,000 goroutine stacks the controller does
// not keep. Acks coalesce: only the highest committed sequence is sent.
//
// The stream's handler sends Welcome itself, then calls start; from then
// on only the sender writes to the stream.
type sender struct {
	send  func(*agentv1.ControllerMessage) error
	onErr func(error) // a failed send: the stream is broken

	mu       sync.Mutex
	started  bool // Welcome is out: messages may go
	running  bool // a goroutine is sending
	stopped  bool // the handler is done: nothing more goes
	finished bool // finish was called: no more offers
	ack      uint64
	acked    uint64
	queue    []*agentv1.ControllerMessage
	idle     *sync.Cond // signalled when running turns false
}

func newSender(send func(*agentv1.ControllerMessage) error, onErr func(error)) *sender {
	s := &sender{send: send, onErr: onErr}
	s.idle = sync.NewCond(&s.mu)
	return s
}

// start lets messages go (after Welcome).
func (s *sender) start() {
	s.mu.Lock()
	s.started = true
	s.kickLocked()
	s.mu.Unlock()
}

// committed records that reports up to seq are committed; the ack goes
// out soon, merged with any later one.
func (s *sender) committed(seq uint64) {
	s.mu.Lock()
	if seq > s.ack {
		s.ack = seq
		s.kickLocked()
	}
	s.mu.Unlock()
}

// offer queues m unless OutQueue messages already wait or the stream is
// ending. It never blocks.
func (s *sender) offer(m *agentv1.ControllerMessage) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished || s.stopped || len(s.queue) >= OutQueue {
		return false
	}
	s.queue = append(s.queue, m)
	s.kickLocked()
	return true
}

// finish queues the stream's last messages (after the pending ack) and
// takes no more offers. It reports whether they can go: false when
// Welcome was never sent or the handler is done.
func (s *sender) finish(last ...*agentv1.ControllerMessage) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started || s.stopped {
		return false
	}
	s.finished = true
	s.queue = append(s.queue, last...)
	s.kickLocked()
	return true
}

func (s *sender) kickLocked() {
	if !s.started || s.running || s.stopped || (len(s.queue) == 0 && s.ack <= s.acked) {
		return
	}
	s.running = true
	go s.run()
}

func (s *sender) run() {
	for {
		s.mu.Lock()
		var batch []*agentv1.ControllerMessage
		if !s.stopped || s.finished { // the last messages go even as the handler ends
			if s.ack > s.acked {
				batch = append(batch, &agentv1.ControllerMessage{Msg: &agentv1.ControllerMessage_Ack{Ack: &agentv1.Ack{Seq: s.ack}}})
				s.acked = s.ack
			}
			batch, s.queue = append(batch, s.queue...), nil
		}
		if len(batch) == 0 {
			s.running = false
			s.idle.Broadcast()
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		for _, m := range batch {
			if err := s.send(m); err != nil {
				s.mu.Lock()
				s.stopped, s.queue, s.running = true, nil, false
				s.idle.Broadcast()
				s.mu.Unlock()
				s.onErr(err)
				return
			}
		}
	}
}

// stop ends sending and waits for a send in progress, at most wait; then
// it calls abort (which must make that send fail, by closing the
// connection) and waits for it. The handler calls it before returning, so
// nothing writes to the stream after its handler is done.
func (s *sender) stop(wait time.Duration, abort func()) {
	s.mu.Lock()
	s.stopped = true
	if s.running {
		t := time.AfterFunc(wait, abort)
		for s.running {
			s.idle.Wait()
		}
		t.Stop()
	}
	s.mu.Unlock()
}
