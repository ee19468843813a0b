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

// TestSnapshotRestore cuts every sequence at every point, restores a new
// machine from the snapshot and feeds it the rest: the notices and the
// final state are those of a machine that never stopped.
func TestSnapshotRestore(t *testing.T) {
	seqs := []string{
		"OK OK NG NG OK OK",
		"OK ERR ERR ERR ERR NG",
		"NG ERR NG OK OK",
		"OK OK NG ERR NG NG",
	}
	for _, seq := range seqs {
		all := strings.Fields(seq)
		want := feed(check.NewMachine(check.MachineConfig{}), seq)
		for cut := range len(all) + 1 {
			t.Run(fmt.Sprintf("%s/cut%d", seq, cut), func(t *testing.T) {
				m := check.NewMachine(check.MachineConfig{})
				var got []string
				for i, s := range all {
					if i == cut {
						m = check.RestoreMachine(check.MachineConfig{}, m.Snapshot())
					}
					r := netcheck.Result{Status: statuses[s], At: t0.Add(time.Duration(i) * 5 * time.Minute)}
					if n, ok := m.Observe(r); ok {
						got = append(got, fmt.Sprintf("%d:%s", i, n.Kind))
					}
				}
				if !slices.Equal(got, want) {
					t.Errorf("restored at %d: notices %v, want %v", cut, got, want)
				}
			})
		}
	}
}

func TestRestoreRepairsSnapshot(t *testing.T) {
	ng := netcheck.Result{Status: netcheck.NG, At: t0}
	m := check.RestoreMachine(check.MachineConfig{}, check.Snapshot{State: check.State(42), Pending: []netcheck.Result{ng, ng, ng}})
	if m.State() != check.Unknown {
		t.Fatalf("state %s, want unknown", m.State())
	}
	if s := m.Snapshot(); len(s.Pending) != 1 {
		t.Fatalf("pending %d results, want the last one only", len(s.Pending))
	}
	if n, ok := m.Observe(netcheck.Result{Status: netcheck.NG, At: t0.Add(time.Minute)}); !ok || n.Kind != check.NoticeDown {
		t.Fatalf("the next NG: %+v %v, want a down notice", n, ok)
	}
}
