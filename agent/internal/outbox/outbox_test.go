package outbox_test

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/agent/internal/outbox"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func metric(i int) *agentv1.Report {
	return &agentv1.Report{Body: &agentv1.Report_Metrics{Metrics: &agentv1.Metrics{
		CpuPercent: float32(i % 100),
		MemTotal:   8 << 30,
		MemUsed:    uint64(i) << 20,
		Volumes:    []*agentv1.Volume{{Mount: "/", Fstype: "ext4", Total: 100 << 30, Used: uint64(i) << 20}},
	}}}
}

func facts(host string) *agentv1.Report {
	return &agentv1.Report{Body: &agentv1.Report_Facts{Facts: &agentv1.Facts{Hostname: host, Os: "linux"}}}
}

func openT(t testing.TB, path string, opts outbox.Options) *outbox.Outbox {
	t.Helper()
	o, err := outbox.Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := o.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return o
}

func appendT(t testing.TB, o *outbox.Outbox, r *agentv1.Report) uint64 {
	t.Helper()
	seq, err := o.Append(t.Context(), r)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return seq
}

func pendingSeqs(t testing.TB, o *outbox.Outbox, after uint64, limit int) []uint64 {
	t.Helper()
	rs, err := o.Pending(t.Context(), after, limit)
	if err != nil {
		t.Fatalf("Pending(%d, %d): %v", after, limit, err)
	}
	seqs := []uint64{}
	for _, r := range rs {
		seqs = append(seqs, r.GetSeq())
	}
	return seqs
}

func ackT(t testing.TB, o *outbox.Outbox, seq uint64) {
	t.Helper()
	if err := o.Ack(t.Context(), seq); err != nil {
		t.Fatalf("Ack(%d): %v", seq, err)
	}
}

func statsT(t testing.TB, o *outbox.Outbox) outbox.Stats {
	t.Helper()
	st, err := o.Stats(t.Context())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	st.FileBytes = 0 // depends on page allocation; checked separately
	return st
}

