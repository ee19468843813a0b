package limits

import (
	"fmt"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// Limits of network checks run by agents (CheckSpec going down,
// CheckRunResult coming back).
const (
	// MaxCheckTarget bounds CheckSpec.target: a host name, an address or
	// a URL.
	MaxCheckTarget = 2048
	// MaxCheckDetail bounds CheckRunResult.detail and refused_reason: one
	// line for a person, not a body.
	MaxCheckDetail = 300
	// MaxCheckRunID bounds CheckRun.run_id (the controller's are 32 hex
	// digits).
	MaxCheckRunID = 64
	// MaxCheckKeyword bounds CheckSpec.http_keyword.
	MaxCheckKeyword = 256
	// MaxCheckStatusCodes bounds CheckSpec.http_status.
	MaxCheckStatusCodes = 16
	// MaxCheckPingCount bounds CheckSpec.ping_count.
	MaxCheckPingCount = 10
	// MaxCheckTimeoutMS is the longest run; a longer timeout_ms is cut to
	// it.
	MaxCheckTimeoutMS = 60_000
	// MaxCheckCertDays bounds CheckSpec.http_min_cert_days (ten years).
	MaxCheckCertDays = 3650

	maxCheckLatencyUs = int64(3600 * 1_000_000)
)

// CleanCheckResult makes r safe to store and show: a status the schema
// does not define (or none) becomes ERR and says so in the detail, strings
// are cleaned and cut to their limits, a negative latency becomes zero,
// and unknown fields are dropped. The agent cleans what it queues and the
// controller cleans what it receives, with this same function.
func CleanCheckResult(r *agentv1.CheckRunResult) {
	if r == nil {
		return
	}
	st := r.GetStatus()
	if st == agentv1.CheckStatus_CHECK_STATUS_UNSPECIFIED || agentv1.CheckStatus_name[int32(st)] == "" {
		r.Detail = fmt.Sprintf("agent reported an unknown status %d: %s", int32(st), r.GetDetail())
		r.Status = agentv1.CheckStatus_CHECK_STATUS_ERR
	}
	normalize(r.ProtoReflect())
	r.RunId = CleanString(r.GetRunId(), MaxCheckRunID)
	r.CheckId = CleanString(r.GetCheckId(), MaxString)
	r.Detail = CleanString(r.GetDetail(), MaxCheckDetail)
	r.RefusedReason = CleanString(r.GetRefusedReason(), MaxCheckDetail)
	if r.GetRefusedReason() != "" {
		// A refused run never reached its target, whatever else it says.
		r.Status = agentv1.CheckStatus_CHECK_STATUS_ERR
	}
	// No run lasts longer than MaxCheckTimeoutMS; an hour leaves room and
	// keeps the value far from overflowing a time.Duration.
	r.LatencyUs = min(max(r.GetLatencyUs(), 0), maxCheckLatencyUs)
	if !r.GetCertDaysKnown() {
		r.CertDaysLeft = 0
	}
}
