package scanner_test

import (
	"context"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/vigil-rmm/vigil/agent/internal/collector/reboot"
	"github.com/vigil-rmm/vigil/agent/internal/link"
	"github.com/vigil-rmm/vigil/agent/internal/outbox"
	"github.com/vigil-rmm/vigil/agent/internal/scanner"
	"github.com/vigil-rmm/vigil/controller/controllertest"
	"github.com/vigil-rmm/vigil/internal/logging"
	"github.com/vigil-rmm/vigil/internal/version"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// countingConn counts the bytes an agent's connection carries each way,
// TLS records and all: what the wire sees.
type countingConn struct {
	net.Conn
	in, out *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in.Add(int64(n))
	return n, err
}

func (c countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out.Add(int64(n))
	return n, err
}

// stack is a real agent (outbox, link, scanner) against a real controller.
type stack struct {
	ctl      *controllertest.Controller
	agent    *controllertest.Agent
	ob       *outbox.Outbox
	sc       *scanner.Scanner
	lk       *link.Link
	in, out  atomic.Int64
	patches  *fixedPatches
	admin    managev1.ManageServiceClient
	stopLink context.CancelFunc
}

func newStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{ctl: controllertest.Start(t), patches: &fixedPatches{scan: okScan("openssl", "libssl3")}}
	s.ctl.Tenant(t, "acme")
	s.agent = s.ctl.EnrollAgent(t, "acme", "web-01")
	s.admin = s.ctl.Admin(t)
	s.ob = openOutbox(t)
	signals := func(context.Context, bool) ([]reboot.Signal, error) {
		return []reboot.Signal{{Name: "run_reboot_required", Present: true, Strength: reboot.Strong, Detail: "libc6"}}, nil
	}
	var err error
	s.sc, err = scanner.New(scanner.Config{Outbox: s.ob, Patches: s.patches, Reboot: signals,
		StateFile: filepath.Join(t.TempDir(), "scan-state.json"), InitialSpread: -1,
		PatchInterval: time.Hour, RebootInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	dial := func(ctx context.Context, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		return countingConn{Conn: c, in: &s.in, out: &s.out}, nil
	}
	s.lk = link.New(link.Config{
		Address: s.ctl.AgentAddr, TLS: s.agent.TLS.Clone(), Outbox: s.ob, Logger: logging.Discard(),
		BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		Hello: func() *agentv1.Hello {
			return &agentv1.Hello{ProtocolVersion: version.Protocol, AgentVersion: "test",
				Capabilities: []string{"metrics", "patches", "reboot", "scan-request"}}
		},
		OnScan:      s.sc.Request,
		DialOptions: []grpc.DialOption{grpc.WithContextDialer(dial)},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { _ = s.lk.Run(ctx); done <- struct{}{} }()
	go func() { _ = s.sc.Run(ctx); done <- struct{}{} }()
	s.stopLink = func() { cancel(); <-done; <-done }
	t.Cleanup(s.stopLink)
	return s
}

// settle waits until every queued report is acknowledged and the byte
// counters stop moving.
func (s *stack) settle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	last := int64(-1)
	for {
		st, err := s.ob.Stats(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		total := s.in.Load() + s.out.Load()
		if st.Pending == 0 && total == last {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent did not settle: %d reports pending", st.Pending)
		}
		last = total
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *stack) bytes() int64 { return s.in.Load() + s.out.Load() }

func TestRescanWaitStoresResults(t *testing.T) {
	s := newStack(t)
	ctx := t.Context()
	waitFor(t, "the agent to connect", func() bool { return s.lk.Status().Connected })
	resp, err := s.admin.RescanAgent(ctx, &managev1.RescanAgentRequest{AgentId: s.agent.ID, WaitSeconds: 20})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.GetCompleted() || resp.GetScan().GetStatus() != agentv1.ScanStatus_SCAN_STATUS_OK {
		t.Fatalf("rescan = %v, want completed with an OK scan", resp)
	}
	if resp.GetScan().GetRequestId() != resp.GetRequestId() {
		t.Errorf("stored scan answers %q, want the request %q", resp.GetScan().GetRequestId(), resp.GetRequestId())
	}
	st, err := s.admin.GetPatchState(ctx, &managev1.GetPatchStateRequest{AgentId: s.agent.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.GetPending()) != 2 || st.GetPending()[0].GetFirstSeenUnix() == 0 {
		t.Fatalf("patch state = %v, want 2 pending with first-seen times", st)
	}
	rb, err := s.admin.GetRebootState(ctx, &managev1.GetRebootStateRequest{AgentId: s.agent.ID})
	if err != nil {
		t.Fatal(err)
	}
	if !rb.GetState().GetPending() || rb.GetState().GetSignals()[0].GetDetail() != "libc6" {
		t.Fatalf("reboot state = %v, want pending from run_reboot_required", rb)
	}
}

// TestUnchangedRescanBytes measures what an unchanged scan costs on the
// wire once the first full report is stored: a scheduled one (digest and
// ack) and one a technician asked for (request, digest, ack).
func TestUnchangedRescanBytes(t *testing.T) {
	s := newStack(t)
	ctx := t.Context()
	waitFor(t, "the first scans to be stored", func() bool {
		st, err := s.admin.GetPatchState(ctx, &managev1.GetPatchStateRequest{AgentId: s.agent.ID})
		return err == nil && len(st.GetPending()) == 2
	})
	s.settle(t)

	before := s.bytes()
	if err := s.sc.Scan(ctx, agentv1.StateKind_STATE_KIND_PATCHES, nil, false); err != nil {
		t.Fatal(err)
	}
	s.settle(t)
	scheduled := s.bytes() - before

	before = s.bytes()
	resp, err := s.admin.RescanAgent(ctx, &managev1.RescanAgentRequest{AgentId: s.agent.ID,
		Kinds: []agentv1.StateKind{agentv1.StateKind_STATE_KIND_PATCHES}, WaitSeconds: 20})
	if err != nil || !resp.GetCompleted() {
		t.Fatalf("rescan: %v %v", resp, err)
	}
	s.settle(t)
	onDemand := s.bytes() - before
	t.Logf("unchanged patch scan on the wire: scheduled %d bytes, on demand %d bytes", scheduled, onDemand)
	if scheduled >= 200 || onDemand >= 200 {
		t.Errorf("unchanged rescan cost scheduled %d, on demand %d bytes; want under 200 each", scheduled, onDemand)
	}
}

// TestLostStateIsRequestedAgain: when the controller's stored hash does not
// match an agent's digest (a restore from backup, a deleted record), the
// controller asks for the full state and gets it.
func TestLostStateIsRequestedAgain(t *testing.T) {
	s := newStack(t)
	ctx := t.Context()
	waitFor(t, "the first scans to be stored", func() bool {
		st, err := s.admin.GetPatchState(ctx, &managev1.GetPatchStateRequest{AgentId: s.agent.ID})
		return err == nil && len(st.GetPending()) == 2
	})
	s.settle(t)
	// The controller forgets; the agent's next scan is unchanged, so it
	// sends only its digest.
	// A technician's rescan gets the digest first, which does not match;
	// the wait must end only when the full state is stored.
	s.ctl.DeleteAgentState(t, s.agent.ID)
	resp, err := s.admin.RescanAgent(ctx, &managev1.RescanAgentRequest{AgentId: s.agent.ID,
		Kinds: []agentv1.StateKind{agentv1.StateKind_STATE_KIND_PATCHES}, WaitSeconds: 20})
	if err != nil || !resp.GetCompleted() {
		t.Fatalf("rescan: %v %v", resp, err)
	}
	st, err := s.admin.GetPatchState(ctx, &managev1.GetPatchStateRequest{AgentId: s.agent.ID})
	if err != nil || len(st.GetPending()) != 2 {
		t.Fatalf("after the rescan: %v %v, want the 2 pending updates stored again", st, err)
	}

	// A scheduled digest heals the same way.
	s.ctl.DeleteAgentState(t, s.agent.ID)
	if err := s.sc.Scan(ctx, agentv1.StateKind_STATE_KIND_PATCHES, nil, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the full state to be sent again", func() bool {
		st, err := s.admin.GetPatchState(ctx, &managev1.GetPatchStateRequest{AgentId: s.agent.ID})
		return err == nil && len(st.GetPending()) == 2
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
