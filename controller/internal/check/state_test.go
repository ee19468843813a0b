package check_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/check"
	"github.com/vigil-rmm/vigil/internal/netcheck"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

var statuses = map[string]netcheck.Status{"OK": netcheck.OK, "NG": netcheck.NG, "WR": netcheck.WR, "ERR": netcheck.ERR}

// feed observes the statuses in seq ("OK NG ...") five minutes apart and
// returns the notices as "index:kind".
func feed(m *check.Machine, seq string) []string {
	var got []string
	for i, s := range strings.Fields(seq) {
		r := netcheck.Result{Status: statuses[s], At: t0.Add(time.Duration(i) * 5 * time.Minute)}
		if n, ok := m.Observe(r); ok {
			got = append(got, fmt.Sprintf("%d:%s", i, n.Kind))
		}
	}
	return got
}

func TestMachine(t *testing.T) {
	tests := []struct {
		name    string
		cfg     check.MachineConfig
		seq     string
		notices []string
		state   check.State
		susp    bool
	}{
		{"new check finds its target up: no notice", check.MachineConfig{}, "OK OK OK", nil, check.Up, false},
		{"one result establishes nothing", check.MachineConfig{}, "NG", nil, check.Unknown, false},
		{"new check finds its target down", check.MachineConfig{}, "NG NG", []string{"1:down"}, check.Down, false},
		{"outage", check.MachineConfig{}, "OK OK NG NG NG", []string{"3:down"}, check.Down, false},
		{"WR is a failure too", check.MachineConfig{}, "OK OK WR NG", []string{"3:down"}, check.Down, false},
		{"blips do not notify", check.MachineConfig{}, "OK OK NG OK NG OK WR OK", nil, check.Up, false},
		{"outage and recovery", check.MachineConfig{}, "OK OK NG NG OK OK", []string{"3:down", "5:up"}, check.Up, false},
		{"one good result is no recovery", check.MachineConfig{}, "NG NG OK NG OK OK", []string{"1:down", "5:up"}, check.Up, false},
		{"unknown: a broken run starts again", check.MachineConfig{}, "OK NG NG", []string{"2:down"}, check.Down, false},
		{"ERR neither confirms nor breaks a run", check.MachineConfig{}, "OK OK NG ERR NG", []string{"4:down"}, check.Down, false},
		{"ERR is not a failure", check.MachineConfig{}, "OK OK ERR ERR ERR", nil, check.Up, false},
		{"four ERR suspend", check.MachineConfig{}, "OK OK ERR ERR ERR ERR", []string{"5:suspended"}, check.Up, true},
		{"suspended ignores results", check.MachineConfig{}, "OK OK ERR ERR ERR ERR NG NG", []string{"5:suspended"}, check.Up, true},
		{"other results reset the ERR count", check.MachineConfig{}, "ERR ERR ERR OK ERR ERR ERR NG", nil, check.Unknown, false},
		{"confirm 3", check.MachineConfig{Confirm: 3}, "OK OK OK NG NG OK NG NG NG", []string{"8:down"}, check.Down, false},
		{"confirm 1", check.MachineConfig{Confirm: 1}, "OK NG OK", []string{"1:down", "2:up"}, check.Up, false},
		{"suspend after 2", check.MachineConfig{SuspendErr: 2}, "NG NG ERR ERR", []string{"1:down", "3:suspended"}, check.Down, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := check.NewMachine(tc.cfg)
			got := feed(m, tc.seq)
			if !slices.Equal(got, tc.notices) || m.State() != tc.state || m.Suspended() != tc.susp {
				t.Errorf("%s: notices %v state %s suspended %v; want %v %s %v",
					tc.seq, got, m.State(), m.Suspended(), tc.notices, tc.state, tc.susp)
			}
		})
	}
}

func TestMachineNoticeResults(t *testing.T) {
	m := check.NewMachine(check.MachineConfig{})
	feed(m, "OK OK")
	ng := netcheck.Result{Status: netcheck.NG, At: t0.Add(time.Hour), Detail: "connection refused"}
	wr := netcheck.Result{Status: netcheck.WR, At: t0.Add(time.Hour + 5*time.Minute), Detail: "no reply"}
	m.Observe(ng)
	n, ok := m.Observe(wr)
	if !ok || n.Kind != check.NoticeDown || !n.At.Equal(wr.At) || len(n.Results) != 2 ||
		n.Results[0].Detail != ng.Detail || n.Results[1].Detail != wr.Detail {
		t.Fatalf("down notice %+v %v", n, ok)
	}

	var errs []netcheck.Result
	for i := range 4 {
		errs = append(errs, netcheck.Result{Status: netcheck.ERR, At: t0.Add(2*time.Hour + time.Duration(i)*time.Minute), Detail: "no such host"})
	}
	for _, r := range errs[:3] {
		if n, ok := m.Observe(r); ok {
			t.Fatalf("notice before the 4th ERR: %+v", n)
		}
	}
	n, ok = m.Observe(errs[3])
	if !ok || n.Kind != check.NoticeSuspended || len(n.Results) != 4 || !n.At.Equal(errs[3].At) {
		t.Fatalf("suspend notice %+v %v", n, ok)
	}
	if _, ok := m.Resume(t0.Add(3*time.Hour), ""); !ok {
		t.Fatal("resume of a suspended check: no notice")
	}
	n, ok = m.Resume(t0.Add(3*time.Hour), "alice")
	if ok {
		t.Fatalf("resume of a running check notified: %+v", n)
	}
	if m.Suspended() || m.State() != check.Down {
		t.Fatalf("after resume: suspended %v state %s, want running and still down", m.Suspended(), m.State())
	}
}
