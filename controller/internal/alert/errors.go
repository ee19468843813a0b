package alert

import (
	"errors"
	"fmt"
)

// Errors, wrapped with detail; controller/internal/apierr maps them to
// gRPC codes once the manage API serves rules.
var (
	// ErrInvalid means a rule field is malformed; the FieldError that wraps
	// it names the field and the fix.
	ErrInvalid = errors.New("invalid rule")
	// ErrNoAlert means an acknowledgement named an alert that is not firing
	// (it recovered, or a newer incident replaced it).
	ErrNoAlert = errors.New("no such firing alert")
)

// FieldError is one problem with one rule field. It wraps ErrInvalid.
type FieldError struct {
	// Field is the field's path as a later proto will name it
	// ("metric.threshold", "activation.hours[1]").
	Field string
	// Problem says what is wrong and what to do.
	Problem string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Problem) }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }
