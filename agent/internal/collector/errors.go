package collector

import "errors"

// ErrTimeout means a collector did not return within its timeout. Its
// figures are missing from the Sample; it may still be running.
var ErrTimeout = errors.New("timed out")

// ErrBusy means a collector was skipped because its previous run overran
// its timeout and has not returned yet (stuck in a system call, say).
// Skipping it keeps stuck calls from piling up one per round.
var ErrBusy = errors.New("previous run still in progress")

// ErrPanic means a collector panicked. The Set recovered and dropped the
// collector's partial figures.
var ErrPanic = errors.New("panicked")

// Error is a failure of one collector in a round.
type Error struct {
	// Collector is the failing collector's name.
	Collector string
	// Err is what went wrong; it may be ErrTimeout, ErrBusy or ErrPanic.
	Err error
}

// Error returns "collector <name>: <err>".
func (e *Error) Error() string { return "collector " + e.Collector + ": " + e.Err.Error() }

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }
