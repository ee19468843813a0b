package limits

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

func TestCleanCheckResult(t *testing.T) {
	cases := []struct {
		name string
		in   *agentv1.CheckRunResult
		want *agentv1.CheckRunResult
	}{
		{"unknown status", &agentv1.CheckRunResult{RunId: "r", Status: 7, Detail: "x"},
			&agentv1.CheckRunResult{RunId: "r", Status: agentv1.CheckStatus_CHECK_STATUS_ERR, Detail: "agent reported an unknown status 7: x"}},
		{"no status", &agentv1.CheckRunResult{RunId: "r"},
			&agentv1.CheckRunResult{RunId: "r", Status: agentv1.CheckStatus_CHECK_STATUS_ERR, Detail: "agent reported an unknown status 0: "}},
		{"refusal is ERR", &agentv1.CheckRunResult{Status: agentv1.CheckStatus_CHECK_STATUS_OK, RefusedReason: "no\x1b"},
			&agentv1.CheckRunResult{Status: agentv1.CheckStatus_CHECK_STATUS_ERR, RefusedReason: "no?"}},
		{"long strings", &agentv1.CheckRunResult{Status: agentv1.CheckStatus_CHECK_STATUS_OK, RunId: strings.Repeat("r", 100),
			CheckId: strings.Repeat("c", 300), Detail: strings.Repeat("d", 400)},
			&agentv1.CheckRunResult{Status: agentv1.CheckStatus_CHECK_STATUS_OK, RunId: strings.Repeat("r", MaxCheckRunID),
				CheckId: strings.Repeat("c", MaxString), Detail: strings.Repeat("d", MaxCheckDetail)}},
		{"latency", &agentv1.CheckRunResult{Status: agentv1.CheckStatus_CHECK_STATUS_WR, LatencyUs: -5},
			&agentv1.CheckRunResult{Status: agentv1.CheckStatus_CHECK_STATUS_WR}},
		{"huge latency", &agentv1.CheckRunResult{Status: agentv1.CheckStatus_CHECK_STATUS_WR, LatencyUs: 1 << 62},
			&agentv1.CheckRunResult{Status: agentv1.CheckStatus_CHECK_STATUS_WR, LatencyUs: maxCheckLatencyUs}},
		{"cert days without a certificate", &agentv1.CheckRunResult{Status: agentv1.CheckStatus_CHECK_STATUS_OK, CertDaysLeft: 12},
			&agentv1.CheckRunResult{Status: agentv1.CheckStatus_CHECK_STATUS_OK}},
		{"clean stays", &agentv1.CheckRunResult{Status: agentv1.CheckStatus_CHECK_STATUS_OK, CertDaysLeft: -3, CertDaysKnown: true, Detail: "HTTP 200"},
			&agentv1.CheckRunResult{Status: agentv1.CheckStatus_CHECK_STATUS_OK, CertDaysLeft: -3, CertDaysKnown: true, Detail: "HTTP 200"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			CleanCheckResult(tc.in)
			if !proto.Equal(tc.in, tc.want) {
				t.Fatalf("cleaned = %v, want %v", tc.in, tc.want)
			}
		})
	}
}
