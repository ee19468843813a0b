package checkrunner

import (
	"fmt"
	"sync"
	"time"
)

// Rate limits. They bound what a compromised controller could learn
// through this agent, and the load a busy one could put on it.
const (
	// PerCheckEvery is the shortest time between two runs of one check.
	// A run that comes up to CheckSlack early still counts as on time,
	// so a check scheduled every 30 s is not refused for delivery jitter.
	PerCheckEvery = 30 * time.Second
	// CheckSlack is how early a check's next run may come.
	CheckSlack = 2 * time.Second
	// PerMinute is the most runs started in any minute, over all checks.
	PerMinute = 60
	// RefusalsPerMinute is the most refusals reported in any minute;
	// beyond it refusals are only logged, so a flood of requests cannot
	// flood the outbox with answers.
	RefusalsPerMinute = 60
)

// limiter counts runs and refusals with the clock it is given.
type limiter struct {
	mu       sync.Mutex
	last     map[string]time.Time // check id -> start of its last run
	runs     window
	refusals window
}

func newLimiter() *limiter {
	return &limiter{last: map[string]time.Time{}, runs: window{max: PerMinute}, refusals: window{max: RefusalsPerMinute}}
}

// allow records a run of checkID at now and returns "", or says why the
// run may not start.
func (l *limiter) allow(now time.Time, checkID string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if prev, ok := l.last[checkID]; ok && now.Sub(prev) < PerCheckEvery-CheckSlack {
		return fmt.Sprintf("rate limited: check %s ran %s ago; at most one run per %s", checkID,
			now.Sub(prev).Round(time.Millisecond), PerCheckEvery)
	}
	if !l.runs.take(now) {
		return fmt.Sprintf("rate limited: %d runs in the last minute; at most %d", PerMinute, PerMinute)
	}
	l.last[checkID] = now
	// Forget checks whose last run no longer limits anything, so a
	// stream of made-up check ids cannot grow the map: it holds at most
	// the PerMinute runs of the last minute.
	if len(l.last) > PerMinute {
		for id, t := range l.last {
			if now.Sub(t) >= PerCheckEvery {
				delete(l.last, id)
			}
		}
	}
	return ""
}

// refusalOK reports whether one more refusal may be reported at now, and
// counts it.
func (l *limiter) refusalOK(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refusals.take(now)
}

// window counts events in the last minute.
type window struct {
	max   int
	times []time.Time // oldest first, within the last minute
}

// take records an event at now if fewer than max happened in the minute
// before it, and reports whether it did.
func (w *window) take(now time.Time) bool {
	i := 0
	for i < len(w.times) && now.Sub(w.times[i]) >= time.Minute {
		i++
	}
	w.times = w.times[i:]
	if len(w.times) >= w.max {
		return false
	}
	w.times = append(w.times, now)
	return true
}
