package cmdrun

import "errors"

// Errors of Runner.Run.
var (
	// ErrStart wraps the reason a command could not be started.
	ErrStart = errors.New("start command")
	// ErrSignaled is a command killed by a signal it did not ask for.
	ErrSignaled = errors.New("command killed by a signal")
)
