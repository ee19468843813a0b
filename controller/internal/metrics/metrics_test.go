package metrics_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/controller/internal/metrics"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// clock is the fake clock: the only hand-written fake, at the true edge.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock(s string) *clock { return &clock{now: at(s)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = at(s)
}

// at parses an RFC 3339 time, UTC.
func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func open(t *testing.T, path string, c *clock, opts metrics.Options) *metrics.DB {
	t.Helper()
	opts.Now = c.Now
	db, err := metrics.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func tempPath(t *testing.T) string { return filepath.Join(t.TempDir(), "metrics.db") }

func sample(agent, ts string, seq uint64, cpu float32) metrics.Sample {
	return metrics.Sample{
		AgentID: agent,
		Seq:     seq,
		TimeMS:  at(ts).UnixMilli(),
		Metrics: &agentv1.Metrics{
			CpuPercent: cpu,
			MemTotal:   8 << 30,
			MemUsed:    3 << 30,
			Volumes:    []*agentv1.Volume{{Mount: "/", Fstype: "ext4", Total: 100 << 30, Used: 40 << 30}},
		},
	}
}

func put(t *testing.T, db *metrics.DB, samples ...metrics.Sample) int {
	t.Helper()
	n, err := db.Put(t.Context(), samples)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	return n
}

func query(t *testing.T, db *metrics.DB, agent, from, to string, limit int) ([]metrics.Sample, bool) {
	t.Helper()
	got, truncated, err := db.Query(t.Context(), agent, at(from), at(to), limit)
	if err != nil {
		t.Fatalf("Query(%s, %s, %s): %v", agent, from, to, err)
	}
	return got, truncated
}

// brief is a sample as "time/seq/cpu", enough to compare lists in tests.
func brief(samples []metrics.Sample) []string {
	out := make([]string, len(samples))
	for i, s := range samples {
		out[i] = fmt.Sprintf("%s/%d/%g", s.Time().Format("01-02T15:04"), s.Seq, s.Metrics.GetCpuPercent())
	}
	return out
}

// buckets lists the file's root buckets, read with bbolt directly after
// the DB is closed.
func buckets(t *testing.T, path string) []string {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	var names []string
	err = bdb.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			names = append(names, string(name))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestPutQueryAcrossDayBoundary(t *testing.T) {
	path := tempPath(t)
	c := newClock("2026-11-22T12:00:00Z")
	db := open(t, path, c, metrics.Options{})

	var batch []metrics.Sample
	for i, ts := range []string{
		"2026-11-21T23:58:00Z", "2026-11-21T23:59:00Z", "2026-11-22T00:00:00Z",
		"2026-11-22T00:01:00Z", "2026-11-22T00:02:00Z",
	} {
		seq := uint64(100 + i)
		// Neighbours whose IDs share a prefix with a1 must not leak in.
		batch = append(batch, sample("a1", ts, seq, float32(i)), sample("a", ts, seq, 50), sample("a1x", ts, seq, 60))
	}
	slices.Reverse(batch)
	if n := put(t, db, batch...); n != len(batch) {
		t.Errorf("Put stored %d, want %d", n, len(batch))
	}

	got, truncated := query(t, db, "a1", "2026-11-21T23:58:00Z", "2026-11-22T00:02:00Z", 100)
	want := []string{"11-21T23:58/100/0", "11-21T23:59/101/1", "11-22T00:00/102/2", "11-22T00:01/103/3"}
	if !slices.Equal(brief(got), want) || truncated {
		t.Errorf("Query = %q, truncated %t; want %q, false", brief(got), truncated, want)
	}
	if got[0].AgentID != "a1" || got[0].Metrics.GetVolumes()[0].GetMount() != "/" {
		t.Errorf("first sample = %+v, want agent a1 with its volumes", got[0])
	}

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	wantBuckets := []string{"2026-11-21", "2026-11-22", "latest", "meta"}
	if got := buckets(t, path); !slices.Equal(got, wantBuckets) {
		t.Errorf("buckets = %q, want %q", got, wantBuckets)
	}
}

func TestPutIsIdempotent(t *testing.T) {
	c := newClock("2026-11-22T12:00:00Z")
	db := open(t, tempPath(t), c, metrics.Options{})

	batch := []metrics.Sample{
		sample("a1", "2026-11-22T10:00:00Z", 1, 10),
		sample("a1", "2026-11-22T10:01:00Z", 2, 20),
		sample("a1", "2026-11-22T10:01:00Z", 2, 20), // duplicate inside one batch
	}
	put(t, db, batch...)
	put(t, db, batch...) // the agent resends after a lost ack
	put(t, db, batch[1:]...)

	got, _ := query(t, db, "a1", "2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z", 100)
	want := []string{"11-22T10:00/1/10", "11-22T10:01/2/20"}
	if !slices.Equal(brief(got), want) {
		t.Errorf("after re-puts Query = %q, want %q", brief(got), want)
	}
}

func TestQueryLimitAndRange(t *testing.T) {
	c := newClock("2026-11-22T12:00:00Z")
	db := open(t, tempPath(t), c, metrics.Options{})
	var batch []metrics.Sample
	for i := range 10 {
		batch = append(batch, sample("a1", fmt.Sprintf("2026-11-22T10:%02d:00Z", i), uint64(i), float32(i)))
	}
	put(t, db, batch...)

	tests := []struct {
		name          string
		from, to      string
		limit         int
		wantN         int
		wantTruncated bool
	}{
		{"limit below count", "2026-11-22T10:00:00Z", "2026-11-22T11:00:00Z", 3, 3, true},
		{"limit equal to count", "2026-11-22T10:00:00Z", "2026-11-22T11:00:00Z", 10, 10, false},
		{"limit above count", "2026-11-22T10:00:00Z", "2026-11-22T11:00:00Z", 11, 10, false},
		{"from inclusive, to exclusive", "2026-11-22T10:02:00Z", "2026-11-22T10:05:00Z", 100, 3, false},
		{"sample at to excluded even if limit hit", "2026-11-22T10:02:00Z", "2026-11-22T10:05:00Z", 3, 3, false},
		{"empty range", "2026-11-22T10:02:00Z", "2026-11-22T10:02:00Z", 100, 0, false},
		{"before any data", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", 100, 0, false},
		{"wide range", "0001-01-01T00:00:00Z", "9999-12-31T00:00:00Z", 100, 10, false},
	}
	for _, tc := range tests {
		got, truncated := query(t, db, "a1", tc.from, tc.to, tc.limit)
		if len(got) != tc.wantN || truncated != tc.wantTruncated {
			t.Errorf("%s: got %d samples, truncated %t; want %d, %t", tc.name, len(got), truncated, tc.wantN, tc.wantTruncated)
		}
	}

	// Paging with truncated walks every sample once, in order.
	var all []metrics.Sample
	from := at("2026-11-22T00:00:00Z")
	for {
		page, truncated, err := db.Query(t.Context(), "a1", from, at("2026-11-23T00:00:00Z"), 4)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if !truncated {
			break
		}
		from = page[len(page)-1].Time().Add(time.Millisecond)
	}
	if len(all) != 10 || !slices.IsSortedFunc(all, func(a, b metrics.Sample) int { return int(a.TimeMS - b.TimeMS) }) {
		t.Errorf("paging returned %q, want the 10 samples in order", brief(all))
	}
}

func TestQueryRejectsBadInput(t *testing.T) {
	c := newClock("2026-11-22T12:00:00Z")
	db := open(t, tempPath(t), c, metrics.Options{})
	from, to := at("2026-11-22T00:00:00Z"), at("2026-11-23T00:00:00Z")
	tests := []struct {
		name     string
		agent    string
		from, to time.Time
		limit    int
		wantMsg  string
	}{
		{"empty agent", "", from, to, 10, "agentID"},
		{"agent with NUL", "a\x00b", from, to, 10, "agentID"},
		{"zero limit", "a1", from, to, 0, "limit"},
		{"to before from", "a1", to, from, 10, "before"},
	}
	for _, tc := range tests {
		_, _, err := db.Query(t.Context(), tc.agent, tc.from, tc.to, tc.limit)
		if !errors.Is(err, metrics.ErrInvalid) || !strings.Contains(err.Error(), tc.wantMsg) {
			t.Errorf("%s: error = %v, want ErrInvalid mentioning %q", tc.name, err, tc.wantMsg)
		}
	}
}

func TestLatest(t *testing.T) {
	path := tempPath(t)
	c := newClock("2026-11-22T12:00:00Z")
	db := open(t, path, c, metrics.Options{})

	if _, ok, err := db.Latest(t.Context(), "a1"); ok || err != nil {
		t.Fatalf("Latest before any sample = %t, %v; want false, nil", ok, err)
	}
	steps := []struct {
		name    string
		samples []metrics.Sample
		want    string
	}{
		{"first", []metrics.Sample{sample("a1", "2026-11-22T10:00:00Z", 5, 1)}, "11-22T10:00/5/1"},
		{"newest of a batch wins", []metrics.Sample{
			sample("a1", "2026-11-22T10:03:00Z", 8, 3),
			sample("a1", "2026-11-22T10:01:00Z", 6, 2),
		}, "11-22T10:03/8/3"},
		{"older sample arriving late", []metrics.Sample{sample("a1", "2026-11-22T10:02:00Z", 7, 9)}, "11-22T10:03/8/3"},
		{"same time, higher seq", []metrics.Sample{sample("a1", "2026-11-22T10:03:00Z", 9, 4)}, "11-22T10:03/9/4"},
		{"resent latest", []metrics.Sample{sample("a1", "2026-11-22T10:03:00Z", 9, 4)}, "11-22T10:03/9/4"},
		{"other agent", []metrics.Sample{sample("a2", "2026-11-22T11:00:00Z", 1, 7)}, "11-22T10:03/9/4"},
	}
	for _, st := range steps {
		put(t, db, st.samples...)
		got, ok, err := db.Latest(t.Context(), "a1")
		if err != nil || !ok || brief([]metrics.Sample{got})[0] != st.want {
			t.Errorf("%s: Latest = %q, %t, %v; want %q", st.name, brief([]metrics.Sample{got}), ok, err, st.want)
		}
	}
}

func TestRetainDropsWholeOldDays(t *testing.T) {
	path := tempPath(t)
	c := newClock("2026-11-22T00:30:00Z")
	db := open(t, path, c, metrics.Options{Retention: 3 * 24 * time.Hour})

	put(t, db,
		sample("gone", "2026-11-19T06:00:00Z", 1, 1),
		sample("a1", "2026-11-19T06:00:00Z", 1, 1),
		sample("a1", "2026-11-20T06:00:00Z", 2, 2),
		sample("a1", "2026-11-21T06:00:00Z", 3, 3),
		sample("a1", "2026-11-22T00:10:00Z", 4, 4),
	)

	steps := []struct {
		now         string
		wantDropped int
		wantSamples []string
	}{
		// Horizon 11-19 12:00: 11-19 is only partly old, nothing goes.
		{"2026-11-22T12:00:00Z", 0, []string{"11-19T06:00/1/1", "11-20T06:00/2/2", "11-21T06:00/3/3", "11-22T00:10/4/4"}},
		// Horizon 11-20 12:00: 11-19 goes whole; 11-20 stays whole, even
		// its sample older than the horizon.
		{"2026-11-23T12:00:00Z", 1, []string{"11-20T06:00/2/2", "11-21T06:00/3/3", "11-22T00:10/4/4"}},
		// Same horizon again: nothing left to drop.
		{"2026-11-23T12:00:00Z", 0, []string{"11-20T06:00/2/2", "11-21T06:00/3/3", "11-22T00:10/4/4"}},
		// Horizon exactly 11-21 00:00: 11-20 ends there, so it goes.
		{"2026-11-24T00:00:00Z", 1, []string{"11-21T06:00/3/3", "11-22T00:10/4/4"}},
	}
	for _, st := range steps {
		c.Set(st.now)
		dropped, err := db.Retain(t.Context())
		if err != nil || dropped != st.wantDropped {
			t.Errorf("now %s: Retain = %d, %v; want %d, nil", st.now, dropped, err, st.wantDropped)
		}
		got, _ := query(t, db, "a1", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", 100)
		if !slices.Equal(brief(got), st.wantSamples) {
			t.Errorf("now %s: samples = %q, want %q", st.now, brief(got), st.wantSamples)
		}
	}

	if _, ok, _ := db.Latest(t.Context(), "gone"); ok {
		t.Error("Latest of an agent silent for longer than the retention is still there")
	}
	if _, ok, _ := db.Latest(t.Context(), "a1"); !ok {
		t.Error("Latest of a1 was dropped; its newest sample is within the retention")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := buckets(t, path), []string{"2026-11-21", "2026-11-22", "latest", "meta"}; !slices.Equal(got, want) {
		t.Errorf("buckets = %q, want %q", got, want)
	}
}

func TestPutSkipsSamplesOutsideWindow(t *testing.T) {
	c := newClock("2026-11-22T12:00:00Z")
	db := open(t, tempPath(t), c, metrics.Options{Retention: 2 * 24 * time.Hour, MaxSkew: time.Hour})

	n := put(t, db,
		sample("a1", "2026-11-20T11:59:59Z", 1, 1), // older than the horizon
		sample("a1", "2026-11-20T12:00:00Z", 2, 2), // at the horizon
		sample("a1", "2026-11-22T13:00:00Z", 3, 3), // at the skew limit
		sample("a1", "2026-11-22T13:00:01Z", 4, 4), // beyond it
		sample("a1", "2031-01-01T00:00:00Z", 5, 5), // agent clock years ahead
	)
	if n != 2 {
		t.Errorf("Put stored %d, want 2", n)
	}
	got, _ := query(t, db, "a1", "2026-01-01T00:00:00Z", "2032-01-01T00:00:00Z", 100)
	if want := []string{"11-20T12:00/2/2", "11-22T13:00/3/3"}; !slices.Equal(brief(got), want) {
		t.Errorf("stored samples = %q, want %q", brief(got), want)
	}
	latest, _, _ := db.Latest(t.Context(), "a1")
	if latest.Seq != 3 {
		t.Errorf("Latest seq = %d, want 3: a future sample must not become the latest", latest.Seq)
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := tempPath(t)
	c := newClock("2026-11-22T12:00:00Z")
	db, err := metrics.Open(path, metrics.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	put(t, db, sample("a1", "2026-11-21T10:00:00Z", 1, 1), sample("a1", "2026-11-22T10:00:00Z", 2, 2))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = open(t, path, c, metrics.Options{})
	got, _ := query(t, db, "a1", "2026-11-21T00:00:00Z", "2026-11-23T00:00:00Z", 100)
	if want := []string{"11-21T10:00/1/1", "11-22T10:00/2/2"}; !slices.Equal(brief(got), want) {
		t.Errorf("after reopen Query = %q, want %q", brief(got), want)
	}
	if latest, ok, err := db.Latest(t.Context(), "a1"); !ok || err != nil || latest.Seq != 2 {
		t.Errorf("after reopen Latest = %+v, %t, %v; want seq 2", latest, ok, err)
	}
}

func TestPutRejectsBadSamples(t *testing.T) {
	c := newClock("2026-11-22T12:00:00Z")
	db := open(t, tempPath(t), c, metrics.Options{})
	good := sample("a1", "2026-11-22T10:00:00Z", 1, 1)
	withAgent := func(id string) metrics.Sample { return sample(id, "2026-11-22T10:01:00Z", 2, 2) }
	noMetrics := withAgent("a1")
	noMetrics.Metrics = nil
	tests := []struct {
		name    string
		bad     metrics.Sample
		wantMsg string
	}{
		{"empty agent", withAgent(""), "samples[1].AgentID: empty"},
		{"agent with NUL", withAgent("a1\x00evil"), "samples[1].AgentID"},
		{"agent too long", withAgent(strings.Repeat("x", metrics.MaxAgentIDLen+1)), "samples[1].AgentID"},
		{"nil metrics", noMetrics, "samples[1].Metrics"},
	}
	for _, tc := range tests {
		n, err := db.Put(t.Context(), []metrics.Sample{good, tc.bad})
		if !errors.Is(err, metrics.ErrInvalid) || !strings.Contains(err.Error(), tc.wantMsg) || n != 0 {
			t.Errorf("%s: Put = %d, %v; want 0, ErrInvalid mentioning %q", tc.name, n, err, tc.wantMsg)
		}
	}
	if got, _ := query(t, db, "a1", "2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z", 100); len(got) != 0 {
		t.Errorf("rejected batches left samples behind: %q", brief(got))
	}
	if _, ok, _ := db.Latest(t.Context(), "a1"); ok {
		t.Error("rejected batches set a latest sample")
	}
}

func TestOpenOptionsErrors(t *testing.T) {
	tests := []struct {
		name    string
		opts    metrics.Options
		wantMsg string
	}{
		{"retention under a day", metrics.Options{Retention: 23 * time.Hour}, "Retention"},
		{"negative retention", metrics.Options{Retention: -time.Hour}, "Retention"},
		{"negative skew", metrics.Options{MaxSkew: -time.Minute}, "MaxSkew"},
	}
	for _, tc := range tests {
		_, err := metrics.Open(tempPath(t), tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.wantMsg) {
			t.Errorf("%s: Open error = %v, want one naming %s", tc.name, err, tc.wantMsg)
		}
	}
}

func TestOpenFileErrors(t *testing.T) {
	// writeBolt makes a bbolt file with the given buckets and keys.
	writeBolt := func(t *testing.T, path string, fill func(*bolt.Tx) error) {
		t.Helper()
		bdb, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := bdb.Update(fill); err != nil {
			t.Fatal(err)
		}
		if err := bdb.Close(); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		make func(t *testing.T, path string)
		want error
	}{
		{"newer schema", func(t *testing.T, path string) {
			writeBolt(t, path, func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket([]byte("meta"))
				if err != nil {
					return err
				}
				if _, err := tx.CreateBucket([]byte("latest")); err != nil {
					return err
				}
				return b.Put([]byte("version"), binary.BigEndian.AppendUint64(nil, 2))
			})
		}, metrics.ErrSchemaTooNew},
		{"control store", func(t *testing.T, path string) {
			writeBolt(t, path, func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket([]byte("kv"))
				if err != nil {
					return err
				}
				return b.Put([]byte("agents/a1"), []byte("x"))
			})
		}, metrics.ErrNotMetrics},
		{"not a database", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte(strings.Repeat("metrics? no. ", 1000)), 0o600); err != nil {
				t.Fatal(err)
			}
		}, metrics.ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := tempPath(t)
			tc.make(t, path)
			_, err := metrics.Open(path, metrics.Options{})
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Open error = %v, want %v naming %s", err, tc.want, path)
			}
		})
	}
}

func TestOpenLocked(t *testing.T) {
	path := tempPath(t)
	open(t, path, newClock("2026-11-22T12:00:00Z"), metrics.Options{})
	_, err := metrics.Open(path, metrics.Options{Timeout: 100 * time.Millisecond})
	if !errors.Is(err, metrics.ErrLocked) || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second Open error = %v, want ErrLocked", err)
	}
}

