package check

import (
	"fmt"
	"time"

	"github.com/vigil-rmm/vigil/internal/netcheck"
)

// State is what a check currently believes about its target.
type State int

// The states.
const (
	// Unknown: not yet established (a new check, or only ERR so far).
	Unknown State = iota
	// Up: the last established state was OK.
	Up
	// Down: the last established state was NG or WR.
	Down
)

// String returns "unknown", "up" or "down".
func (s State) String() string {
	switch s {
	case Up:
		return "up"
	case Down:
		return "down"
	}
	return "unknown"
}

// NoticeKind says what a Notice announces.
type NoticeKind int

// The notice kinds.
const (
	// NoticeDown: the target went down (or a new check found it down).
	NoticeDown NoticeKind = iota + 1
	// NoticeUp: the target recovered.
	NoticeUp
	// NoticeSuspended: the check stopped itself after consecutive ERR.
	NoticeSuspended
	// NoticeResumed: someone resumed a suspended check.
	NoticeResumed
)

// String returns "down", "up", "suspended" or "resumed".
func (k NoticeKind) String() string {
	switch k {
	case NoticeDown:
		return "down"
	case NoticeUp:
		return "up"
	case NoticeSuspended:
		return "suspended"
	case NoticeResumed:
		return "resumed"
	}
	return fmt.Sprintf("NoticeKind(%d)", int(k))
}

// Notice is something a person should hear about one check.
type Notice struct {
	Kind NoticeKind
	// At is when it was decided: the last result's time, or the time of
	// Resume.
	At time.Time
	// Results are the consecutive results that caused it, oldest first;
	// empty for NoticeResumed.
	Results []netcheck.Result
	// By is who resumed the check (NoticeResumed only).
	By string
}

// Defaults of MachineConfig.
const (
	DefaultConfirm    = 2
	DefaultSuspendErr = 4
)

// MachineConfig tunes a Machine. Zero values mean the defaults.
type MachineConfig struct {
	// Confirm is how many consecutive agreeing results change the
	// state (and notify); default 2.
	Confirm int
	// SuspendErr is how many consecutive ERR results suspend the check;
	// default 4.
	SuspendErr int
}

// Machine is the per-check state machine. It is pure: it reads no clock
// (times come with the results) and is not safe for concurrent use; the
// caller keeps one per check and feeds it results in order.
//
// OK counts as up, NG and WR as down. ERR says nothing about the target:
// it neither confirms nor interrupts a run of up or down results; it
// only counts toward suspension, and any other result resets that count.
// See doc.go.
type Machine struct {
	cfg       MachineConfig
	state     State
	pending   []netcheck.Result // consecutive results disagreeing with state, same polarity
	errs      []netcheck.Result // consecutive ERR results
	suspended bool
}

// NewMachine returns a machine in state Unknown.
func NewMachine(cfg MachineConfig) *Machine {
	if cfg.Confirm <= 0 {
		cfg.Confirm = DefaultConfirm
	}
	if cfg.SuspendErr <= 0 {
		cfg.SuspendErr = DefaultSuspendErr
	}
	return &Machine{cfg: cfg}
}

// State returns the established state.
func (m *Machine) State() State { return m.state }

// Suspended reports whether the check has suspended itself.
func (m *Machine) Suspended() bool { return m.suspended }

// Observe feeds one result and returns the notice it causes, if any. A
// suspended machine ignores results.
func (m *Machine) Observe(r netcheck.Result) (Notice, bool) {
	if m.suspended {
		return Notice{}, false
	}
	if r.Status == netcheck.ERR {
		m.errs = append(m.errs, r)
		if len(m.errs) < m.cfg.SuspendErr {
			return Notice{}, false
		}
		n := Notice{Kind: NoticeSuspended, At: r.At, Results: m.errs}
		m.suspended, m.errs, m.pending = true, nil, nil
		return n, true
	}
	m.errs = nil
	to := polarity(r)
	if to == m.state {
		m.pending = nil
		return Notice{}, false
	}
	if len(m.pending) > 0 && polarity(m.pending[0]) != to {
		m.pending = nil // from Unknown: the run of agreeing results broke
	}
	m.pending = append(m.pending, r)
	if len(m.pending) < m.cfg.Confirm {
		return Notice{}, false
	}
	from := m.state
	m.state = to
	n := Notice{Kind: NoticeDown, At: r.At, Results: m.pending}
	m.pending = nil
	if to == Up {
		n.Kind = NoticeUp
	}
	// A new check that finds its target up is not news; one that finds
	// it down is.
	if from == Unknown && to == Up {
		return Notice{}, false
	}
	return n, true
}

// Resume clears a suspension and the ERR count; the established state
// stays. It returns a NoticeResumed, or false when the check was not
// suspended.
func (m *Machine) Resume(at time.Time, by string) (Notice, bool) {
	if !m.suspended {
		return Notice{}, false
	}
	m.suspended, m.errs, m.pending = false, nil, nil
	return Notice{Kind: NoticeResumed, At: at, By: by}, true
}

// polarity is the state a result that is not ERR speaks for: Up for OK,
// Down for NG and WR.
func polarity(r netcheck.Result) State {
	if r.Status == netcheck.OK {
		return Up
	}
	return Down
}
