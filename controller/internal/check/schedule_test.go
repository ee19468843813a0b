package check_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/check"
	"github.com/vigil-rmm/vigil/internal/netcheck"
)

// sim drives a Scheduler on a fake clock: each run takes dur(id).
type sim struct {
	s       *check.Scheduler
	now     time.Time
	dur     func(id string) time.Duration
	running map[string]time.Time // id -> end of its run
	starts  map[string][]time.Time
	onStart func(id string, at time.Time)
}

func newSim(workers int, dur func(string) time.Duration) *sim {
	return &sim{s: check.NewScheduler(workers), now: t0, dur: dur,
		running: map[string]time.Time{}, starts: map[string][]time.Time{}}
}

// until runs the simulation to end.
func (m *sim) until(end time.Time) {
	for {
		for _, id := range m.s.Due(m.now) {
			m.running[id] = m.now.Add(m.dur(id))
			m.starts[id] = append(m.starts[id], m.now)
			if m.onStart != nil {
				m.onStart(id, m.now)
			}
		}
		var next time.Time
		for _, e := range m.running {
			if next.IsZero() || e.Before(next) {
				next = e
			}
		}
		if d, ok := m.s.Next(); ok && d.After(m.now) && (next.IsZero() || d.Before(next)) {
			next = d
		}
		if next.IsZero() || next.After(end) {
			m.now = end
			return
		}
		m.now = next
		var ended []string
		for id, e := range m.running {
			if !e.After(m.now) {
				ended = append(ended, id)
			}
		}
		slices.Sort(ended)
		for _, id := range ended {
			delete(m.running, id)
			m.s.Done(id, m.now)
		}
	}
}

func TestPhaseSpread(t *testing.T) {
	const n, buckets = 10000, 10
	iv := check.DefaultInterval
	var count [buckets]int
	for i := range n {
		id := fmt.Sprintf("chk-%06d", i)
		p := check.Phase(id, iv)
		if p < 0 || p >= iv || p != check.Phase(id, iv) {
			t.Fatalf("phase of %s: %v (not stable or out of range)", id, p)
		}
		count[p*buckets/iv]++
	}
	for b, c := range count {
		if c < n/buckets*8/10 || c > n/buckets*12/10 {
			t.Errorf("bucket %d holds %d of %d phases: %v", b, c, n, count)
		}
	}
}

func TestSchedulerOnTime(t *testing.T) {
	m := newSim(4, func(string) time.Duration { return time.Second })
	ids := []string{"a", "b", "c", "d", "e", "f"}
	for _, id := range ids {
		m.s.Add(id, 0, t0)
	}
	m.until(t0.Add(time.Hour))
	for _, id := range ids {
		st := m.starts[id]
		first := st[0]
		if first.Before(t0) || !first.Before(t0.Add(check.DefaultInterval)) ||
			first.Sub(t0.Truncate(check.DefaultInterval)) != check.Phase(id, check.DefaultInterval) {
			t.Errorf("%s: first run at %v, want its slot", id, first)
		}
		if len(st) != 12 {
			t.Errorf("%s: %d runs in an hour, want 12", id, len(st))
		}
		for i := 1; i < len(st); i++ {
			if st[i].Sub(st[i-1]) != check.DefaultInterval {
				t.Errorf("%s: runs %v apart", id, st[i].Sub(st[i-1]))
			}
		}
		if s, _ := m.s.Stretch(id); s.Ratio() != 1 || s.Late != 0 {
			t.Errorf("%s: stretch %+v ratio %v, want none", id, s, s.Ratio())
		}
	}
}

// TestSchedulerStretch: one worker, ten checks of one minute each every
// five minutes is twice the capacity. Intervals stretch to about ten
// minutes, each check still runs in turn, nothing piles up, and the
// stretch goes away when runs get short again.
func TestSchedulerStretch(t *testing.T) {
	long := true
	m := newSim(1, func(string) time.Duration {
		if long {
			return time.Minute
		}
		return time.Second
	})
	var ids []string
	for i := range 10 {
		ids = append(ids, fmt.Sprintf("chk-%d", i))
		m.s.Add(ids[i], 5*time.Minute, t0)
	}
	maxBacklog := 0
	m.onStart = func(string, time.Time) { maxBacklog = max(maxBacklog, m.s.Backlog(m.now)) }
	m.until(t0.Add(2 * time.Hour))
	for _, id := range ids {
		s, _ := m.s.Stretch(id)
		n := len(m.starts[id])
		t.Logf("%s: %d runs, last effective interval %v (ratio %.2f), started %v late", id, n, s.Effective, s.Ratio(), s.Late)
		if s.Ratio() < 1.8 || s.Ratio() > 2.4 || n < 10 || n > 14 {
			t.Errorf("%s: stretch %+v ratio %.2f, %d runs in 2h; want about 2 and 12", id, s, s.Ratio(), n)
		}
	}
	if maxBacklog > len(ids) {
		t.Errorf("backlog reached %d, more than the %d checks", maxBacklog, len(ids))
	}

	long = false
	m.until(t0.Add(3 * time.Hour))
	for _, id := range ids {
		if s, _ := m.s.Stretch(id); s.Ratio() != 1 || s.Late != 0 {
			t.Errorf("%s: after the load went: stretch %+v ratio %.2f, want 1", id, s, s.Ratio())
		}
	}
}

