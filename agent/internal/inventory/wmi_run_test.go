package inventory

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// winFakeQuery answers a class with rows, an error, or by blocking until
// the test ends (a hung WMI query).
func winFakeQuery(t *testing.T, rows map[string][]string, errs map[string]error, hang map[string]bool) func(string, *[]string) error {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	return func(class string, dst *[]string) error {
		if hang[class] {
			<-release
			*dst = []string{"late"} // must never reach the caller
			return nil
		}
		*dst = rows[class]
		return errs[class]
	}
}

func TestRunWMIJobs(t *testing.T) {
	q := winFakeQuery(t,
		map[string][]string{"A": {"a1"}, "C": {"c1"}, "E": {"e1"}},
		map[string]error{"B": errors.New("access denied")},
		map[string]bool{"D": true})
	var a, b, c, d, e []string
	jobs := []wmiJob{
		wmiJobFor("A", q, &a), wmiJobFor("B", q, &b), wmiJobFor("C", q, &c),
		wmiJobFor("D", q, &d), wmiJobFor("E", q, &e),
	}
	start := time.Now()
	errs := runWMIJobs(t.Context(), 50*time.Millisecond, jobs)
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("took %v", el)
	}
	want := []string{
		"wmi B: access denied",
		"wmi D: timeout after 50ms",
		"wmi E: skipped: an earlier WMI query is still running (D timed out)",
	}
	if !slices.Equal(errs, want) {
		t.Errorf("errs = %q\nwant %q", errs, want)
	}
	if !slices.Equal(a, []string{"a1"}) || b != nil || !slices.Equal(c, []string{"c1"}) || d != nil || e != nil {
		t.Errorf("results a=%v b=%v c=%v d=%v e=%v", a, b, c, d, e)
	}
}

func TestRunWMIJobsCancelled(t *testing.T) {
	q := winFakeQuery(t, map[string][]string{"A": {"a1"}}, nil, map[string]bool{"B": true})
	ctx, cancel := context.WithCancel(t.Context())
	var a, b, c []string
	jobs := []wmiJob{wmiJobFor("A", q, &a), wmiJobFor("B", q, &b), wmiJobFor("C", q, &c)}
	time.AfterFunc(20*time.Millisecond, cancel)
	errs := runWMIJobs(ctx, time.Hour, jobs)
	want := []string{"wmi B: context canceled", "wmi C: context canceled"}
	if !slices.Equal(errs, want) || !slices.Equal(a, []string{"a1"}) || b != nil || c != nil {
		t.Errorf("errs = %q a=%v b=%v c=%v", errs, a, b, c)
	}
}
