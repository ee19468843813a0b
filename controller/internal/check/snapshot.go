package check

import (
	"slices"

	"github.com/vigil-rmm/vigil/internal/netcheck"
)

// Snapshot is everything a Machine holds, so the checker can persist it
// after every run and restore it after a restart: a controller restarted
// in the middle of an outage still sends the down notice at the next
// failing run, and not a second time.
type Snapshot struct {
	State     State
	Suspended bool
	// Pending are the consecutive results disagreeing with State, oldest
	// first; Errs the consecutive ERR results.
	Pending []netcheck.Result
	Errs    []netcheck.Result
}

// Snapshot returns a copy of the machine's state.
func (m *Machine) Snapshot() Snapshot {
	return Snapshot{State: m.state, Suspended: m.suspended, Pending: slices.Clone(m.pending), Errs: slices.Clone(m.errs)}
}

// RestoreMachine returns a machine holding s. Values a stored snapshot
// cannot have come from this code are repaired rather than trusted: an
// unknown state reads as Unknown, and runs longer than the configuration
// allows are cut to their latest results, so the next result decides.
func RestoreMachine(cfg MachineConfig, s Snapshot) *Machine {
	m := NewMachine(cfg)
	switch s.State {
	case Up, Down:
		m.state = s.State
	}
	m.suspended = s.Suspended
	if !m.suspended {
		m.pending = lastN(s.Pending, m.cfg.Confirm-1)
		m.errs = lastN(s.Errs, m.cfg.SuspendErr-1)
	}
	return m
}

// lastN returns a copy of the last n elements of rs.
func lastN(rs []netcheck.Result, n int) []netcheck.Result {
	if n <= 0 || len(rs) == 0 {
		return nil
	}
	if len(rs) > n {
		rs = rs[len(rs)-n:]
	}
	return slices.Clone(rs)
}
