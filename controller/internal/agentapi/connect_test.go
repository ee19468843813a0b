package agentapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/controller/controllertest"
	"github.com/vigil-rmm/vigil/internal/limits"
	"github.com/vigil-rmm/vigil/internal/version"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

func hello() *agentv1.AgentMessage {
	return &agentv1.AgentMessage{Msg: &agentv1.AgentMessage_Hello{Hello: &agentv1.Hello{ProtocolVersion: version.Protocol}}}
}

func report(seq uint64, cpu float32) *agentv1.AgentMessage {
	return &agentv1.AgentMessage{Msg: &agentv1.AgentMessage_Report{Report: &agentv1.Report{Seq: seq, TimeUnixMs: time.Now().UnixMilli(),
		Body: &agentv1.Report_Metrics{Metrics: &agentv1.Metrics{CpuPercent: cpu, MemTotal: 2, MemUsed: 1}}}}}
}

func connect(t *testing.T, c agentv1.AgentServiceClient) agentv1.AgentService_ConnectClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	s, err := c.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func samples(t *testing.T, c *controllertest.Controller, id string) []*managev1.MetricSample {
	t.Helper()
	r, err := c.Admin(t).QueryMetrics(context.Background(), &managev1.QueryMetricsRequest{AgentId: id, SinceUnixMs: 1})
	if err != nil {
		t.Fatal(err)
	}
	return r.GetSamples()
}

func TestConnectRefusals(t *testing.T) {
	c := controllertest.Start(t)
	c.Tenant(t, "acme")
	a := c.EnrollAgent(t, "acme", "h")

	t.Run("no client certificate", func(t *testing.T) {
		s := connect(t, c.AgentClient(t, nil))
		_ = s.Send(hello())
		if _, err := s.Recv(); status.Code(err) != codes.Unauthenticated {
			t.Fatalf("got %v, want Unauthenticated", err)
		}
	})
	t.Run("report before hello", func(t *testing.T) {
		s := connect(t, c.AgentClient(t, a.TLS))
		_ = s.Send(report(1, 1))
		if _, err := s.Recv(); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "hello") {
			t.Fatalf("got %v, want InvalidArgument about hello", err)
		}
	})
	t.Run("hello without protocol version", func(t *testing.T) {
		s := connect(t, c.AgentClient(t, a.TLS))
		_ = s.Send(&agentv1.AgentMessage{Msg: &agentv1.AgentMessage_Hello{Hello: &agentv1.Hello{}}})
		if _, err := s.Recv(); status.Code(err) != codes.InvalidArgument {
			t.Fatalf("got %v, want InvalidArgument", err)
		}
	})
	t.Run("oversized message", func(t *testing.T) {
		s := connect(t, c.AgentClient(t, a.TLS))
		_ = s.Send(hello())
		if _, err := s.Recv(); err != nil {
			t.Fatal(err)
		}
		big := &agentv1.AgentMessage{Msg: &agentv1.AgentMessage_Report{Report: &agentv1.Report{Seq: 1, TimeUnixMs: 1,
			Body: &agentv1.Report_Facts{Facts: &agentv1.Facts{Hostname: strings.Repeat("x", limits.MaxMessage+1)}}}}}
		_ = s.Send(big)
		for {
			if _, err := s.Recv(); err != nil {
				if status.Code(err) != codes.ResourceExhausted {
					t.Fatalf("got %v, want ResourceExhausted", err)
				}
				break
			}
		}
	})
	if n := len(samples(t, c, a.ID)); n != 0 {
		t.Fatalf("refused streams stored %d samples", n)
	}
}

