//go:build unix

package cmdrun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestExecLinesAndExitCode(t *testing.T) {
	var lines []Line
	code, err := Exec{}.Run(t.Context(), Cmd{Path: "sh", Args: []string{"-c", `echo one; echo two >&2; printf 'tail'; exit 3`}}, Collect(&lines))
	if err != nil || code != 3 {
		t.Fatalf("Run = %d, %v; want 3, nil", code, err)
	}
	slices.SortFunc(lines, func(a, b Line) int { return strings.Compare(a.Text, b.Text) })
	want := []Line{{Stdout, "one"}, {Stdout, "tail"}, {Stderr, "two"}}
	if !slices.Equal(lines, want) {
		t.Errorf("lines = %v, want %v", lines, want)
	}
}

func TestExecLongLineCut(t *testing.T) {
	var lines []Line
	script := fmt.Sprintf(`head -c %d /dev/zero | tr '\0' a; echo; echo next`, 3*MaxLine+7)
	if _, err := (Exec{}).Run(t.Context(), Cmd{Path: "sh", Args: []string{"-c", script}}, Collect(&lines)); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || lines[0].Text != strings.Repeat("a", MaxLine) || lines[1].Text != "next" {
		t.Errorf("got %d lines, first %d bytes", len(lines), len(lines[0].Text))
	}
}

func TestExecStartError(t *testing.T) {
	_, err := Exec{}.Run(t.Context(), Cmd{Path: "/nonexistent/prog"}, Collect(new([]Line)))
	if !errors.Is(err, ErrStart) {
		t.Errorf("err = %v, want ErrStart", err)
	}
}

// childPid starts sh with a background sleep and returns the sleep's pid
// through the first line.
func runWithChild(ctx context.Context, out func(Line) error) (int, error) {
	return Exec{}.Run(ctx, Cmd{Path: "sh", Args: []string{"-c", `sleep 300 & echo $!; wait`}}, out)
}

func TestExecCancelKillsChildren(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pid := make(chan int, 1)
	done := make(chan error, 1)
	go func() {
		_, err := runWithChild(ctx, func(l Line) error {
			n, _ := strconv.Atoi(l.Text)
			pid <- n
			return nil
		})
		done <- err
	}()
	child := <-pid
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	waitGone(t, child)
}

func TestExecCallbackErrorStops(t *testing.T) {
	stop := errors.New("host gone")
	var child int
	_, err := runWithChild(t.Context(), func(l Line) error {
		child, _ = strconv.Atoi(l.Text)
		return stop
	})
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want %v", err, stop)
	}
	waitGone(t, child)
}

func TestExecKillsLeftovers(t *testing.T) {
	var lines []Line
	start := time.Now()
	code, err := Exec{}.Run(t.Context(), Cmd{Path: "sh", Args: []string{"-c", `sleep 300 & echo $!`}}, Collect(&lines))
	if err != nil || code != 0 || len(lines) != 1 {
		t.Fatalf("Run = %d, %v, %v", code, err, lines)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run took %v", d)
	}
	child, _ := strconv.Atoi(lines[0].Text)
	waitGone(t, child)
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	if pid <= 1 {
		t.Fatalf("bad pid %d", pid)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := syscall.Kill(pid, 0)
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		zombie := false
		if i := strings.LastIndexByte(string(b), ')'); i >= 0 && len(b) > i+2 {
			zombie = b[i+2] == 'Z'
		}
		if err != nil || zombie {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
