package check

import (
	"container/heap"
	"hash/fnv"
	"time"
)

// DefaultInterval is how often a check runs unless configured.
const DefaultInterval = 5 * time.Minute

// Scheduler decides when each check runs. It is pure: every method takes
// the time, so tests drive it with a fake clock; it is not safe for
// concurrent use (the checker's loop owns it).
//
// Each check runs on its own slots: the times whose offset within the
// interval (counted from the Unix epoch) equals the check's phase, a
// stable hash of its id. Checks with the same interval therefore spread
// evenly over it, and keep their slots across restarts.
//
// At most Workers runs are started at once. A due check waits for a free
// worker; it is never queued twice. When a run starts late, its next run
// is the first slot at least one interval after that start, so under
// load every interval stretches (to whole slots) instead of runs piling
// up, and Stretch reports by how much.
type Scheduler struct {
	workers int
	running int
	checks  map[string]*entry
	waiting dueHeap // checks not running, earliest due first
	// orphans are checks removed while running: their worker stays
	// counted until their Done.
	orphans map[string]int
}

type entry struct {
	id        string
	interval  time.Duration
	phase     time.Duration
	due       time.Time
	running   bool
	lastStart time.Time
	// slot is the slot the last run was due at; the next is counted from
	// it, not from when the run started, so a run that starts late does
	// not push the schedule back.
	slot    time.Time
	stretch Stretch
	index   int // in waiting; -1 while running
}

// Stretch is how far behind a check's last run was.
type Stretch struct {
	// Interval is the configured interval.
	Interval time.Duration
	// Effective is the time between the last two starts (zero until the
	// check has run twice).
	Effective time.Duration
	// Late is how long after its due time the last run started.
	Late time.Duration
}

// Ratio is Effective over Interval: 1 on time, 2 when the check runs
// half as often as configured; 1 until the check has run twice.
func (s Stretch) Ratio() float64 {
	if s.Effective <= 0 || s.Interval <= 0 {
		return 1
	}
	return float64(s.Effective) / float64(s.Interval)
}

// NewScheduler returns a scheduler for a pool of workers (at least one).
func NewScheduler(workers int) *Scheduler {
	return &Scheduler{workers: max(workers, 1), checks: map[string]*entry{}, orphans: map[string]int{}}
}

// Phase is id's stable offset within interval.
func Phase(id string, interval time.Duration) time.Duration {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	return time.Duration(h.Sum64() % uint64(interval))
}

// Add schedules a check at its first slot from now; interval zero means
// DefaultInterval. Adding a known check changes its interval and moves
// its next run to the new slots (a running check keeps running), but
// never sooner than one interval after its last start: a check edited
// right after a run does not run that slot again.
func (s *Scheduler) Add(id string, interval time.Duration, now time.Time) {
	if interval <= 0 {
		interval = DefaultInterval
	}
	e, ok := s.checks[id]
	if !ok {
		e = &entry{id: id, index: -1}
		s.checks[id] = e
	}
	e.interval, e.phase = interval, Phase(id, interval)
	e.stretch.Interval = interval
	e.due = e.nextSlot(now)
	s.wait(e)
}

// Remove forgets a check (deleted or suspended). A run in progress keeps
// its worker until its Done, which schedules nothing.
func (s *Scheduler) Remove(id string) {
	e, ok := s.checks[id]
	if !ok {
		return
	}
	if e.index >= 0 {
		heap.Remove(&s.waiting, e.index)
	}
	if e.running {
		s.orphans[id]++
	}
	delete(s.checks, id)
}

// RunNow makes a check due at now, ahead of its slot (a resumed check, a
// technician's "run now"). It does nothing to a running check.
func (s *Scheduler) RunNow(id string, now time.Time) {
	e, ok := s.checks[id]
	if !ok || e.running {
		return
	}
	e.due = now
	s.wait(e)
}

// Due returns the checks to start now, earliest due first, at most as
// many as there are free workers, and counts them as running.
func (s *Scheduler) Due(now time.Time) []string {
	var ids []string
	for s.running < s.workers && s.waiting.Len() > 0 && !s.waiting[0].due.After(now) {
		e := heap.Pop(&s.waiting).(*entry)
		e.running = true
		s.running++
		if !e.lastStart.IsZero() {
			e.stretch.Effective = now.Sub(e.lastStart)
		}
		e.stretch.Late = now.Sub(e.due)
		e.lastStart, e.slot = now, e.due
		ids = append(ids, e.id)
	}
	return ids
}

// Done records that a check's run ended at at and schedules its next run
// at the first slot at least one interval after the time the run was due
// (and not before at).
func (s *Scheduler) Done(id string, at time.Time) {
	if s.orphans[id] > 0 {
		if s.orphans[id]--; s.orphans[id] == 0 {
			delete(s.orphans, id)
		}
		s.running--
		return
	}
	e, ok := s.checks[id]
	if !ok || !e.running {
		return
	}
	e.running = false
	s.running--
	e.due = e.nextSlot(at)
	s.wait(e)
}

// Next returns the earliest due time among waiting checks; false when
// none waits. With every worker busy the next start comes only after a
// Done.
func (s *Scheduler) Next() (time.Time, bool) {
	if s.waiting.Len() == 0 {
		return time.Time{}, false
	}
	return s.waiting[0].due, true
}

// Stretch returns how far behind the check's last run was.
func (s *Scheduler) Stretch(id string) (Stretch, bool) {
	e, ok := s.checks[id]
	if !ok {
		return Stretch{}, false
	}
	return e.stretch, true
}

// Backlog counts the checks due at now that wait for a worker.
func (s *Scheduler) Backlog(now time.Time) int {
	n := 0
	for _, e := range s.waiting {
		if !e.due.After(now) {
			n++
		}
	}
	return n
}

// wait puts e on (or moves it within) the waiting heap.
func (s *Scheduler) wait(e *entry) {
	if e.running {
		return
	}
	if e.index >= 0 {
		heap.Fix(&s.waiting, e.index)
		return
	}
	heap.Push(&s.waiting, e)
}

// nextSlot is the slot e runs at next, at or after from: at least one
// interval after the slot its last run was due at (a run that started
// late does not push the schedule back), and after that run's start (a
// run that caught up on a missed slot does not run again at once).
func (e *entry) nextSlot(from time.Time) time.Time {
	if next := e.slot.Add(e.interval); !e.slot.IsZero() && next.After(from) {
		from = next
	}
	due := e.slotFrom(from)
	if !e.lastStart.IsZero() && !due.After(e.lastStart) {
		due = e.slotFrom(e.lastStart.Add(time.Nanosecond))
	}
	return due
}

// slotFrom returns e's first slot at or after t.
func (e *entry) slotFrom(t time.Time) time.Time {
	iv := int64(e.interval)
	r := (t.UnixNano() - int64(e.phase)) % iv
	if r < 0 {
		r += iv
	}
	if r == 0 {
		return t
	}
	return t.Add(time.Duration(iv - r))
}

// dueHeap orders waiting entries by due time, then id for determinism.
type dueHeap []*entry

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].id < h[j].id
}
func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *dueHeap) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *dueHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	e.index = -1
	*h = old[:len(old)-1]
	return e
}
