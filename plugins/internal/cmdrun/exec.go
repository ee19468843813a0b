package cmdrun

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// drainWait is how long Run waits for the output pipes to close after the
// command and its group were killed; a process that left the group (a
// daemon) may hold them open.
const drainWait = 2 * time.Second

// Exec runs commands as OS processes.
type Exec struct{}

var _ Runner = Exec{}

// Run implements Runner.
func (Exec) Run(ctx context.Context, c Cmd, out func(Line) error) (int, error) {
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return -1, fmt.Errorf("%w: %w", ErrStart, err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return -1, fmt.Errorf("%w: %w", ErrStart, err)
	}
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Env, cmd.Dir = c.Env, c.Dir
	cmd.Stdout, cmd.Stderr = outW, errW
	setGroup(cmd)
	tree, err := start(cmd)
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return -1, fmt.Errorf("%w: %s: %w", ErrStart, c.Path, err)
	}
	defer tree.close()

	// stop ends the run early: the first reason wins.
	var (
		stopOnce sync.Once
		stopErr  error
	)
	stop := func(err error) {
		stopOnce.Do(func() {
			stopErr = err
			tree.kill()
		})
	}
	var mu sync.Mutex // serializes out
	send := func(l Line) {
		mu.Lock()
		defer mu.Unlock()
		if stopErr != nil {
			return
		}
		if err := out(l); err != nil {
			stop(err)
		}
	}
	var readers sync.WaitGroup
	readers.Go(func() { readLines(outR, Stdout, send) })
	readers.Go(func() { readLines(errR, Stderr, send) })

	exited := make(chan struct{})
	watch := sync.WaitGroup{}
	watch.Go(func() {
		select {
		case <-ctx.Done():
			mu.Lock()
			stop(ctx.Err())
			mu.Unlock()
		case <-exited:
		}
	})
	waitErr := cmd.Wait()
	close(exited)
	watch.Wait()
	// Whatever the command left in its group goes with it.
	tree.kill()
	drained := make(chan struct{})
	go func() { readers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainWait):
		outR.Close()
		errR.Close()
		<-drained
	}
	outR.Close()
	errR.Close()

	mu.Lock()
	early := stopErr
	mu.Unlock()
	if early != nil {
		return -1, early
	}
	var ee *exec.ExitError
	switch {
	case waitErr == nil:
		return 0, nil
	case errors.As(waitErr, &ee) && ee.ExitCode() >= 0:
		return ee.ExitCode(), nil
	case errors.As(waitErr, &ee):
		return -1, fmt.Errorf("%w: %s", ErrSignaled, ee.ProcessState)
	}
	return -1, waitErr
}

// readLines passes every line of r to send until r ends.
func readLines(r io.Reader, s Stream, send func(Line)) {
	br := bufio.NewReaderSize(r, MaxLine+1)
	var line []byte
	skipping := false // dropping the rest of an over-long line
	for {
		chunk, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			if !skipping {
				line = append(line, chunk[:len(chunk)-1]...)
				send(Line{Stream: s, Text: cut(line)})
			}
			line, skipping = line[:0], false
			continue
		case errors.Is(err, bufio.ErrBufferFull):
			if !skipping {
				line = append(line, chunk...)
				if len(line) > MaxLine {
					send(Line{Stream: s, Text: cut(line)})
					skipping = true
				}
			}
			continue
		}
		// EOF or a closed pipe: a last line without a newline.
		if !skipping && len(line)+len(chunk) > 0 {
			send(Line{Stream: s, Text: cut(append(line, chunk...))})
		}
		return
	}
}
