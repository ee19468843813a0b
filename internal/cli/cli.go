// Package cli holds the exit-code convention every vigil binary follows:
// 0 success (help included), 1 an error, 2 a usage error. Commands return
// errors; main turns them into a message and an exit code in one place.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// Exit codes.
const (
	OK    = 0
	Error = 1
	Usage = 2
)

// UsageError marks a mistake in how the command was called.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError.
func Usagef(format string, args ...any) error {
	return UsageError{fmt.Errorf(format, args...)}
}

// Code returns the exit code for err.
func Code(err error) int {
	var ue UsageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return OK
	case errors.As(err, &ue):
		return Usage
	}
	return Error
}

// Exit prints err (if it is not help) as "prog: err" to w and returns the
// exit code. format, if not nil, renders the message.
func Exit(prog string, err error, w io.Writer, format func(error) string) int {
	code := Code(err)
	if code != OK {
		msg := err.Error()
		if format != nil {
			msg = format(err)
		}
		fmt.Fprintf(w, "%s: %s\n", prog, msg)
	}
	return code
}

// Parse parses fs, turning a bad flag into a UsageError; -h returns
// flag.ErrHelp (exit 0).
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return UsageError{err}
	}
	return nil
}
