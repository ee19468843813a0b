package agentapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/controllertest"
	"github.com/vigil-rmm/vigil/internal/limits"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

func stateReport(seq uint64, scan *agentv1.PatchScan) *agentv1.AgentMessage {
	return &agentv1.AgentMessage{Msg: &agentv1.AgentMessage_Report{Report: &agentv1.Report{Seq: seq, TimeUnixMs: time.Now().UnixMilli(),
		Body: &agentv1.Report_Patches{Patches: scan}}}}
}

func scanOf(n, titleLen int) *agentv1.PatchScan {
	s := &agentv1.PatchScan{Source: "apt", Status: agentv1.ScanStatus_SCAN_STATUS_OK, Hash: []byte("0123456789abcdef")}
	for i := range n {
		s.Pending = append(s.Pending, &agentv1.PendingUpdate{Id: fmt.Sprintf("pkg-%05d", i), Title: strings.Repeat("t", titleLen)})
	}
	return s
}

// TestHostileStateReports: state reports that break the limits are
// skipped with their sequence committed; the stream, the agent's other
// reports and other agents are unaffected, and nothing is stored.
func TestHostileStateReports(t *testing.T) {
	c := controllertest.Start(t)
	c.Tenant(t, "acme")
	a := c.EnrollAgent(t, "acme", "h")
	s := connect(t, c.AgentClient(t, a.TLS))
	if err := s.Send(hello()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}

	// Just under the stream's message limit, over the state report limit.
	big := scanOf(1000, limits.MaxText)
	if n := len(big.GetPending()) * limits.MaxText; n < limits.MaxStateReport || n > limits.MaxMessage-8<<10 {
		t.Fatalf("test report of about %d bytes is not between the limits", n)
	}
	unknown := scanOf(1, 10)
	unknown.ProtoReflect().SetUnknown([]byte{0x98, 0x06, 0x01})
	undefined := scanOf(1, 10)
	undefined.Pending[0].Classification = agentv1.Classification(77)
	good := scanOf(2, 10)
	for i, m := range []*agentv1.AgentMessage{stateReport(1, big), stateReport(2, unknown), stateReport(3, undefined), stateReport(4, good)} {
		if err := s.Send(m); err != nil {
			t.Fatalf("send %d: %v", i+1, err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := s.Recv()
		if err != nil {
			t.Fatalf("stream ended: %v", err)
		}
		if m.GetAck().GetSeq() == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no ack for seq 4")
		}
	}
	st, err := c.Admin(t).GetPatchState(context.Background(), &managev1.GetPatchStateRequest{AgentId: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.GetPending()) != 2 {
		t.Fatalf("stored %d pending, want the 2 of the only valid report", len(st.GetPending()))
	}
}
