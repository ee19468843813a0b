package checker

import "time"

// Clock is the runner's time source. Tests drive the runner with a fake
// one; production uses SystemClock.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// At returns a channel that receives once the clock reaches t (at
	// once when it already has).
	At(t time.Time) <-chan time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

var _ Clock = SystemClock{}

// Now implements Clock.
func (SystemClock) Now() time.Time { return time.Now() }

// At implements Clock. The timer is not stopped: an unreferenced timer is
// collected, and the runner asks for at most one per loop iteration.
func (SystemClock) At(t time.Time) <-chan time.Time { return time.NewTimer(time.Until(t)).C }
