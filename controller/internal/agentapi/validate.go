package agentapi

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/internal/limits"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// Limits on what an agent may send. Every byte from an agent is hostile.
// Report limits are shared with the agent (internal/limits).
const (
	maxTokenLen    = 256
	maxCSRLen      = 4096
	maxShortString = limits.MaxString
	maxVolumes     = limits.MaxVolumes
	maxCaps        = 64
	maxHash        = 32
	maxTier        = 64
	// MaxAgentMessage is the gRPC receive limit on the agent listener.
	MaxAgentMessage = limits.MaxMessage
)

func checkString(field, s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%s: %d bytes, limit %d", field, len(s), max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s: not valid UTF-8", field)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%s: control character %U", field, r)
		}
	}
	return nil
}

func validateEnroll(r *agentv1.EnrollRequest) error {
	if r.GetToken() == "" {
		return fmt.Errorf("token: required (create one with `vigilctl token create`)")
	}
	if err := checkString("token", r.GetToken(), maxTokenLen); err != nil {
		return err
	}
	if len(r.GetCsrDer()) == 0 || len(r.GetCsrDer()) > maxCSRLen {
		return fmt.Errorf("csr_der: want 1 to %d bytes, have %d", maxCSRLen, len(r.GetCsrDer()))
	}
	if err := checkString("hostname", r.GetHostname(), maxShortString); err != nil {
		return err
	}
	return checkString("agent_version", r.GetAgentVersion(), maxShortString)
}

func validateHello(h *agentv1.Hello) error {
	if h.GetProtocolVersion() == 0 {
		return fmt.Errorf("hello.protocol_version: required")
	}
	if len(h.GetCapabilities()) > maxCaps {
		return fmt.Errorf("hello.capabilities: %d entries, limit %d", len(h.GetCapabilities()), maxCaps)
	}
	for i, c := range h.GetCapabilities() {
		if err := checkString(fmt.Sprintf("hello.capabilities[%d]", i), c, 64); err != nil {
			return err
		}
	}
	if err := checkString("hello.tier", h.GetTier(), maxTier); err != nil {
		return err
	}
	if h.GetBootTimeUnix() < 0 {
		return fmt.Errorf("hello.boot_time_unix: %d is negative", h.GetBootTimeUnix())
	}
	return checkString("hello.agent_version", h.GetAgentVersion(), maxShortString)
}

func finite(field string, f float32, lo, hi float64) error {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) || v < lo || v > hi {
		return fmt.Errorf("%s: %v out of range [%v, %v]", field, f, lo, hi)
	}
	return nil
}

// validateReport checks one report. An invalid report is logged and its
// body dropped, but its sequence is committed, so that a faulty agent
// cannot wedge its own outbox (docs/adr/0005). Bad volumes are dropped
// one by one and cost the sample nothing else.
func validateReport(r *agentv1.Report) error {
	if r.GetSeq() == 0 {
		return fmt.Errorf("report.seq: required")
	}
	if r.GetTimeUnixMs() <= 0 {
		return fmt.Errorf("report.time_unix_ms: required")
	}
	switch b := r.GetBody().(type) {
	case *agentv1.Report_Metrics:
		return validateMetrics(b.Metrics)
	case *agentv1.Report_Facts:
		return validateFacts(b.Facts)
	case *agentv1.Report_Outbox:
		return nil
	case *agentv1.Report_Patches:
		return validateState("patches", b.Patches, b.Patches.GetHash(), func(m *agentv1.PatchScan) int { return limits.CleanPatchScan(m) })
	case *agentv1.Report_Reboot:
		return validateState("reboot", b.Reboot, b.Reboot.GetHash(), func(m *agentv1.RebootState) int { return limits.CleanReboot(m) })
	case *agentv1.Report_Inventory:
		return validateState("inventory", b.Inventory, b.Inventory.GetHash(), func(m *agentv1.Inventory) int { return limits.CleanInventory(m) })
	case *agentv1.Report_Digest:
		return validateDigest(b.Digest)
	case *agentv1.Report_Task:
		return validateTaskUpdate(b.Task)
	case *agentv1.Report_Plugins:
		return validatePluginList(b.Plugins)
	case *agentv1.Report_Check:
		// A check result is cleaned rather than refused: an unknown
		// status becomes ERR and says so, long text is cut, so the
		// run waiting for it still gets an answer.
		limits.CleanCheckResult(b.Check)
		return nil
	case nil:
		return fmt.Errorf("report.body: required")
	default:
		return fmt.Errorf("report.body: unknown kind %T", b)
	}
}