func TestOpenFileMode(t *testing.T) {
	path := tempPath(t)
	open(t, path, newClock("2026-11-22T12:00:00Z"), metrics.Options{})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode = %v, want 0600", fi.Mode().Perm())
	}
}

func TestRun(t *testing.T) {
	c := newClock("2026-11-22T12:00:00Z")
	db := open(t, tempPath(t), c, metrics.Options{Retention: 2 * 24 * time.Hour})
	db.SetRetainEvery(10 * time.Millisecond)
	put(t, db,
		sample("a1", "2026-11-20T13:00:00Z", 1, 1),
		sample("a1", "2026-11-21T13:00:00Z", 2, 2),
		sample("a1", "2026-11-22T11:00:00Z", 3, 3),
	)
	c.Set("2026-11-23T12:00:00Z") // 11-20 is now entirely old

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- db.Run(ctx) }()

	waitFor := func(what string, want []string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			got, _ := query(t, db, "a1", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", 100)
			if slices.Equal(brief(got), want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: samples = %q, want %q", what, brief(got), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("retain at start", []string{"11-21T13:00/2/2", "11-22T11:00/3/3"})
	c.Set("2026-11-24T12:00:00Z") // now 11-21 is old too: the next tick drops it
	waitFor("retain on tick", []string{"11-22T11:00/3/3"})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestCanceledContextDoesNothing(t *testing.T) {
	c := newClock("2026-11-22T12:00:00Z")
	db := open(t, tempPath(t), c, metrics.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	if _, err := db.Put(ctx, []metrics.Sample{sample("a1", "2026-11-22T10:00:00Z", 1, 1)}); !errors.Is(err, context.Canceled) {
		t.Errorf("Put error = %v, want context.Canceled", err)
	}
	if _, _, err := db.Query(ctx, "a1", at("2026-11-22T00:00:00Z"), at("2026-11-23T00:00:00Z"), 10); !errors.Is(err, context.Canceled) {
		t.Errorf("Query error = %v, want context.Canceled", err)
	}
	if _, _, err := db.Latest(ctx, "a1"); !errors.Is(err, context.Canceled) {
		t.Errorf("Latest error = %v, want context.Canceled", err)
	}
	if _, err := db.Retain(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Retain error = %v, want context.Canceled", err)
	}
	if _, ok, _ := db.Latest(t.Context(), "a1"); ok {
		t.Error("Put with a canceled context wrote a sample")
	}
}

func TestClosed(t *testing.T) {
	c := newClock("2026-11-22T12:00:00Z")
	db, err := metrics.Open(tempPath(t), metrics.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := db.Put(ctx, []metrics.Sample{sample("a1", "2026-11-22T10:00:00Z", 1, 1)}); !errors.Is(err, metrics.ErrClosed) {
		t.Errorf("Put after Close = %v, want ErrClosed", err)
	}
	if _, _, err := db.Query(ctx, "a1", at("2026-11-22T00:00:00Z"), at("2026-11-23T00:00:00Z"), 10); !errors.Is(err, metrics.ErrClosed) {
		t.Errorf("Query after Close = %v, want ErrClosed", err)
	}
	if err := db.Run(ctx); !errors.Is(err, metrics.ErrClosed) {
		t.Errorf("Run after Close = %v, want ErrClosed", err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
}

// TestStoredValueIsMetricsProto pins the value format the package doc
// promises: a day bucket value is the Metrics protobuf, nothing else.
func TestStoredValueIsMetricsProto(t *testing.T) {
	path := tempPath(t)
	c := newClock("2026-11-22T12:00:00Z")
	db, err := metrics.Open(path, metrics.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	s := sample("a1", "2026-11-22T10:00:00Z", 7, 42)
	put(t, db, s)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	key := binary.BigEndian.AppendUint64([]byte("a1\x00"), uint64(s.TimeMS))
	key = binary.BigEndian.AppendUint64(key, 7)
	err = bdb.View(func(tx *bolt.Tx) error {
		v := tx.Bucket([]byte("2026-11-22")).Get(key)
		m := &agentv1.Metrics{}
		if err := proto.Unmarshal(v, m); err != nil {
			return err
		}
		if !proto.Equal(m, s.Metrics) {
			return fmt.Errorf("stored %v, want %v", m, s.Metrics)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
