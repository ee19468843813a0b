package agentapi

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

func typicalMessage() *agentv1.AgentMessage {
	const gib = 1 << 30
	return &agentv1.AgentMessage{Msg: &agentv1.AgentMessage_Report{Report: &agentv1.Report{
		Seq: 123456, TimeUnixMs: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC).UnixMilli(),
		Body: &agentv1.Report_Metrics{Metrics: &agentv1.Metrics{
			CpuPercent: 23.5, Load1: 0.7, Load5: 0.8, Load15: 0.6, MemTotal: 16 * gib, MemUsed: 6 * gib, MemAvailable: 10 * gib,
			SwapTotal: 2 * gib, SwapUsed: 10 << 20, UptimeSeconds: 1234567,
			Volumes: []*agentv1.Volume{
				{Mount: "/", Fstype: "ext4", Total: 100 * gib, Used: 40 * gib, Free: 55 * gib},
				{Mount: "/var", Fstype: "xfs", Total: 500 * gib, Used: 200 * gib, Free: 290 * gib},
				{Mount: "/boot", Fstype: "ext4", Total: gib, Used: gib / 4, Free: gib / 2},
			}}}}}}
}

// BenchmarkEnvelopeEncode is the agent's cost to encode one report.
func BenchmarkEnvelopeEncode(b *testing.B) {
	m := typicalMessage()
	b.ReportMetric(float64(proto.Size(m)), "bytes/msg")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := proto.Marshal(m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnvelopeDecodeValidate is the controller's cost to decode and
// validate one inbound report.
func BenchmarkEnvelopeDecodeValidate(b *testing.B) {
	raw, _ := proto.Marshal(typicalMessage())
	b.ReportAllocs()
	for b.Loop() {
		var m agentv1.AgentMessage
		if err := proto.Unmarshal(raw, &m); err != nil {
			b.Fatal(err)
		}
		if err := validateReport(m.GetReport()); err != nil {
			b.Fatal(err)
		}
	}
}