// validateState accepts a state report only if it fits
// limits.MaxStateReport and the agent's own cleaning (internal/limits)
// would leave it unchanged: the limits, enum values and the absence of
// unknown fields are enforced by the same code on both sides, so they
// cannot drift apart, and a report that passes always fits one store record.
func validateState[M proto.Message](field string, m M, hash []byte, clean func(M) int) error {
	if n := proto.Size(m); n > limits.MaxStateReport {
		return fmt.Errorf("%s: %d bytes, limit %d", field, n, limits.MaxStateReport)
	}
	if len(hash) == 0 || len(hash) > maxHash {
		return fmt.Errorf("%s.hash: want 1 to %d bytes, have %d", field, maxHash, len(hash))
	}
	c := proto.Clone(m).(M)
	if dropped := clean(c); dropped > 0 {
		return fmt.Errorf("%s: %d list entries over the limits", field, dropped)
	}
	if !proto.Equal(c, m) {
		return fmt.Errorf("%s: a string is too long or not clean UTF-8, an enum value is undefined, or there are unknown fields", field)
	}
	return nil
}

func validateDigest(d *agentv1.StateDigest) error {
	if d.GetKind() == agentv1.StateKind_STATE_KIND_UNSPECIFIED || agentv1.StateKind_name[int32(d.GetKind())] == "" {
		return fmt.Errorf("digest.kind: %d is not a state kind", d.GetKind())
	}
	if len(d.GetHash()) == 0 || len(d.GetHash()) > maxHash {
		return fmt.Errorf("digest.hash: want 1 to %d bytes, have %d", maxHash, len(d.GetHash()))
	}
	return checkString("digest.request_id", d.GetRequestId(), maxShortString)
}

func validateMetrics(m *agentv1.Metrics) error {
	if err := finite("metrics.cpu_percent", m.GetCpuPercent(), 0, 100.5); err != nil {
		return err
	}
	for name, v := range map[string]float32{"metrics.load1": m.GetLoad1(), "metrics.load5": m.GetLoad5(), "metrics.load15": m.GetLoad15()} {
		if err := finite(name, v, 0, 1e6); err != nil {
			return err
		}
	}
	if m.GetMemUsed() > m.GetMemTotal() {
		return fmt.Errorf("metrics.mem_used: %d exceeds mem_total %d", m.GetMemUsed(), m.GetMemTotal())
	}
	if m.GetSwapUsed() > m.GetSwapTotal() {
		return fmt.Errorf("metrics.swap_used: %d exceeds swap_total %d", m.GetSwapUsed(), m.GetSwapTotal())
	}
	// A bad volume costs only itself: the sample's other figures stay.
	kept := m.Volumes[:0]
	for i, v := range m.GetVolumes() {
		if len(kept) == maxVolumes {
			break
		}
		if err := validateVolume(fmt.Sprintf("metrics.volumes[%d]", i), v); err != nil {
			continue
		}
		kept = append(kept, v)
	}
	m.Volumes = kept
	return nil
}

func validateVolume(f string, v *agentv1.Volume) error {
	if v.GetMount() == "" {
		return fmt.Errorf("%s.mount: required", f)
	}
	if err := checkString(f+".mount", v.GetMount(), maxShortString); err != nil {
		return err
	}
	if err := checkString(f+".fstype", v.GetFstype(), limits.MaxFSType); err != nil {
		return err
	}
	if v.GetUsed() > v.GetTotal() {
		return fmt.Errorf("%s.used: %d exceeds total %d", f, v.GetUsed(), v.GetTotal())
	}
	return nil
}

func validateFacts(f *agentv1.Facts) error {
	for name, s := range map[string]string{
		"facts.hostname": f.GetHostname(), "facts.os": f.GetOs(), "facts.platform": f.GetPlatform(),
		"facts.platform_version": f.GetPlatformVersion(), "facts.kernel_version": f.GetKernelVersion(),
		"facts.arch": f.GetArch(), "facts.agent_version": f.GetAgentVersion(), "facts.cpu_model": f.GetCpuModel(),
	} {
		if err := checkString(name, s, maxShortString); err != nil {
			return err
		}
	}
	return nil
}

