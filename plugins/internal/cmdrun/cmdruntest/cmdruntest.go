// Package cmdruntest is a fake cmdrun.Runner for plugin tests: the OS edge
// answered from rules, with every call recorded.
package cmdruntest

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/vigil-rmm/vigil/plugins/internal/cmdrun"
)

// Rule answers the commands whose base name is Cmd and whose argument list,
// joined with spaces, contains Has.
type Rule struct {
	Cmd, Has string
	// Stdout and Stderr are emitted line by line, stdout first.
	Stdout, Stderr string
	// Code is the exit code.
	Code int
	// Err is returned instead of an exit (cmdrun.ErrStart and the like).
	Err error
	// Hang blocks until ctx ends, after the output, and returns ctx.Err().
	Hang bool
	// Then runs after the output, before the exit (to change fake state).
	Then func()
}

// Fake is a cmdrun.Runner that answers from Rules, the first match winning.
// An unmatched command fails to start.
type Fake struct {
	Rules []Rule

	mu    sync.Mutex
	calls []cmdrun.Cmd
}

var _ cmdrun.Runner = (*Fake)(nil)

// Run implements cmdrun.Runner.
func (f *Fake) Run(ctx context.Context, c cmdrun.Cmd, out func(cmdrun.Line) error) (int, error) {
	f.mu.Lock()
	f.calls = append(f.calls, cmdrun.Cmd{Path: c.Path, Args: slices.Clone(c.Args), Env: slices.Clone(c.Env), Dir: c.Dir})
	f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	line := strings.Join(c.Args, " ")
	for _, r := range f.Rules {
		if r.Cmd != filepath.Base(c.Path) || !strings.Contains(line, r.Has) {
			continue
		}
		for _, s := range []struct {
			stream cmdrun.Stream
			text   string
		}{{cmdrun.Stdout, r.Stdout}, {cmdrun.Stderr, r.Stderr}} {
			for l := range strings.Lines(s.text) {
				if err := out(cmdrun.Line{Stream: s.stream, Text: strings.TrimRight(l, "\r\n")}); err != nil {
					return -1, err
				}
			}
		}
		if r.Then != nil {
			r.Then()
		}
		if r.Hang {
			<-ctx.Done()
			return -1, ctx.Err()
		}
		if r.Err != nil {
			return -1, r.Err
		}
		return r.Code, nil
	}
	return -1, fmt.Errorf("%w: %s: executable file not found", cmdrun.ErrStart, c.Path)
}

// Calls returns the commands run so far.
func (f *Fake) Calls() []cmdrun.Cmd {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Lines returns the commands run so far as "base args...".
func (f *Fake) Lines() []string {
	var out []string
	for _, c := range f.Calls() {
		out = append(out, strings.Join(append([]string{filepath.Base(c.Path)}, c.Args...), " "))
	}
	return out
}
