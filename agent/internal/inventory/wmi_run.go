package inventory

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// wmiJob is one WMI class query. run executes on a goroutine of its own
// and must write only memory nobody else reads: it hands its result over
// through commit, which runWMIJobs calls on the caller's goroutine when run
// finished in time.
type wmiJob struct {
	class string
	run   func() (commit func(), err error)
}

// wmiJobFor makes a job that runs query into a fresh slice and, when it
// succeeds in time, stores the slice in *out.
func wmiJobFor[T any](class string, query func(class string, dst *[]T) error, out *[]T) wmiJob {
	return wmiJob{class: class, run: func() (func(), error) {
		var dst []T
		if err := query(class, &dst); err != nil {
			return nil, err
		}
		return func() { *out = dst }, nil
	}}
}

// errWMIHung is the error for a job not started because an earlier one
// timed out.
var errWMIHung = errors.New("skipped: an earlier WMI query is still running")

// runWMIJobs runs jobs one at a time, each on its own goroutine and each
// bounded by timeout, and returns one "wmi <class>: <reason>" line per job
// that failed. A WMI query cannot be cancelled, so a timed-out query's
// goroutine is abandoned (it exits if the query ever returns). The wmi
// package serializes queries behind a global lock that the abandoned query
// still holds (platform-notes §3.2), so after a timeout the remaining jobs
// are not started: each would only wait out its own timeout. Jobs run one
// at a time for the same reason: in parallel they would queue on that lock
// and spend their timeouts waiting. When ctx ends, the remaining jobs are
// skipped with ctx's error.
func runWMIJobs(ctx context.Context, timeout time.Duration, jobs []wmiJob) []string {
	type result struct {
		commit func()
		err    error
	}
	var errs []string
	hung := ""
	for _, j := range jobs {
		if hung != "" {
			errs = append(errs, fmt.Sprintf("wmi %s: %v (%s timed out)", j.class, errWMIHung, hung))
			continue
		}
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Sprintf("wmi %s: %v", j.class, err))
			continue
		}
		done := make(chan result, 1)
		go func() {
			commit, err := j.run()
			done <- result{commit, err}
		}()
		timer := time.NewTimer(timeout)
		select {
		case r := <-done:
			if r.err != nil {
				errs = append(errs, fmt.Sprintf("wmi %s: %v", j.class, r.err))
			} else {
				r.commit()
			}
		case <-timer.C:
			errs = append(errs, fmt.Sprintf("wmi %s: timeout after %v", j.class, timeout))
			hung = j.class
		case <-ctx.Done():
			errs = append(errs, fmt.Sprintf("wmi %s: %v", j.class, ctx.Err()))
		}
		timer.Stop()
	}
	return errs
}