func equalSeqs(t testing.TB, what string, got, want []uint64) {
	t.Helper()
	if !slicesEqual(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func slicesEqual(a, b []uint64) bool {
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

func dbPath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "outbox.db")
}

func TestAppendPendingAck(t *testing.T) {
	o := openT(t, dbPath(t), outbox.Options{})
	before := time.Now().UnixMilli()
	for i := range 5 {
		r := metric(i)
		seq := appendT(t, o, r)
		if seq != uint64(i+1) || r.Seq != seq {
			t.Fatalf("append %d: seq %d, r.Seq %d, want %d", i, seq, r.Seq, i+1)
		}
		if r.TimeUnixMs < before || r.TimeUnixMs > time.Now().UnixMilli() {
			t.Fatalf("append %d: TimeUnixMs %d not set to now", i, r.TimeUnixMs)
		}
	}
	equalSeqs(t, "Pending(0, 10)", pendingSeqs(t, o, 0, 10), []uint64{1, 2, 3, 4, 5})
	equalSeqs(t, "Pending(2, 2)", pendingSeqs(t, o, 2, 2), []uint64{3, 4})
	equalSeqs(t, "Pending(5, 10)", pendingSeqs(t, o, 5, 10), []uint64{})

	ackT(t, o, 3)
	equalSeqs(t, "Pending after Ack(3)", pendingSeqs(t, o, 0, 10), []uint64{4, 5})
	ackT(t, o, 2) // older ack: cumulative, nothing changes
	equalSeqs(t, "Pending after Ack(2)", pendingSeqs(t, o, 0, 10), []uint64{4, 5})
	if got, want := statsT(t, o), (outbox.Stats{Pending: 2, FirstSeq: 4, LastSeq: 5, Acked: 3}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}

	ackT(t, o, 5)
	equalSeqs(t, "Pending after Ack(5)", pendingSeqs(t, o, 0, 10), []uint64{})
	if got, want := statsT(t, o), (outbox.Stats{LastSeq: 5, Acked: 5}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

func TestAppendKeepsTime(t *testing.T) {
	o := openT(t, dbPath(t), outbox.Options{})
	r := metric(1)
	r.TimeUnixMs = 1234
	appendT(t, o, r)
	rs, err := o.Pending(t.Context(), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := rs[0].GetTimeUnixMs(); got != 1234 {
		t.Errorf("TimeUnixMs = %d, want 1234", got)
	}
}

func TestAppendRejectsEmptyReport(t *testing.T) {
	o := openT(t, dbPath(t), outbox.Options{})
	for _, r := range []*agentv1.Report{nil, {}, {Seq: 7}} {
		if _, err := o.Append(t.Context(), r); !errors.Is(err, outbox.ErrNoBody) {
			t.Errorf("Append(%v) error = %v, want ErrNoBody", r, err)
		}
	}
	if seq := appendT(t, o, metric(1)); seq != 1 {
		t.Errorf("first accepted report got seq %d, want 1 (rejections must not use numbers)", seq)
	}
}

func TestSequenceSurvivesReopen(t *testing.T) {
	path := dbPath(t)
	o, err := outbox.Open(path, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		appendT(t, o, metric(i))
	}
	ackT(t, o, 3) // reports bucket now empty
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}

	o = openT(t, path, outbox.Options{})
	if seq := appendT(t, o, metric(4)); seq != 4 {
		t.Errorf("seq after reopen = %d, want 4", seq)
	}
	if got, want := statsT(t, o), (outbox.Stats{Pending: 1, FirstSeq: 4, LastSeq: 4, Acked: 3}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

func TestReopenWithoutAckKeepsReports(t *testing.T) {
	path := dbPath(t)
	o, err := outbox.Open(path, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		r := metric(i)
		if i%7 == 0 {
			r = facts("host-a")
		}
		appendT(t, o, r)
	}
	ackT(t, o, 5)
	before := marshalPending(t, o)
	// Close without acking the rest: what a crash leaves behind, since every
	// append was committed.
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}

	o = openT(t, path, outbox.Options{})
	after := marshalPending(t, o)
	if len(after) != 15 || len(before) != len(after) {
		t.Fatalf("pending after reopen: %d reports, want 15 (before: %d)", len(after), len(before))
	}
	for i := range before {
		if !bytes.Equal(before[i], after[i]) {
			t.Errorf("report %d differs after reopen:\n before %x\n after  %x", i, before[i], after[i])
		}
	}
}

func marshalPending(t *testing.T, o *outbox.Outbox) [][]byte {
	t.Helper()
	rs, err := o.Pending(t.Context(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, r := range rs {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func appendStatusT(t *testing.T, o *outbox.Outbox) bool {
	t.Helper()
	ok, err := o.AppendStatus(t.Context())
	if err != nil {
		t.Fatalf("AppendStatus: %v", err)
	}
	return ok
}

// TestBound appends 25 metric reports and 2 facts reports (seq 4 and 16)
// into an outbox bounded at 10. The facts stay; the 17 oldest metrics go.
func TestBound(t *testing.T) {
	o := openT(t, dbPath(t), outbox.Options{MaxReports: 10})
	for i := 1; i <= 27; i++ {
		r := metric(i)
		if i == 4 || i == 16 {
			r = facts("host-a")
		}
		appendT(t, o, r)
	}
	equalSeqs(t, "pending", pendingSeqs(t, o, 0, 100), []uint64{4, 16, 20, 21, 22, 23, 24, 25, 26, 27})
	if got, want := statsT(t, o), (outbox.Stats{Pending: 10, FirstSeq: 4, LastSeq: 27, UnreportedDrops: 17, DroppedTotal: 17}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}

	// The status report makes room for itself (drops metric 20) and counts
	// that drop too.
	if !appendStatusT(t, o) {
		t.Fatal("AppendStatus with 17 unreported drops did not append")
	}
	rs, err := o.Pending(t.Context(), 27, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := &agentv1.Report{Seq: 28, TimeUnixMs: rs[0].GetTimeUnixMs(), Body: &agentv1.Report_Outbox{
		Outbox: &agentv1.OutboxStatus{DroppedMetrics: 18, Pending: 9},
	}}
	if !proto.Equal(rs[0], want) {
		t.Errorf("status report = %v, want %v", rs[0], want)
	}
	equalSeqs(t, "pending", pendingSeqs(t, o, 0, 100), []uint64{4, 16, 21, 22, 23, 24, 25, 26, 27, 28})
	if appendStatusT(t, o) {
		t.Error("AppendStatus appended with no unreported drops")
	}

	appendT(t, o, metric(29)) // drops metric 21
	if got, want := statsT(t, o), (outbox.Stats{Pending: 10, FirstSeq: 4, LastSeq: 29, UnreportedDrops: 1, DroppedTotal: 19}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	if appendStatusT(t, o) {
		t.Error("AppendStatus appended while status report 28 is pending")
	}

	ackT(t, o, 28)
	if !appendStatusT(t, o) {
		t.Fatal("AppendStatus after the status report was acked did not append")
	}
	rs, err = o.Pending(t.Context(), 29, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := rs[0].GetOutbox(); got.GetDroppedMetrics() != 1 || got.GetPending() != 1 {
		t.Errorf("second status = %v, want dropped_metrics 1, pending 1", got)
	}
	if got, want := statsT(t, o), (outbox.Stats{Pending: 2, FirstSeq: 29, LastSeq: 30, Acked: 28, DroppedTotal: 19}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

// TestBoundOnlyStateChanges: state changes are never dropped, even past the
// bound; a metric appended then is the oldest metric and goes at once.
func TestBoundOnlyStateChanges(t *testing.T) {
	o := openT(t, dbPath(t), outbox.Options{MaxReports: 10})
	for range 12 {
		appendT(t, o, facts("host-a"))
	}
	appendT(t, o, metric(13))
	if got, want := statsT(t, o), (outbox.Stats{Pending: 12, FirstSeq: 1, LastSeq: 13, UnreportedDrops: 1, DroppedTotal: 1}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

func TestResume(t *testing.T) {
	tests := []struct {
		name      string
		committed uint64
		wantNext  uint64
		pending   []uint64
		warn      bool
	}{
		{name: "behind", committed: 2, wantNext: 4, pending: []uint64{3}},
		{name: "caught up", committed: 3, wantNext: 4, pending: []uint64{}},
		{name: "ahead after restore", committed: 100, wantNext: 101, pending: []uint64{}, warn: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			o := openT(t, dbPath(t), outbox.Options{Logger: log})
			for i := range 3 {
				appendT(t, o, metric(i))
			}
			if err := o.Resume(t.Context(), tt.committed); err != nil {
				t.Fatalf("Resume: %v", err)
			}
			equalSeqs(t, "pending", pendingSeqs(t, o, 0, 10), tt.pending)
			if seq := appendT(t, o, metric(9)); seq != tt.wantNext {
				t.Errorf("next seq = %d, want %d", seq, tt.wantNext)
			}
			if got := strings.Contains(logs.String(), "level=WARN"); got != tt.warn {
				t.Errorf("warned = %v, want %v; log:\n%s", got, tt.warn, logs.String())
			}
		})
	}
}

func TestOpenCorrupt(t *testing.T) {
	tests := []struct {
		name  string
		write func(t *testing.T, path string)
	}{
		{name: "short garbage", write: func(t *testing.T, path string) {
			writeFile(t, path, []byte("this is not a bbolt file"))
		}},
		{name: "page-sized garbage", write: func(t *testing.T, path string) {
			writeFile(t, path, bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 64<<10))
		}},
		{name: "other bbolt database", write: func(t *testing.T, path string) {
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Update(func(tx *bolt.Tx) error {
				_, err := tx.CreateBucket([]byte("tasks"))
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := dbPath(t)
			tt.write(t, path)
			_, err := outbox.Open(path, outbox.Options{})
			if !errors.Is(err, outbox.ErrCorrupt) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "move it aside") {
				t.Errorf("Open error = %v, want ErrCorrupt naming %s and the fix", err, path)
			}
		})
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestOpenSchemaTooNew(t *testing.T) {
	path := dbPath(t)
	o, err := outbox.Open(path, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("schema_version"), []byte{0, 0, 0, 0, 0, 0, 0, 2})
	})
	if cerr := db.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}
	_, err = outbox.Open(path, outbox.Options{})
	if !errors.Is(err, outbox.ErrSchemaTooNew) || !strings.Contains(err.Error(), path) {
		t.Errorf("Open error = %v, want ErrSchemaTooNew naming %s", err, path)
	}
}

func TestOpenInUse(t *testing.T) {
	path := dbPath(t)
	openT(t, path, outbox.Options{})
	const timeout = 200 * time.Millisecond
	start := time.Now()
	_, err := outbox.Open(path, outbox.Options{Timeout: timeout})
	elapsed := time.Since(start)
	if !errors.Is(err, outbox.ErrInUse) || !strings.Contains(err.Error(), path) {
		t.Errorf("second Open error = %v, want ErrInUse naming %s", err, path)
	}
	// bbolt polls the lock every 50ms and may give up one poll early.
	if elapsed < timeout/2 || elapsed > timeout+2*time.Second {
		t.Errorf("second Open failed after %s, want about %s", elapsed, timeout)
	}
}

func TestOpenOptions(t *testing.T) {
	tests := []struct {
		name  string
		opts  outbox.Options
		field string
	}{
		{name: "bound too small", opts: outbox.Options{MaxReports: 9}, field: "MaxReports"},
		{name: "negative bound", opts: outbox.Options{MaxReports: -1}, field: "MaxReports"},
		{name: "negative timeout", opts: outbox.Options{Timeout: -time.Second}, field: "Timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := dbPath(t)
			_, err := outbox.Open(path, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("Open error = %v, want one naming %s", err, tt.field)
			}
			if _, statErr := os.Stat(path); !errors.Is(statErr, os.ErrNotExist) {
				t.Errorf("invalid options created the file (stat: %v)", statErr)
			}
		})
	}
}

func TestFileMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permission bits")
	}
	path := dbPath(t)
	openT(t, path, outbox.Options{})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("mode = %o, want 600", got)
	}
}

func TestClosed(t *testing.T) {
	o, err := outbox.Open(dbPath(t), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if _, err := o.Append(t.Context(), metric(1)); !errors.Is(err, outbox.ErrClosed) {
		t.Errorf("Append after Close = %v, want ErrClosed", err)
	}
	if _, err := o.Pending(t.Context(), 0, 1); !errors.Is(err, outbox.ErrClosed) {
		t.Errorf("Pending after Close = %v, want ErrClosed", err)
	}
	if err := o.Ack(t.Context(), 1); !errors.Is(err, outbox.ErrClosed) {
		t.Errorf("Ack after Close = %v, want ErrClosed", err)
	}
}

func TestPendingLimit(t *testing.T) {
	o := openT(t, dbPath(t), outbox.Options{})
	if _, err := o.Pending(t.Context(), 0, 0); err == nil {
		t.Error("Pending with limit 0 succeeded, want an error")
	}
}

func TestNotify(t *testing.T) {
	o := openT(t, dbPath(t), outbox.Options{})
	select {
	case <-o.Notify():
		t.Fatal("Notify signalled before any append")
	default:
	}
	appendT(t, o, metric(1))
	appendT(t, o, metric(2)) // does not block on the full channel
	select {
	case <-o.Notify():
	default:
		t.Fatal("Notify not signalled after Append")
	}
}

// TestConcurrentAppendPendingAck runs the collector and the link side by
// side: every report is seen exactly once, in order.
func TestConcurrentAppendPendingAck(t *testing.T) {
	const n = 500
	o := openT(t, dbPath(t), outbox.Options{})
	ctx := t.Context()

	var wg sync.WaitGroup
	appendErr := make(chan error, 1)
	wg.Go(func() {
		for i := range n {
			if _, err := o.Append(ctx, metric(i)); err != nil {
				appendErr <- err
				return
			}
		}
	})
	defer wg.Wait()

	deadline := time.After(30 * time.Second)
	var seen []uint64
	var after uint64
	for len(seen) < n {
		rs, err := o.Pending(ctx, after, 37)
		if err != nil {
			t.Fatalf("Pending: %v", err)
		}
		if len(rs) == 0 {
			select {
			case <-o.Notify():
			case err := <-appendErr:
				t.Fatalf("Append: %v", err)
			case <-deadline:
				t.Fatalf("saw %d of %d reports before the deadline", len(seen), n)
			}
			continue
		}
		for _, r := range rs {
			seen = append(seen, r.GetSeq())
		}
		after = rs[len(rs)-1].GetSeq()
		ackT(t, o, after)
	}
	wg.Wait()

	for i, seq := range seen {
		if seq != uint64(i+1) {
			t.Fatalf("report %d has seq %d, want %d (seen: %v)", i, seq, i+1, seen)
		}
	}
	if got, want := statsT(t, o), (outbox.Stats{LastSeq: n, Acked: n}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}
