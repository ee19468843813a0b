package service

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// showTimeout bounds the state read after an action timed out.
const showTimeout = 10 * time.Second

// State is a Windows service state (SERVICE_STOPPED …, as svc.State).
type State uint32

// States.
const (
	Stopped         State = 1
	StartPending    State = 2
	StopPending     State = 3
	Running         State = 4
	ContinuePending State = 5
	PausePending    State = 6
	Paused          State = 7
)

var stateNames = map[State]string{
	Stopped: "stopped", StartPending: "start_pending", StopPending: "stop_pending", Running: "running",
	ContinuePending: "continue_pending", PausePending: "pause_pending", Paused: "paused",
}

func (s State) String() string {
	if n, ok := stateNames[s]; ok {
		return n
	}
	return fmt.Sprintf("state_%d", uint32(s))
}

func (s State) pending() bool {
	return s == StartPending || s == StopPending || s == ContinuePending || s == PausePending
}

// Status is a service's status (svc.Status, the fields used here).
type Status struct {
	State State
	// Win32ExitCode is set when the service stopped with an error.
	Win32ExitCode uint32
}

// Manager is the Windows service control manager, the OS edge.
type Manager interface {
	// Open opens the named service; ErrNotFound when there is none.
	Open(name string) (Handle, error)
}

// Handle is one opened service.
type Handle interface {
	Query() (Status, error)
	// Start asks the SCM to start the service.
	Start() error
	// Stop sends SERVICE_CONTROL_STOP.
	Stop() error
	Close() error
}

// scm performs prm through the Windows SCM. It never returns an error:
// failures are in the outcome.
func (p *Plugin) scm(ctx context.Context, prm params) (outcome, error) {
	var o outcome
	h, err := p.cfg.Manager.Open(prm.name)
	if err != nil {
		o.detail.Error = err.Error()
		return o, nil
	}
	defer h.Close()
	before, err := h.Query()
	if err != nil {
		o.detail.Error = "query: " + err.Error()
		return o, nil
	}
	o.detail.StateBefore = before.State.String()
	err = control(ctx, h, prm.action, p.cfg.Poll)
	// The state after is read even when the action timed out.
	if after, qerr := h.Query(); qerr == nil {
		o.detail.StateAfter = after.State.String()
	} else if err == nil {
		err = fmt.Errorf("query: %w", qerr)
	}
	if err != nil {
		o.detail.Error = err.Error()
		return o, nil
	}
	o.ok = true
	return o, nil
}

// control drives h to the state action asks for and waits for it.
func control(ctx context.Context, h Handle, action string, poll time.Duration) error {
	switch action {
	case ActionStatus:
		return nil
	case ActionStart:
		return start(ctx, h, poll)
	case ActionStop:
		return stop(ctx, h, poll)
	case ActionRestart:
		if err := stop(ctx, h, poll); err != nil {
			return err
		}
		return start(ctx, h, poll)
	}
	return fmt.Errorf("unknown action %q", action)
}

// errDied is a service that stopped while it was being started.
var errDied = errors.New("service stopped while starting")

func start(ctx context.Context, h Handle, poll time.Duration) error {
	s, err := settle(ctx, h, poll)
	if err != nil {
		return err
	}
	switch s.State {
	case Running:
		return nil
	case Paused:
		return errors.New("service is paused")
	}
	if err := h.Start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	s, err = settle(ctx, h, poll)
	if err != nil {
		return err
	}
	if s.State != Running {
		return fmt.Errorf("%w (state %s, exit code %d)", errDied, s.State, s.Win32ExitCode)
	}
	return nil
}

func stop(ctx context.Context, h Handle, poll time.Duration) error {
	s, err := settle(ctx, h, poll)
	if err != nil {
		return err
	}
	if s.State == Stopped {
		return nil
	}
	if err := h.Stop(); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	s, err = settle(ctx, h, poll)
	if err != nil {
		return err
	}
	if s.State != Stopped {
		return fmt.Errorf("service is %s after stop", s.State)
	}
	return nil
}

// settle polls h until its state is not a pending one, or ctx ends.
func settle(ctx context.Context, h Handle, poll time.Duration) (Status, error) {
	for {
		s, err := h.Query()
		if err != nil {
			return s, fmt.Errorf("query: %w", err)
		}
		if !s.State.pending() {
			return s, nil
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return s, fmt.Errorf("still %s: %w", s.State, ctx.Err())
		case <-t.C:
		}
	}
}