func TestConnectProtocol(t *testing.T) {
	c := controllertest.Start(t)
	c.Tenant(t, "acme")
	a := c.EnrollAgent(t, "acme", "h")
	s := connect(t, c.AgentClient(t, a.TLS))
	if err := s.Send(&agentv1.AgentMessage{Msg: &agentv1.AgentMessage_Hello{Hello: &agentv1.Hello{ProtocolVersion: 99}}}); err != nil {
		t.Fatal(err)
	}
	m, err := s.Recv()
	if err != nil {
		t.Fatal(err)
	}
	w := m.GetWelcome()
	if w.GetProtocolVersion() != version.Protocol || w.GetAgentId() != a.ID || w.GetCommittedSeq() != 0 {
		t.Fatalf("welcome %v", w)
	}
	// Reports 1..3, one invalid (NaN-free but used > total), then a replay of 2.
	_ = s.Send(report(1, 10))
	_ = s.Send(&agentv1.AgentMessage{Msg: &agentv1.AgentMessage_Report{Report: &agentv1.Report{Seq: 2, TimeUnixMs: 1,
		Body: &agentv1.Report_Metrics{Metrics: &agentv1.Metrics{MemTotal: 1, MemUsed: 5}}}}})
	_ = s.Send(report(3, 30))
	_ = s.Send(report(2, 20))
	var acked uint64
	for acked < 3 {
		m, err := s.Recv()
		if err != nil {
			t.Fatal(err)
		}
		acked = m.GetAck().GetSeq()
	}
	got := samples(t, c, a.ID)
	if len(got) != 2 || got[0].GetSeq() != 1 || got[1].GetSeq() != 3 {
		t.Fatalf("stored %v; want seq 1 and 3 (2 invalid, its replay ignored)", got)
	}

	// A second stream of the same agent replaces the first: the first gets
	// GoAway with the reason, and its connection closes soon after if the
	// agent does not leave by itself.
	s2 := connect(t, c.AgentClient(t, a.TLS))
	_ = s2.Send(hello())
	m, err = s2.Recv()
	if err != nil || m.GetWelcome().GetCommittedSeq() != 3 {
		t.Fatalf("second stream: %v %v", m, err)
	}
	var goaway *agentv1.GoAway
	start := time.Now()
	for {
		m, err := s.Recv()
		if err != nil {
			break
		}
		if g := m.GetGoaway(); g != nil {
			goaway = g
		}
	}
	if !strings.Contains(goaway.GetReason(), "replaced by a newer connection") || goaway.GetRetryAfterSeconds() == 0 {
		t.Fatalf("first stream's GoAway: %v", goaway)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("first stream ended %s after it was replaced", d)
	}
	// The second stream is unharmed.
	_ = s2.Send(report(4, 40))
	if m, err := s2.Recv(); err != nil || m.GetAck().GetSeq() != 4 {
		t.Fatalf("second stream after the first ended: %v %v", m, err)
	}
}

// TestRevokedBeforeHello: a revocation that lands while a stream is being
// set up (after the TLS handshake, before Hello) must still refuse it.
func TestRevokedBeforeHello(t *testing.T) {
	c := controllertest.Start(t)
	c.Tenant(t, "acme")
	a := c.EnrollAgent(t, "acme", "h")
	s := connect(t, c.AgentClient(t, a.TLS))
	if _, err := c.Admin(t).RevokeAgent(context.Background(), &managev1.RevokeAgentRequest{Id: a.ID}); err != nil {
		t.Fatal(err)
	}
	_ = s.Send(hello())
	_ = s.Send(report(1, 1))
	for {
		m, err := s.Recv()
		if err != nil {
			if status.Code(err) != codes.PermissionDenied {
				t.Fatalf("got %v, want PermissionDenied", err)
			}
			break
		}
		if m.GetAck() != nil {
			t.Fatal("a revoked agent's report was acknowledged")
		}
	}
	if n := len(samples(t, c, a.ID)); n != 0 {
		t.Fatalf("revoked agent stored %d samples", n)
	}
}

// TestBadVolumeCostsOnlyItself: one malformed volume is dropped, the rest
// of the sample is stored.
func TestBadVolumeCostsOnlyItself(t *testing.T) {
	c, a, s := welcomed(t)
	_ = s.Send(&agentv1.AgentMessage{Msg: &agentv1.AgentMessage_Report{Report: &agentv1.Report{Seq: 1, TimeUnixMs: time.Now().UnixMilli(),
		Body: &agentv1.Report_Metrics{Metrics: &agentv1.Metrics{CpuPercent: 5, Volumes: []*agentv1.Volume{
			{Mount: "/", Total: 10, Used: 1, Free: 9},
			{Mount: "/mnt/bad\ttab", Total: 10, Used: 1},
			{Mount: "/data", Total: 1, Used: 5},
		}}}}}})
	for {
		m, err := s.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if m.GetAck().GetSeq() == 1 {
			break
		}
	}
	got := samples(t, c, a.ID)
	if len(got) != 1 || len(got[0].GetMetrics().GetVolumes()) != 1 || got[0].GetMetrics().GetCpuPercent() != 5 {
		t.Fatalf("stored %v", got)
	}
}
