package agentapi

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/internal/limits"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// The fuzz targets feed arbitrary bytes through the same decode and
// validation an inbound message gets. They must never panic, and whatever
// validation accepts must stay within the wire limits.

func FuzzEnrollRequest(f *testing.F) {
	seed, _ := proto.Marshal(&agentv1.EnrollRequest{Token: "vgl_enr_x", CsrDer: []byte{0x30, 0x01}, Hostname: "h", AgentVersion: "v"})
	f.Add(seed)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r agentv1.EnrollRequest
		if proto.Unmarshal(b, &r) != nil {
			return
		}
		if validateEnroll(&r) == nil && (len(r.GetToken()) > maxTokenLen || len(r.GetCsrDer()) > maxCSRLen) {
			t.Fatalf("accepted an oversized request: %d token bytes, %d csr bytes", len(r.GetToken()), len(r.GetCsrDer()))
		}
	})
}

func FuzzAgentMessage(f *testing.F) {
	for _, m := range []*agentv1.AgentMessage{
		{Msg: &agentv1.AgentMessage_Hello{Hello: &agentv1.Hello{ProtocolVersion: 1, Capabilities: []string{"metrics"}}}},
		{Msg: &agentv1.AgentMessage_Report{Report: &agentv1.Report{Seq: 1, TimeUnixMs: 1, Body: &agentv1.Report_Metrics{Metrics: &agentv1.Metrics{
			CpuPercent: 12.5, MemTotal: 10, MemUsed: 5, Volumes: []*agentv1.Volume{{Mount: "/", Total: 10, Used: 3, Free: 7}}}}}}},
		{Msg: &agentv1.AgentMessage_Report{Report: &agentv1.Report{Seq: 2, TimeUnixMs: 1, Body: &agentv1.Report_Facts{Facts: &agentv1.Facts{Hostname: "h"}}}}},
		{Msg: &agentv1.AgentMessage_Report{Report: &agentv1.Report{Seq: 3, TimeUnixMs: 1, Body: &agentv1.Report_Outbox{Outbox: &agentv1.OutboxStatus{DroppedMetrics: 4}}}}},
		{Msg: &agentv1.AgentMessage_Report{Report: &agentv1.Report{Seq: 4, TimeUnixMs: 1, Body: &agentv1.Report_Task{Task: &agentv1.TaskUpdate{
			TaskId: "tk-0123456789abcdef", State: agentv1.TaskState_TASK_STATE_RUNNING, Reason: "r",
			Output: []*agentv1.OutputLine{{Line: "out\tput"}}, Result: &agentv1.TaskResult{Summary: "s", Detail: []byte("{}")}}}}}},
		{Msg: &agentv1.AgentMessage_Report{Report: &agentv1.Report{Seq: 5, TimeUnixMs: 1, Body: &agentv1.Report_Plugins{Plugins: &agentv1.PluginList{
			Tier: "proactive", Plugins: []*agentv1.PluginInfo{{Name: "reboot", Capabilities: []string{"run"}}}}}}}},
	} {
		b, _ := proto.Marshal(m)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m agentv1.AgentMessage
		if proto.Unmarshal(b, &m) != nil {
			return
		}
		switch msg := m.GetMsg().(type) {
		case *agentv1.AgentMessage_Hello:
			if validateHello(msg.Hello) == nil && len(msg.Hello.GetCapabilities()) > maxCaps {
				t.Fatal("accepted too many capabilities")
			}
		case *agentv1.AgentMessage_Report:
			if validateReport(msg.Report) == nil {
				if msg.Report.GetSeq() == 0 || msg.Report.GetBody() == nil {
					t.Fatal("accepted a report without seq or body")
				}
				if mm := msg.Report.GetMetrics(); mm != nil && (len(mm.GetVolumes()) > maxVolumes || mm.GetMemUsed() > mm.GetMemTotal()) {
					t.Fatal("accepted inconsistent metrics")
				}
				if u := msg.Report.GetTask(); u != nil {
					if len(u.GetOutput()) > MaxTaskOutputLines || len(u.GetReason()) > limits.MaxText || len(u.GetResult().GetDetail()) > MaxTaskDetail {
						t.Fatal("accepted a task update over the limits")
					}
					for _, l := range u.GetOutput() {
						if len(l.GetLine()) > MaxTaskOutputLine || strings.ContainsAny(l.GetLine(), "\x1b\r\n") {
							t.Fatalf("accepted output line %q", l.GetLine())
						}
					}
				}
			}
		}
	})
}

func TestValidateReport(t *testing.T) {
	nan := float32(0)
	nan = nan / nan
	cases := map[string]*agentv1.Report{
		"no seq":        {TimeUnixMs: 1, Body: &agentv1.Report_Metrics{Metrics: &agentv1.Metrics{}}},
		"no time":       {Seq: 1, Body: &agentv1.Report_Metrics{Metrics: &agentv1.Metrics{}}},
		"no body":       {Seq: 1, TimeUnixMs: 1},
		"nan cpu":       {Seq: 1, TimeUnixMs: 1, Body: &agentv1.Report_Metrics{Metrics: &agentv1.Metrics{CpuPercent: nan}}},
		"cpu > 100":     {Seq: 1, TimeUnixMs: 1, Body: &agentv1.Report_Metrics{Metrics: &agentv1.Metrics{CpuPercent: 250}}},
		"used > total":  {Seq: 1, TimeUnixMs: 1, Body: &agentv1.Report_Metrics{Metrics: &agentv1.Metrics{MemTotal: 1, MemUsed: 2}}},
		"facts control": {Seq: 1, TimeUnixMs: 1, Body: &agentv1.Report_Facts{Facts: &agentv1.Facts{Hostname: "x\ny"}}},
	}
	for name, r := range cases {
		if validateReport(r) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ok := &agentv1.Report{Seq: 1, TimeUnixMs: 1, Body: &agentv1.Report_Metrics{Metrics: &agentv1.Metrics{CpuPercent: 3, MemTotal: 2, MemUsed: 1,
		Volumes: []*agentv1.Volume{{Mount: "C:", Fstype: "NTFS", Total: 9, Used: 1, Free: 8}}}}}
	if err := validateReport(ok); err != nil {
		t.Errorf("valid report refused: %v", err)
	}
	withBad := &agentv1.Report{Seq: 1, TimeUnixMs: 1, Body: &agentv1.Report_Metrics{Metrics: &agentv1.Metrics{Volumes: []*agentv1.Volume{
		{}, {Mount: "/", Total: 2, Used: 1}}}}}
	if err := validateReport(withBad); err != nil || len(withBad.GetMetrics().GetVolumes()) != 1 {
		t.Errorf("a bad volume must be dropped alone: err %v, %d volumes", err, len(withBad.GetMetrics().GetVolumes()))
	}
}
