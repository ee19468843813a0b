package alerting_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vigil-rmm/vigil/controller/internal/alert"
	"github.com/vigil-rmm/vigil/controller/internal/alerting"
)

// TestSubject: every notice kind gets its prefix, the host falls back to
// the agent id, and an item shows in brackets by its label.
func TestSubject(t *testing.T) {
	r := &alert.Rule{ID: "disk", Tenant: "acme", Kind: alert.KindMetric, Enabled: true,
		Metric: &alert.MetricParams{Metric: alert.MetricDiskFree, Op: alert.OpBelow, Threshold: 10}}
	host := alert.Target{Agent: "ag-1", Host: "web-01"}
	tests := []struct {
		n    alert.Notice
		want string
	}{
		{alert.Notice{Kind: alert.NoticeFiring, Target: host}, "FIRING: disk free < 10% on web-01"},
		{alert.Notice{Kind: alert.NoticeRepeat, Repeat: 2, Target: alert.Target{Agent: "ag-1", Item: "C:"}},
			"REPEAT 2: disk free < 10% on ag-1 [C:]"},
		{alert.Notice{Kind: alert.NoticeEscalation, Target: alert.Target{Host: "controller", Item: "ck-1", Label: "shop"}},
			"ESCALATION: disk free < 10% on controller [shop]"},
		{alert.Notice{Kind: alert.NoticeResolved, Target: host}, "RESOLVED: disk free < 10% on web-01"},
	}
	for _, tt := range tests {
		if got := alerting.Subject(tt.n, r); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.n.Kind, got, tt.want)
		}
	}
}

// TestSubjectIsOneShortLine: agent-supplied text is flattened to one line
// and cut at a character boundary.
func TestSubjectIsOneShortLine(t *testing.T) {
	r := &alert.Rule{ID: "verify", Tenant: "acme", Kind: alert.KindVerifyFailed, Enabled: true}
	n := alert.Notice{Kind: alert.NoticeFiring, Target: alert.Target{Agent: "ag-1", Host: "web\n01", Item: strings.Repeat("é", 200)}}
	got := alerting.Subject(n, r)
	if !strings.HasPrefix(got, "FIRING: post-maintenance verification failed on web 01 [éé") || !strings.HasSuffix(got, "…") ||
		len(got) > 200+len("…") || !utf8.ValidString(got) || strings.ContainsAny(got, "\n") {
		t.Errorf("subject %q (%d bytes)", got, len(got))
	}
}
