// Package cmdrun runs one OS command for a task-runner plugin and streams
// its output line by line.
//
// Exec starts the command in a process group of its own (Unix) or a Job
// Object (Windows). When ctx ends, or when the line callback fails, the
// whole group is killed; when the command exits, whatever it left running
// in its group is killed too, so a task never leaves processes behind.
//
// The command's group is not the plugin's: when the host SIGKILLs the
// plugin's group before the plugin has seen its call cancelled, only the
// command itself dies with the plugin (Linux Pdeathsig); processes it
// started live on. On Windows the command's Job Object nests in the
// plugin's, so the host's job kill reaches everything.
//
// Lines longer than MaxLine bytes are cut (the rest of the line is
// dropped); text a '\r' overwrites is dropped. Standard output and
// standard error are read concurrently; the callback is never called
// concurrently.
//
// Plugins depend on the Runner interface so that tests replace the OS with
// a fake.
package cmdrun

import (
	"bytes"
	"context"
	"strings"
	"unicode/utf8"
)

// MaxLine is the longest line passed to the callback, in bytes.
const MaxLine = 4096

// Stream names the output a line came from.
type Stream int

// Streams.
const (
	// Stdout is standard output.
	Stdout Stream = 1
	// Stderr is standard error.
	Stderr Stream = 2
)

// Line is one line of output, without its line ending.
type Line struct {
	// Stream is where the line came from.
	Stream Stream
	// Text is the line, at most MaxLine bytes, valid UTF-8 replaced where
	// the cut fell inside a character.
	Text string
}

// Cmd is one command.
type Cmd struct {
	// Path is the program, absolute or looked up on the PATH of Env (or of
	// the plugin when Env has none).
	Path string
	// Args are the arguments, without the program name.
	Args []string
	// Env is the complete environment; nil means the plugin's own.
	Env []string
	// Dir is the working directory; "" means the plugin's.
	Dir string
}

// String renders the command for logs and summaries.
func (c Cmd) String() string {
	return strings.Join(append([]string{c.Path}, c.Args...), " ")
}

// Runner runs commands.
type Runner interface {
	// Run runs c to completion, passing each output line to out. It
	// returns the exit code and a nil error when the command ran and
	// exited by itself, whatever the code. It returns a non-nil error
	// (and -1) when the command could not be started (wrapping ErrStart),
	// was killed by a signal (ErrSignaled), when ctx ended (ctx.Err()) or
	// when out failed (that error); in the last two cases the command and
	// its children have been killed.
	Run(ctx context.Context, c Cmd, out func(Line) error) (exitCode int, err error)
}

// Collect returns a callback for Run that appends every line to *lines.
func Collect(lines *[]Line) func(Line) error {
	return func(l Line) error {
		*lines = append(*lines, l)
		return nil
	}
}

// Text joins the lines of stream s with newlines.
func Text(lines []Line, s Stream) string {
	var b strings.Builder
	for _, l := range lines {
		if l.Stream == s {
			b.WriteString(l.Text)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// cut returns b as a string of at most MaxLine bytes, cut at a UTF-8
// boundary. A trailing '\r' is removed, and text before another '\r' is
// dropped, as a terminal would overwrite it (progress counters).
func cut(b []byte) string {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	if i := bytes.LastIndexByte(b, '\r'); i >= 0 {
		b = b[i+1:]
	}
	if len(b) > MaxLine {
		i := MaxLine
		for i > MaxLine-utf8.UTFMax && i > 0 && !utf8.RuneStart(b[i]) {
			i--
		}
		b = b[:i]
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
