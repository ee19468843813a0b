package alerting_test

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigil-rmm/vigil/controller/internal/alert"
	"github.com/vigil-rmm/vigil/controller/internal/alerting"
	"github.com/vigil-rmm/vigil/controller/internal/metrics"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// alertPresence is the fleet as the engine sees it: the one true edge of
// these tests besides the clock.
type alertPresence struct {
	mu     sync.Mutex
	online map[string]bool
}

func (p *alertPresence) Online(id string) (bool, int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.online[id], 0
}

func (p *alertPresence) set(id string, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.online[id] = on
}

// alertRig is a control store and a metrics database in real bbolt files,
// a tenant "acme" (Europe/Paris) with one agent "ag-1" (web-01), a fake
// clock and an engine.
type alertRig struct {
	t        testing.TB
	dir      string
	now      time.Time
	st       *store.Bolt
	mdb      *metrics.DB
	presence *alertPresence
	eng      *alerting.Engine
	seq      uint64
	wakes    int
}

const rigAgent = "ag-1"

func newAlertRig(t testing.TB, start time.Time) *alertRig {
	t.Helper()
	r := &alertRig{t: t, dir: t.TempDir(), now: start, presence: &alertPresence{online: map[string]bool{}}}
	r.open()
	t.Cleanup(r.close)
	r.update(func(tx store.Tx) error {
		if err := schema.PutTenant(tx, &storev1.Tenant{Id: "acme", Timezone: "Europe/Paris", CreatedUnix: start.Unix()}); err != nil {
			return err
		}
		if err := schema.PutAgent(tx, &storev1.Agent{Id: rigAgent, Tenant: "acme", Hostname: "web-01", EnrolledUnix: start.Unix()}); err != nil {
			return err
		}
		return schema.SetLastSeen(tx, rigAgent, start.Unix())
	})
	return r
}

// open opens the stores and starts a new engine on them, as a controller
// start does.
func (r *alertRig) open() {
	r.t.Helper()
	st, err := store.OpenBolt(filepath.Join(r.dir, "control.db"), store.BoltOptions{NoSync: true})
	if err != nil {
		r.t.Fatal(err)
	}
	if err := schema.Open(context.Background(), st); err != nil {
		r.t.Fatal(err)
	}
	mdb, err := metrics.Open(filepath.Join(r.dir, "metrics.db"), metrics.Options{Now: r.clock, NoSync: true})
	if err != nil {
		r.t.Fatal(err)
	}
	r.st, r.mdb = st, mdb
	r.eng = alerting.New(alerting.Config{Store: st, Metrics: mdb, Presence: r.presence, Now: r.clock, Wake: func() { r.wakes++ }})
}

func (r *alertRig) close() {
	if r.st != nil {
		r.mdb.Close()
		r.st.Close()
		r.st = nil
	}
}

// restart closes both stores and opens them again with a new engine.
func (r *alertRig) restart() {
	r.close()
	r.open()
}

func (r *alertRig) clock() time.Time { return r.now }

func (r *alertRig) update(fn func(tx store.Tx) error) {
	r.t.Helper()
	if err := r.st.Update(context.Background(), fn); err != nil {
		r.t.Fatal(err)
	}
}

func (r *alertRig) view(fn func(tx store.Tx) error) {
	r.t.Helper()
	if err := r.st.View(context.Background(), fn); err != nil {
		r.t.Fatal(err)
	}
}

// rule stores a rule of tenant acme.
func (r *alertRig) rule(ar alert.Rule) {
	r.t.Helper()
	ar.Tenant, ar.Enabled = "acme", true
	if err := ar.Validate(); err != nil {
		r.t.Fatal(err)
	}
	r.update(func(tx store.Tx) error { return schema.PutAlertRule(tx, alerting.RuleToStore(ar)) })
}

// cpu stores a sample of the agent at the clock's time.
func (r *alertRig) cpu(v float32) {
	r.t.Helper()
	r.seq++
	m := &agentv1.Metrics{CpuPercent: v, MemTotal: 100, MemUsed: 10,
		Volumes: []*agentv1.Volume{{Mount: "C:", Total: 100, Free: 50}}}
	if _, err := r.mdb.Put(context.Background(), []metrics.Sample{{AgentID: rigAgent, Seq: r.seq, TimeMS: r.now.UnixMilli(), Metrics: m}}); err != nil {
		r.t.Fatal(err)
	}
}

// eval runs one evaluation at the clock's time.
func (r *alertRig) eval() alerting.Stats {
	r.t.Helper()
	st, err := r.eng.Evaluate(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return st
}

// notifications returns every queued notification, oldest first. The
// queue has no list function of its own yet, so this reads its keys.
func (r *alertRig) notifications() []*storev1.Notification {
	r.t.Helper()
	var ids []string
	r.view(func(tx store.Tx) error {
		return tx.Scan("notifications/", func(k string, _ []byte) error {
			ids = append(ids, strings.TrimPrefix(k, "notifications/"))
			return nil
		})
	})
	var out []*storev1.Notification
	r.view(func(tx store.Tx) error {
		for _, id := range ids {
			n, err := schema.GetNotification(tx, id)
			if err != nil {
				return err
			}
			out = append(out, n)
		}
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].GetCreatedUnixMs() < out[j].GetCreatedUnixMs() })
	return out
}

// kinds lists the notifications' kinds with their times relative to t0.
func (r *alertRig) kinds(t0 time.Time) []string {
	var out []string
	for _, n := range r.notifications() {
		out = append(out, n.GetKind()+"@"+time.UnixMilli(n.GetCreatedUnixMs()).Sub(t0).String())
	}
	return out
}

func (r *alertRig) records() []*storev1.AlertRecord {
	r.t.Helper()
	var out []*storev1.AlertRecord
	r.view(func(tx store.Tx) error {
		var err error
		out, err = schema.ListAlertRecords(tx, "acme")
		return err
	})
	return out
}

// step advances the clock, stores a cpu sample (v >= 0) and evaluates.
func (r *alertRig) step(d time.Duration, v float32) {
	r.t.Helper()
	r.now = r.now.Add(d)
	if v >= 0 {
		r.cpu(v)
	}
	r.eval()
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
