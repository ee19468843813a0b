package notify

import (
	"errors"
	"fmt"
)

// ErrInvalid means a notification handed to Enqueue is malformed; the
// message names the field.
var ErrInvalid = errors.New("notify: invalid notification")

// ErrOutcomeUnknown means a send was interrupted after the request left:
// the provider may or may not have taken the message. An SMS in this state
// is never retried.
var ErrOutcomeUnknown = errors.New("outcome unknown")

// ErrNotConfigured means the channel a delivery needs (SMTP relay, SMS
// provider) is not configured.
var ErrNotConfigured = errors.New("not configured")

// permanentError marks an error retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as one retrying cannot fix: a 5xx SMTP reply, an
// HTTP 4xx other than 408 and 429, an invalid address.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked by
// Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}
