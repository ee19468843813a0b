package collector

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fake is a collector at the OS edge: it fills one field, or blocks without
// honouring its context until released, or panics.
type fake struct {
	name string
	fill func(*Sample)
	err  error
	// block, when non-nil, holds Collect until it is closed, whatever ctx says.
	block chan struct{}
	// entered, when non-nil, receives once Collect has started.
	entered chan struct{}
	panics  bool
}

func (f *fake) Name() string { return f.name }

func (f *fake) Collect(_ context.Context, s *Sample) error {
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	if f.block != nil {
		<-f.block
	}
	if f.panics {
		panic("boom")
	}
	if f.fill != nil {
		f.fill(s)
	}
	return f.err
}

func members(timeout time.Duration, cs ...Collector) []*member {
	ms := make([]*member, len(cs))
	for i, c := range cs {
		ms[i] = &member{name: c.Name(), c: c, timeout: timeout}
	}
	return ms
}

func fillMem(s *Sample)  { s.Metrics.MemTotal = 42 }
func fillHost(s *Sample) { s.Facts.Hostname = "web01" }

// collectorsOf returns the failing collector of each error, in order.
func collectorsOf(t *testing.T, errs []error) []string {
	t.Helper()
	var out []string
	for _, err := range errs {
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v is not a *collector.Error", err)
		}
		out = append(out, e.Collector)
	}
	return out
}

func TestCollectStuckCollectorDoesNotStopOthers(t *testing.T) {
	stuck := &fake{name: "stuck", block: make(chan struct{}), entered: make(chan struct{}, 2)}
	set := newSet(members(50*time.Millisecond,
		&fake{name: "memory", fill: fillMem},
		stuck,
		&fake{name: "host", fill: fillHost},
	), nil)
	var released bool
	release := func() {
		if !released {
			close(stuck.block)
			released = true
		}
	}
	t.Cleanup(release)

	start := time.Now()
	s, errs := set.Collect(context.Background())
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Collect took %v with a 50ms timeout", took)
	}
	if s.Metrics.MemTotal != 42 || s.Facts.Hostname != "web01" {
		t.Errorf("sample %v: want the other collectors' figures", s)
	}
	if len(errs) != 1 || !errors.Is(errs[0], ErrTimeout) ||
		errs[0].Error() != "collector stuck: timed out after 50ms" {
		t.Fatalf("errs = %v, want one: collector stuck: timed out after 50ms", errs)
	}
	<-stuck.entered

	// Still stuck: the next round skips it rather than start another.
	s, errs = set.Collect(context.Background())
	if len(errs) != 1 || !errors.Is(errs[0], ErrBusy) || !strings.HasPrefix(errs[0].Error(), "collector stuck: ") {
		t.Fatalf("second round errs = %v, want stuck busy", errs)
	}
	if s.Metrics.MemTotal != 42 {
		t.Errorf("second round lost the others' figures: %v", s)
	}
	select {
	case <-stuck.entered:
		t.Fatal("a second Collect of the stuck collector was started")
	default:
	}

	// Once it returns it runs again.
	release()
	waitIdle(t, set)
	if _, errs := set.Collect(context.Background()); len(errs) != 0 {
		t.Errorf("after release errs = %v, want none", errs)
	}
}

func TestCollectErrorsAndPanics(t *testing.T) {
	boom := errors.New("boom")
	set := newSet(members(time.Second,
		&fake{name: "memory", fill: fillMem},
		&fake{name: "partial", fill: fillHost, err: boom},
		&fake{name: "panicky", fill: func(s *Sample) { s.Metrics.SwapTotal = 1 }, panics: true},
	), nil)
	s, errs := set.Collect(context.Background())
	if got, want := collectorsOf(t, errs), []string{"partial", "panicky"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("failing collectors %q, want %q", got, want)
	}
	if !errors.Is(errs[0], boom) || errs[0].Error() != "collector partial: boom" {
		t.Errorf("errs[0] = %v, want collector partial: boom", errs[0])
	}
	if !errors.Is(errs[1], ErrPanic) || !strings.HasPrefix(errs[1].Error(), "collector panicky: panicked: ") {
		t.Errorf("errs[1] = %v, want collector panicky: panicked: ...", errs[1])
	}
	// A failing collector's partial figures are kept; a panicking one's are not.
	if s.Metrics.MemTotal != 42 || s.Facts.Hostname != "web01" || s.Metrics.SwapTotal != 0 {
		t.Errorf("sample %v: want mem total 42, hostname web01, swap total 0", s)
	}
}

func TestCollectCancelledContext(t *testing.T) {
	set := newSet(members(time.Second,
		&fake{name: "a", block: make(chan struct{})}, // never released; ctx ends first
		&fake{name: "b", block: make(chan struct{})},
	), nil)
	t.Cleanup(func() {
		for _, m := range set.members {
			close(m.c.(*fake).block)
		}
		waitIdle(t, set)
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, errs := set.Collect(ctx)
	if s == nil || s.Metrics == nil || s.Facts == nil {
		t.Fatalf("sample %v: want an empty, non-nil sample", s)
	}
	if got, want := collectorsOf(t, errs), []string{"a", "b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("failing collectors %q, want %q", got, want)
	}
	for _, err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%v: want context.Canceled", err)
		}
	}
}

func TestNames(t *testing.T) {
	set, err := New(Default(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := set.Names(), []string{"cpu", "disk", "host", "load", "memory"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	cfg := Default()
	cfg.Load.Enabled = false
	cfg.Disk.Enabled = false
	set, err = New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := set.Names(), []string{"cpu", "host", "memory"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names() with load and disk disabled = %q, want %q", got, want)
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	cfg := Default()
	cfg.Memory.Timeout = 0
	if set, err := New(cfg, nil); set != nil || err == nil || err.Error() != "collectors.memory.timeout: must be > 0" {
		t.Errorf("New = %v, %v; want nil, collector.memory.timeout: must be > 0", set, err)
	}
}

// waitIdle waits until no collector of set is still running.
func waitIdle(t *testing.T, set *Set) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, m := range set.members {
		for m.running.Load() {
			if time.Now().After(deadline) {
				t.Fatalf("collector %s still running", m.name)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// TestCollectBackToBack checks that a collector that returned in time is
// never reported busy in the next round.
func TestCollectBackToBack(t *testing.T) {
	set := newSet(members(time.Second, &fake{name: "memory", fill: fillMem}), nil)
	for i := range 2000 {
		if _, errs := set.Collect(context.Background()); len(errs) != 0 {
			t.Fatalf("round %d: %v", i, errs)
		}
	}
}
