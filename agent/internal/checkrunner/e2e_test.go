package checkrunner_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/agent/internal/checkrunner"
	"github.com/vigil-rmm/vigil/agent/internal/link"
	"github.com/vigil-rmm/vigil/agent/internal/outbox"
	"github.com/vigil-rmm/vigil/controller/controllertest"
	"github.com/vigil-rmm/vigil/internal/logging"
	"github.com/vigil-rmm/vigil/internal/netcheck/netchecktest"
	"github.com/vigil-rmm/vigil/internal/version"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// capturingOutbox is the agent's real outbox that also hands each check
// result to the test.
type capturingOutbox struct {
	*outbox.Outbox
	results chan *agentv1.CheckRunResult
}

func (o *capturingOutbox) Append(ctx context.Context, r *agentv1.Report) (uint64, error) {
	seq, err := o.Outbox.Append(ctx, r)
	if err == nil && r.GetCheck() != nil {
		o.results <- r.GetCheck()
	}
	return seq, err
}

// TestVantageChecksEndToEnd: a real controller sends CheckRuns down a
// real agent link; the agent runs them under its policy and the results
// travel back through the outbox, which the controller commits and
// acknowledges.
func TestVantageChecksEndToEnd(t *testing.T) {
	ctl := controllertest.Start(t)
	ctl.Tenant(t, "acme")
	agent := ctl.EnrollAgent(t, "acme", "vantage-01")
	ob, err := outbox.Open(filepath.Join(t.TempDir(), "outbox.db"), outbox.Options{Logger: logging.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	capOb := &capturingOutbox{Outbox: ob, results: make(chan *agentv1.CheckRunResult, 8)}
	allow, _ := checkrunner.ParseRules([]string{"127.0.0.0/8"})
	deny, _ := checkrunner.ParseRules([]string{"127.0.0.2"})
	runner, err := checkrunner.New(checkrunner.Config{Outbox: capOb, Logger: logging.Discard(),
		Policy: checkrunner.Policy{Vantage: true, Allow: allow, Deny: deny}})
	if err != nil {
		t.Fatal(err)
	}
	lk := link.New(link.Config{
		Address: ctl.AgentAddr, TLS: agent.TLS.Clone(), Outbox: ob, Logger: logging.Discard(),
		BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		Hello: func() *agentv1.Hello {
			return &agentv1.Hello{ProtocolVersion: version.Protocol, AgentVersion: "test", Capabilities: []string{version.CapChecks}}
		},
		OnCheck: runner.Request,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { _ = lk.Run(ctx); done <- struct{}{} }()
	go func() { _ = runner.Run(ctx); done <- struct{}{} }()
	defer func() { cancel(); <-done; <-done }()

	fl := ctl.Server().Fleet()
	waitUntil(t, "the agent to announce checks", func() bool {
		caps, online := fl.Capabilities(agent.ID)
		return online && slices.Contains(caps, version.CapChecks)
	})

	open := netchecktest.Listen(t).Port
	closed := netchecktest.ClosedPort(t)
	cases := []struct {
		name    string
		spec    *agentv1.CheckSpec
		status  agentv1.CheckStatus
		refused string
	}{
		{"listener", tcpSpec("127.0.0.1", open), agentv1.CheckStatus_CHECK_STATUS_OK, ""},
		{"closed port", tcpSpec("127.0.0.1", closed), agentv1.CheckStatus_CHECK_STATUS_NG, ""},
		{"denied target", tcpSpec("127.0.0.2", open), agentv1.CheckStatus_CHECK_STATUS_ERR, "checks.deny"},
		{"target outside the allow list", tcpSpec("192.0.2.7", 443), agentv1.CheckStatus_CHECK_STATUS_ERR, "checks.allow"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runID := strings.Repeat(string(rune('a'+i)), 32)
			msg := &agentv1.ControllerMessage{Msg: &agentv1.ControllerMessage_Check{Check: &agentv1.CheckRun{
				RunId: runID, CheckId: "chk-" + tc.name, Spec: tc.spec}}}
			if err := fl.Send(agent.ID, version.CapChecks, msg); err != nil {
				t.Fatal(err)
			}
			var res *agentv1.CheckRunResult
			select {
			case res = <-capOb.results:
			case <-time.After(10 * time.Second):
				t.Fatal("no result queued")
			}
			if res.GetRunId() != runID || res.GetStatus() != tc.status || !strings.Contains(res.GetRefusedReason(), tc.refused) ||
				(tc.refused == "") != (res.GetRefusedReason() == "") {
				t.Fatalf("result = %v; want run %s %s refused for %q", res, runID, tc.status, tc.refused)
			}
			waitUntil(t, "the controller to acknowledge the result", func() bool {
				st, err := ob.Stats(t.Context())
				return err == nil && st.Pending == 0
			})
		})
	}
}

func tcpSpec(host string, port int) *agentv1.CheckSpec {
	return &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_TCP, Target: host, Port: uint32(port), TimeoutMs: 2000}
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
