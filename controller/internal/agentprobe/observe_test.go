package agentprobe

import (
	"testing"

	"github.com/vigil-rmm/vigil/controller/internal/ingest"
	"github.com/vigil-rmm/vigil/internal/logging"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// TestObserveMatchesRunAndAgent: only the agent a run went to can answer
// it, once; unknown run ids are ignored.
func TestObserveMatchesRunAndAgent(t *testing.T) {
	reg := &Registry{logger: logging.Discard(), runs: map[string]*run{}}
	w := &run{agentID: "ag-a", result: make(chan *agentv1.CheckRunResult, 1)}
	reg.runs["r1"] = w
	ok := &agentv1.CheckRunResult{RunId: "r1", Status: agentv1.CheckStatus_CHECK_STATUS_OK}
	reg.Observe([]ingest.Applied{
		{AgentID: "ag-a", Check: &agentv1.CheckRunResult{RunId: "unknown", Status: agentv1.CheckStatus_CHECK_STATUS_OK}},
		{AgentID: "ag-b", Check: &agentv1.CheckRunResult{RunId: "r1", Status: agentv1.CheckStatus_CHECK_STATUS_NG}},
		{AgentID: "ag-a"}, // a state report
	})
	select {
	case got := <-w.result:
		t.Fatalf("run answered by %v", got)
	default:
	}
	reg.Observe([]ingest.Applied{{AgentID: "ag-a", Check: ok}, {AgentID: "ag-a", Check: ok}})
	if got := <-w.result; got.GetStatus() != agentv1.CheckStatus_CHECK_STATUS_OK {
		t.Fatalf("answer = %v", got)
	}
	if reg.Waiting() != 0 {
		t.Fatal("an answered run is still waiting")
	}
}