func TestSchedulerRunNowAndRemove(t *testing.T) {
	s := check.NewScheduler(1)
	s.Add("a", time.Hour, t0)
	s.Add("b", time.Hour, t0)
	now := t0.Add(time.Minute)
	s.RunNow("a", now)
	if got := s.Due(now); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("due after RunNow: %v", got)
	}
	s.RunNow("b", now)
	s.Remove("a") // removed while running: its worker stays busy until Done
	if got := s.Due(now); len(got) != 0 {
		t.Fatalf("started %v while the only worker is busy", got)
	}
	s.Done("a", now.Add(time.Second))
	if got := s.Due(now.Add(time.Second)); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("due after the removed run ended: %v", got)
	}
	if _, ok := s.Stretch("a"); ok {
		t.Fatal("a removed check still has a stretch")
	}
}

// TestTimeline drives a check through an outage, a recovery, a name that
// stops resolving and a resume, on the scheduler's clock: failure at t,
// notice at t + 2 intervals, suspension after 4 ERR, resume at once.
func TestTimeline(t *testing.T) {
	const id = "chk-web"
	iv := check.DefaultInterval
	// The first slot of the check at or after t0, and every run after it.
	slot := t0.Truncate(iv).Add(check.Phase(id, iv))
	if slot.Before(t0) {
		slot = slot.Add(iv)
	}
	outage := slot.Add(3*iv + time.Second)    // just after the 4th run
	recovered := outage.Add(30 * time.Minute) // the target is back
	broken := recovered.Add(30 * time.Minute) // its name stops resolving
	status := func(at time.Time) netcheck.Status {
		switch {
		case at.Before(outage):
			return netcheck.OK
		case at.Before(recovered):
			return netcheck.NG
		case at.Before(broken):
			return netcheck.OK
		}
		return netcheck.ERR
	}

	m := newSim(1, func(string) time.Duration { return time.Second })
	mach := check.NewMachine(check.MachineConfig{})
	var notices []check.Notice
	m.onStart = func(id string, at time.Time) {
		if n, ok := mach.Observe(netcheck.Result{Status: status(at), At: at}); ok {
			notices = append(notices, n)
			if n.Kind == check.NoticeSuspended {
				m.s.Remove(id)
			}
		}
	}
	m.s.Add(id, iv, t0)
	m.until(broken.Add(2 * time.Hour))

	if len(notices) != 3 {
		t.Fatalf("notices %v, want down, up, suspended", notices)
	}
	down, up, susp := notices[0], notices[1], notices[2]
	// The first failing run is one interval after the last good one; the
	// notice comes with the second, at most two intervals after the
	// outage began.
	if down.Kind != check.NoticeDown || !down.At.Equal(slot.Add(5*iv)) || down.At.Sub(outage) > 2*iv {
		t.Errorf("down notice %s at %v (outage %v), want at %v", down.Kind, down.At, outage, slot.Add(5*iv))
	}
	if up.Kind != check.NoticeUp || up.At.Sub(recovered) > 2*iv || up.At.Sub(recovered) <= iv {
		t.Errorf("up notice %s at %v, recovered %v", up.Kind, up.At, recovered)
	}
	if susp.Kind != check.NoticeSuspended || len(susp.Results) != 4 ||
		susp.At.Sub(susp.Results[0].At) != 3*iv || susp.Results[0].At.Sub(broken) > iv {
		t.Errorf("suspend notice %+v", susp)
	}
	if _, ok := m.s.Next(); ok {
		t.Fatal("a suspended check is still scheduled")
	}

	// `check resume`: the check runs at once, then on its slots again.
	resumeAt := m.now
	if n, ok := mach.Resume(resumeAt, "alice"); !ok || n.Kind != check.NoticeResumed || n.By != "alice" {
		t.Fatalf("resume: %+v %v", n, ok)
	}
	m.s.Add(id, iv, resumeAt)
	m.s.RunNow(id, resumeAt)
	before := len(m.starts[id])
	m.until(resumeAt.Add(iv))
	if got := m.starts[id][before]; !got.Equal(resumeAt) {
		t.Errorf("first run after resume at %v, want at once (%v)", got, resumeAt)
	}
}

// TestSchedulerLateStartsKeepSlots: runs that start a little after their
// slot (a worker's wake-up, a busy machine) keep every slot; the next run
// is counted from the slot, not from the start. A check edited right
// after a run does not run that slot again.
func TestSchedulerLateStartsKeepSlots(t *testing.T) {
	s := check.NewScheduler(1)
	iv := 5 * time.Minute
	s.Add("a", iv, t0)
	var starts []time.Time
	for len(starts) < 12 {
		due, ok := s.Next()
		if !ok {
			t.Fatal("nothing scheduled")
		}
		start := due.Add(300 * time.Millisecond)
		if ids := s.Due(start); len(ids) != 1 {
			t.Fatalf("due at %v: %v", start, ids)
		}
		starts = append(starts, due)
		s.Done("a", start.Add(2*time.Second))
		if len(starts) == 6 {
			s.Add("a", iv, start.Add(2*time.Second)) // edited just after a run
		}
	}
	for i := 1; i < len(starts); i++ {
		if d := starts[i].Sub(starts[i-1]); d != iv {
			t.Fatalf("run %d came %v after the one before, want %v (slots %v)", i, d, iv, starts)
		}
	}
}
