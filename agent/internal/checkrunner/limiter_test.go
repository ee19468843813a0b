package checkrunner

import (
	"strings"
	"testing"
	"time"
)

func TestLimiterPerCheck(t *testing.T) {
	l := newLimiter()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	steps := []struct {
		at     time.Duration
		check  string
		reason string
	}{
		{0, "a", ""},
		{time.Second, "a", "check a ran 1s ago"},
		{time.Second, "b", ""},
		{PerCheckEvery - CheckSlack - time.Millisecond, "a", "rate limited"},
		{PerCheckEvery - CheckSlack, "a", ""}, // a little early: delivery jitter
		{PerCheckEvery - CheckSlack + time.Second, "a", "rate limited"},
		{2 * PerCheckEvery, "a", ""},
	}
	for _, s := range steps {
		got := l.allow(t0.Add(s.at), s.check)
		if (got == "") != (s.reason == "") || !strings.Contains(got, s.reason) {
			t.Fatalf("at %s check %s: %q, want %q", s.at, s.check, got, s.reason)
		}
	}
}

func TestLimiterPerMinute(t *testing.T) {
	l := newLimiter()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for i := range PerMinute {
		if why := l.allow(t0.Add(time.Duration(i)*100*time.Millisecond), "c"+string(rune('A'+i%26))+string(rune('a'+i/26))); why != "" {
			t.Fatalf("run %d refused: %s", i, why)
		}
	}
	if why := l.allow(t0.Add(30*time.Second), "new"); !strings.Contains(why, "60 runs in the last minute") {
		t.Fatalf("run 61 within the minute: %q, want refused", why)
	}
	// A minute after the first run, one slot is free again.
	if why := l.allow(t0.Add(time.Minute), "new"); why != "" {
		t.Fatalf("a minute later: %q, want allowed", why)
	}
	if why := l.allow(t0.Add(time.Minute+10*time.Millisecond), "newer"); why == "" {
		t.Fatal("second run a minute later allowed; only one slot was free")
	}
	if len(l.last) > PerMinute+1 {
		t.Fatalf("limiter remembers %d checks", len(l.last))
	}
}

func TestLimiterRefusals(t *testing.T) {
	l := newLimiter()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	n := 0
	for i := range 2 * RefusalsPerMinute {
		if l.refusalOK(t0.Add(time.Duration(i) * time.Millisecond)) {
			n++
		}
	}
	if n != RefusalsPerMinute {
		t.Fatalf("%d refusals reported in a minute, want %d", n, RefusalsPerMinute)
	}
	if !l.refusalOK(t0.Add(time.Minute)) {
		t.Fatal("no refusal reported a minute later")
	}
}
