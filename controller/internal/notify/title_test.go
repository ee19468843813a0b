package notify_test

import (
	"testing"

	"github.com/vigil-rmm/vigil/controller/internal/notify"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

func TestTitleDoesNotRepeatTheKind(t *testing.T) {
	for _, tc := range []struct{ kind, subject, want string }{
		{"down", "DOWN: tcp db01:5432 (from controller)", "DOWN: tcp db01:5432 (from controller)"},
		{"repeat", "REPEAT 2: cpu > 95% for 15m on web-01", "REPEAT 2: cpu > 95% for 15m on web-01"},
		{"firing", "cpu > 95% for 15m on web-01", "FIRING: cpu > 95% for 15m on web-01"},
		{"down", "Downstairs printer", "DOWN: Downstairs printer"},
	} {
		n := &storev1.Notification{Kind: tc.kind, Subject: tc.subject}
		if got := notify.Title(n); got != tc.want {
			t.Errorf("Title(%s, %q) = %q, want %q", tc.kind, tc.subject, got, tc.want)
		}
	}
}
