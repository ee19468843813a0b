package reporter

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/vigil-rmm/vigil/agent/internal/collector"
	"github.com/vigil-rmm/vigil/internal/logging"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

type fakeSampler struct{ facts *agentv1.Facts }

func (f *fakeSampler) Collect(context.Context) (*collector.Sample, []error) {
	return &collector.Sample{Metrics: &agentv1.Metrics{CpuPercent: 5}, Facts: &agentv1.Facts{
		Hostname: f.facts.GetHostname(), BootTimeUnix: f.facts.GetBootTimeUnix()}}, nil
}

type recorder struct {
	reports []*agentv1.Report
	status  int
}

func (r *recorder) Append(_ context.Context, rep *agentv1.Report) (uint64, error) {
	r.reports = append(r.reports, rep)
	return uint64(len(r.reports)), nil
}

func (r *recorder) AppendStatus(context.Context) (bool, error) { r.status++; return false, nil }

func (r *recorder) kinds() (metrics, facts int) {
	for _, rep := range r.reports {
		switch rep.GetBody().(type) {
		case *agentv1.Report_Metrics:
			metrics++
		case *agentv1.Report_Facts:
			facts++
		}
	}
	return
}

func TestFactsOnlyOnChange(t *testing.T) {
	factsFile := filepath.Join(t.TempDir(), "facts.sha256")
	s := &fakeSampler{facts: &agentv1.Facts{Hostname: "web-01", BootTimeUnix: 100}}
	rec := &recorder{}
	newRep := func() *Reporter {
		return New(Config{Sampler: s, Outbox: rec, FactsFile: factsFile, AgentVersion: "v1", Logger: logging.Discard()})
	}
	r := newRep()
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := r.Once(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if m, f := rec.kinds(); m != 3 || f != 1 {
		t.Fatalf("after 3 rounds: %d metrics, %d facts; want 3, 1", m, f)
	}
	if got := rec.reports[0].GetFacts().GetAgentVersion(); got != "v1" {
		t.Fatalf("facts agent_version %q", got)
	}
	// A restarted agent remembers what it sent.
	r = newRep()
	if err := r.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if _, f := rec.kinds(); f != 1 {
		t.Fatalf("facts resent after restart: %d", f)
	}
	// A reboot changes the boot time: facts go out again.
	s.facts.BootTimeUnix = 200
	if err := r.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if m, f := rec.kinds(); m != 5 || f != 2 || rec.status != 5 {
		t.Fatalf("after reboot: %d metrics, %d facts, %d status checks", m, f, rec.status)
	}
}