// Limits on task updates and plugin lists. The agent must keep to them:
// an update over them loses its body (the rule of every report). Text is
// cleaned rather than refused where that loses nothing that matters.
const (
	// MaxTaskOutputLines, MaxTaskOutputLine and MaxTaskDetail are shared
	// with the agent (internal/limits).
	MaxTaskOutputLines = limits.MaxTaskOutputLines
	MaxTaskOutputLine  = limits.MaxTaskOutputLine
	MaxTaskDetail      = limits.MaxTaskDetail
	// MaxPlugins bounds a plugin list, MaxPluginListBytes its size (a
	// stored record must stay well under the store's 1 MiB).
	MaxPlugins         = limits.MaxItems
	MaxPluginListBytes = 64 << 10
)

var taskIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{7,63}$`)

// validateTaskUpdate refuses an update whose task id or state is not one
// the protocol defines, or whose output or detail is over the limits.
// Reason, progress and summary strings are cut to limits.MaxText and
// control characters in them and in output lines (except tabs in output)
// are replaced, so that a runner's error text never costs the task its
// outcome.
func validateTaskUpdate(u *agentv1.TaskUpdate) error {
	if !taskIDRE.MatchString(u.GetTaskId()) {
		return fmt.Errorf("task.task_id: %q is not a task id", limits.CleanString(u.GetTaskId(), 80))
	}
	if u.GetState() == agentv1.TaskState_TASK_STATE_UNSPECIFIED || agentv1.TaskState_name[int32(u.GetState())] == "" {
		return fmt.Errorf("task.state: %d is not a task state", u.GetState())
	}
	if p := u.GetProgressPercent(); p < -1 || p > 100 {
		return fmt.Errorf("task.progress_percent: %d not in -1..100", p)
	}
	if n := len(u.GetOutput()); n > MaxTaskOutputLines {
		return fmt.Errorf("task.output: %d lines, limit %d per update", n, MaxTaskOutputLines)
	}
	for i, l := range u.GetOutput() {
		if l == nil {
			return fmt.Errorf("task.output[%d]: empty", i)
		}
		if len(l.GetLine()) > MaxTaskOutputLine {
			return fmt.Errorf("task.output[%d]: %d bytes, limit %d", i, len(l.GetLine()), MaxTaskOutputLine)
		}
		l.Line = cleanLine(l.GetLine())
	}
	if d := len(u.GetResult().GetDetail()); d > MaxTaskDetail {
		return fmt.Errorf("task.result.detail: %d bytes, limit %d", d, MaxTaskDetail)
	}
	u.Reason = limits.CleanString(u.GetReason(), limits.MaxText)
	u.ProgressMessage = limits.CleanString(u.GetProgressMessage(), limits.MaxText)
	if r := u.GetResult(); r != nil {
		r.Summary = limits.CleanString(r.GetSummary(), limits.MaxText)
	}
	return nil
}

// cleanLine replaces control characters other than tab (terminal escape
// sequences, carriage returns) with '?'.
func cleanLine(s string) string {
	return strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\t') || r == 0x7f || r == utf8.RuneError {
			return '?'
		}
		return r
	}, s)
}

func validatePluginList(pl *agentv1.PluginList) error {
	if n := proto.Size(pl); n > MaxPluginListBytes {
		return fmt.Errorf("plugins: %d bytes, limit %d", n, MaxPluginListBytes)
	}
	if n := len(pl.GetPlugins()); n > MaxPlugins {
		return fmt.Errorf("plugins: %d entries, limit %d", n, MaxPlugins)
	}
	if err := checkString("plugins.tier", pl.GetTier(), maxTier); err != nil {
		return err
	}
	if len(pl.GetHash()) > maxHash {
		return fmt.Errorf("plugins.hash: %d bytes, limit %d", len(pl.GetHash()), maxHash)
	}
	for i, p := range pl.GetPlugins() {
		f := fmt.Sprintf("plugins[%d]", i)
		if p.GetName() == "" {
			return fmt.Errorf("%s.name: required", f)
		}
		for name, v := range map[string]string{f + ".name": p.GetName(), f + ".version": p.GetVersion()} {
			if err := checkString(name, v, maxShortString); err != nil {
				return err
			}
		}
		if len(p.GetCapabilities()) > maxCaps {
			return fmt.Errorf("%s.capabilities: %d entries, limit %d", f, len(p.GetCapabilities()), maxCaps)
		}
		for j, c := range p.GetCapabilities() {
			if err := checkString(fmt.Sprintf("%s.capabilities[%d]", f, j), c, 64); err != nil {
				return err
			}
		}
		p.Error = limits.CleanString(p.GetError(), limits.MaxText)
	}
	return nil
}
