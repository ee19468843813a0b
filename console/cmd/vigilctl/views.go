package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// The JSON views below are vigilctl's stable output (docs/cli.md). Field
// names never change meaning; new fields may be added. Times are RFC 3339
// in UTC, or null when never; sizes are bytes.

type tenantView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Timezone  string    `json:"timezone"`
	CreatedAt time.Time `json:"created_at"`
}

func tenantOf(t *managev1.Tenant) tenantView {
	return tenantView{ID: t.GetId(), Name: t.GetName(), Timezone: t.GetTimezone(), CreatedAt: unix(t.GetCreatedUnix())}
}

type tokenView struct {
	ID        string    `json:"id"`
	Tenant    string    `json:"tenant"`
	ExpiresAt time.Time `json:"expires_at"`
	Uses      uint32    `json:"uses"`
	Used      uint32    `json:"used"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

func tokenOf(t *managev1.EnrollToken) tokenView {
	return tokenView{ID: t.GetId(), Tenant: t.GetTenant(), ExpiresAt: unix(t.GetExpiresUnix()), Uses: t.GetUses(), Used: t.GetUsed(),
		CreatedBy: t.GetCreatedBy(), CreatedAt: unix(t.GetCreatedUnix())}
}

type agentView struct {
	ID             string     `json:"id"`
	Tenant         string     `json:"tenant"`
	Hostname       string     `json:"hostname"`
	OS             string     `json:"os"`
	AgentVersion   string     `json:"agent_version"`
	Online         bool       `json:"online"`
	LastSeen       *time.Time `json:"last_seen"`
	EnrolledAt     time.Time  `json:"enrolled_at"`
	Revoked        bool       `json:"revoked"`
	RevokedAt      *time.Time `json:"revoked_at"`
	DroppedMetrics uint64     `json:"dropped_metrics"`
	CommittedSeq   uint64     `json:"committed_seq"`
	Tier           string     `json:"tier"`
}

func agentOf(a *managev1.Agent) agentView {
	return agentView{ID: a.GetId(), Tenant: a.GetTenant(), Hostname: a.GetHostname(), OS: a.GetOs(), AgentVersion: a.GetAgentVersion(),
		Online: a.GetOnline(), LastSeen: unixPtr(a.GetLastSeenUnix()), EnrolledAt: unix(a.GetEnrolledUnix()), Revoked: a.GetRevoked(),
		RevokedAt: unixPtr(a.GetRevokedUnix()), DroppedMetrics: a.GetDroppedMetrics(), CommittedSeq: a.GetCommittedSeq(), Tier: a.GetTier()}
}

type factsView struct {
	Hostname        string     `json:"hostname"`
	OS              string     `json:"os"`
	Platform        string     `json:"platform"`
	PlatformVersion string     `json:"platform_version"`
	KernelVersion   string     `json:"kernel_version"`
	Arch            string     `json:"arch"`
	AgentVersion    string     `json:"agent_version"`
	BootTime        *time.Time `json:"boot_time"`
	CPUCount        uint32     `json:"cpu_count"`
	CPUModel        string     `json:"cpu_model"`
}

func factsOf(f *agentv1.Facts) *factsView {
	if f == nil {
		return nil
	}
	return &factsView{Hostname: f.GetHostname(), OS: f.GetOs(), Platform: f.GetPlatform(), PlatformVersion: f.GetPlatformVersion(),
		KernelVersion: f.GetKernelVersion(), Arch: f.GetArch(), AgentVersion: f.GetAgentVersion(), BootTime: unixPtr(f.GetBootTimeUnix()),
		CPUCount: f.GetCpuCount(), CPUModel: f.GetCpuModel()}
}

type volumeView struct {
	Mount       string  `json:"mount"`
	FSType      string  `json:"fstype"`
	Total       uint64  `json:"total"`
	Used        uint64  `json:"used"`
	Free        uint64  `json:"free"`
	UsedPercent float64 `json:"used_percent"`
}

type sampleView struct {
	Time          time.Time    `json:"time"`
	Seq           uint64       `json:"seq"`
	CPUPercent    float32      `json:"cpu_percent"`
	Load1         float32      `json:"load1"`
	Load5         float32      `json:"load5"`
	Load15        float32      `json:"load15"`
	MemTotal      uint64       `json:"mem_total"`
	MemUsed       uint64       `json:"mem_used"`
	MemAvailable  uint64       `json:"mem_available"`
	SwapTotal     uint64       `json:"swap_total"`
	SwapUsed      uint64       `json:"swap_used"`
	UptimeSeconds uint64       `json:"uptime_seconds"`
	Volumes       []volumeView `json:"volumes"`
}

func sampleOf(s *managev1.MetricSample) *sampleView {
	if s == nil {
		return nil
	}
	m := s.GetMetrics()
	v := &sampleView{Time: time.UnixMilli(s.GetTimeUnixMs()).UTC(), Seq: s.GetSeq(), CPUPercent: m.GetCpuPercent(),
		Load1: m.GetLoad1(), Load5: m.GetLoad5(), Load15: m.GetLoad15(), MemTotal: m.GetMemTotal(), MemUsed: m.GetMemUsed(),
		MemAvailable: m.GetMemAvailable(), SwapTotal: m.GetSwapTotal(), SwapUsed: m.GetSwapUsed(), UptimeSeconds: m.GetUptimeSeconds(),
		Volumes: []volumeView{}}
	for _, vol := range m.GetVolumes() {
		pct := 0.0
		if d := vol.GetUsed() + vol.GetFree(); d > 0 {
			pct = float64(vol.GetUsed()) * 100 / float64(d)
		}
		v.Volumes = append(v.Volumes, volumeView{Mount: vol.GetMount(), FSType: vol.GetFstype(), Total: vol.GetTotal(), Used: vol.GetUsed(),
			Free: vol.GetFree(), UsedPercent: float64(int(pct*10)) / 10})
	}
	return v
}

type agentDetailView struct {
	Agent  agentView   `json:"agent"`
	Facts  *factsView  `json:"facts"`
	Latest *sampleView `json:"latest"`
}

type principalView struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	Tenant    string     `json:"tenant"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

var roleNames = map[managev1.Role]string{
	managev1.Role_ROLE_ADMIN: "admin", managev1.Role_ROLE_TECHNICIAN: "technician",
	managev1.Role_ROLE_CLIENT_APPROVER: "client-approver", managev1.Role_ROLE_CLIENT_VIEWER: "client-viewer",
}

func principalOf(p *managev1.Principal) principalView {
	return principalView{ID: p.GetId(), Name: p.GetName(), Role: roleNames[p.GetRole()], Tenant: p.GetTenant(), CreatedAt: unix(p.GetCreatedUnix()),
		RevokedAt: unixPtr(p.GetRevokedUnix())}
}

func unix(s int64) time.Time { return time.Unix(s, 0).UTC() }

func unixPtr(s int64) *time.Time {
	if s == 0 {
		return nil
	}
	t := unix(s)
	return &t
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, h := range header {
		if i > 0 {
			fmt.Fprint(tw, "\t")
		}
		fmt.Fprint(tw, h)
	}
	fmt.Fprintln(tw)
	for _, r := range rows {
		for i, c := range r {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, c)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func ago(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return now().Sub(*t).Round(time.Second).String() + " ago"
}

func bytesHuman(b uint64) string {
	const unit = 1024
	if b < unit {
		return strconv.FormatUint(b, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for n := b / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTPE"[exp])
}

// csvSamples writes one row per sample and volume (a sample without
// volumes gives one row with empty volume columns).
func csvSamples(w io.Writer, samples []*sampleView) error {
	cw := newCSV(w)
	_ = cw.Write([]string{"time", "seq", "cpu_percent", "load1", "load5", "load15", "mem_total", "mem_used", "mem_available",
		"swap_total", "swap_used", "uptime_seconds", "volume_mount", "volume_fstype", "volume_total", "volume_used", "volume_free"})
	f := func(v float32) string { return strconv.FormatFloat(float64(v), 'f', 2, 32) }
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	for _, s := range samples {
		base := []string{s.Time.Format(time.RFC3339), u(s.Seq), f(s.CPUPercent), f(s.Load1), f(s.Load5), f(s.Load15), u(s.MemTotal),
			u(s.MemUsed), u(s.MemAvailable), u(s.SwapTotal), u(s.SwapUsed), u(s.UptimeSeconds)}
		if len(s.Volumes) == 0 {
			_ = cw.Write(append(base, "", "", "", "", ""))
		}
		for _, v := range s.Volumes {
			_ = cw.Write(append(append([]string{}, base...), v.Mount, v.FSType, u(v.Total), u(v.Used), u(v.Free)))
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvWriter writes CSV whose text cells cannot run as spreadsheet formulas:
// agents control host names, package names, mount points and error texts,
// and a cell such as =HYPERLINK(...) would run when a technician opens the
// file. Such cells get a leading apostrophe (the OWASP advice); numbers,
// negative ones included, are left alone.
type csvWriter struct{ *csv.Writer }

func newCSV(w io.Writer) csvWriter { return csvWriter{csv.NewWriter(w)} }

// Write writes one record, neutralizing formula cells.
func (c csvWriter) Write(rec []string) error {
	for i, v := range rec {
		rec[i] = csvCell(v)
	}
	return c.Writer.Write(rec)
}

// WriteAll writes records and flushes.
func (c csvWriter) WriteAll(recs [][]string) error {
	for _, r := range recs {
		if err := c.Write(r); err != nil {
			return err
		}
	}
	c.Flush()
	return c.Error()
}

func csvCell(v string) string {
	if v == "" || !strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return v
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return v
	}
	return "'" + v
}
