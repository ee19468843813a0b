package pkgupdate

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-rmm/vigil/plugins/pkgupdate/apt"
	"github.com/vigil-rmm/vigil/plugins/pkgupdate/dnf"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// dnfBackend scans with dnf4 or dnf5.
type dnfBackend struct {
	manager Manager // ManagerDNF4 or ManagerDNF5
	bin     string
	rpm     string
	run     Runner
	arch    string // native architecture (uname -m)
	// environ is the environment upgrade commands start from.
	environ func() []string
}

var _ Backend = (*dnfBackend)(nil)

func newDNF(m Manager, bin string, cfg Config) *dnfBackend {
	return &dnfBackend{manager: m, bin: bin, rpm: "rpm", run: cfg.Runner, arch: cfg.Arch, environ: cfg.Environ}
}

func (b *dnfBackend) Source() string { return string(b.manager) }

var dnfEnv = []string{"LC_ALL=C"}

func (b *dnfBackend) Scan(ctx context.Context, opts Options) (*Result, error) {
	if opts.Refresh {
		if _, _, err := b.run.Run(ctx, b.bin, []string{"--refresh", "makecache"}, dnfEnv); err != nil {
			return nil, commandError(ctx, "dnf", err)
		}
	}
	check := "check-update"
	if b.manager == ManagerDNF5 {
		check = "check-upgrade"
	}
	out, code, err := b.run.Run(ctx, b.bin, []string{check}, dnfEnv)
	if err != nil && code != 100 {
		return nil, commandError(ctx, "dnf", err)
	}
	ups, err := dnf.ParseCheckUpdate(out, code)
	if err != nil {
		if errors.Is(err, dnf.ErrFailed) {
			return nil, commandError(ctx, "dnf", &apt.ExitError{Code: code})
		}
		return nil, parseError(err)
	}
	if len(ups) == 0 {
		return &Result{}, nil
	}
	adv := []string{"updateinfo", "list", "--updates"}
	if b.manager == ManagerDNF5 {
		adv = []string{"advisory", "list", "--updates"}
	}
	out, _, err = b.run.Run(ctx, b.bin, adv, dnfEnv)
	if err != nil {
		return nil, commandError(ctx, "dnf", err)
	}
	advs, err := dnf.ParseUpdateInfo(out)
	if err != nil {
		return nil, parseError(err)
	}
	installed, err := b.installed(ctx, ups)
	if err != nil {
		return nil, err
	}
	return &Result{Pending: DNFPending(ups, advs, installed, b.arch)}, nil
}

// installed asks rpm for the installed versions of the packages in ups. A
// name that is not installed (an obsoleting package) makes rpm exit
// non-zero; the versions it did print are still used.
func (b *dnfBackend) installed(ctx context.Context, ups []dnf.Update) (map[string]string, error) {
	args := []string{"-q", "--qf", RPMQueryFormat, "--"}
	for _, u := range ups {
		if !slices.Contains(args[4:], u.Name) {
			args = append(args, u.Name)
		}
	}
	out, _, _ := b.run.Run(ctx, b.rpm, args, dnfEnv)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return ParseRPMVersions(out), nil
}

// RPMQueryFormat is the rpm --qf format ParseRPMVersions reads:
// name.arch, [epoch:]version-release and install time, tab-separated.
const RPMQueryFormat = `%{NAME}.%{ARCH}\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\t%{INSTALLTIME}\n`

// ParseRPMVersions parses rpm -q output in RPMQueryFormat into name.arch →
// [epoch:]version-release. When a name.arch is installed more than once
// (kernels), the most recently installed wins, then the later line. A
// zero epoch is dropped, as dnf prints versions. Other lines ("package x
// is not installed") are skipped.
func ParseRPMVersions(out []byte) map[string]string {
	type seen struct {
		version string
		at      int64
	}
	best := map[string]seen{}
	for line := range strings.Lines(string(out)) {
		f := strings.Split(strings.TrimRight(line, "\r\n"), "\t")
		if len(f) != 3 || !strings.Contains(f[0], ".") || f[1] == "" || strings.ContainsAny(f[0]+f[1], " ") {
			continue
		}
		at, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			continue
		}
		v := strings.TrimPrefix(f[1], "0:")
		if v == "" {
			continue // "0:" alone: no version
		}
		if cur, ok := best[f[0]]; !ok || at >= cur.at {
			best[f[0]] = seen{v, at}
		}
	}
	m := make(map[string]string, len(best))
	for k, s := range best {
		m[k] = s.version
	}
	return m
}

// DNFPending joins check-update rows with advisory rows and installed
// versions (name.arch → version) and maps them to pending updates, sorted
// by id. arch is the native architecture.
func DNFPending(ups []dnf.Update, advs []dnf.Advisory, installed map[string]string, arch string) []*agentv1.PendingUpdate {
	byPkg := map[string][]dnf.Advisory{}
	for _, a := range advs {
		k := a.Name + "." + a.Arch
		byPkg[k] = append(byPkg[k], a)
	}
	var out []*agentv1.PendingUpdate
	for _, u := range ups {
		key := u.Name + "." + u.Arch
		id := u.Name
		if u.Arch != "noarch" && u.Arch != arch {
			id += ":" + u.Arch
		}
		cur := installed[key]
		p := &agentv1.PendingUpdate{
			Id:               id,
			Package:          u.Name,
			Title:            title(id, cur, u.Version),
			CurrentVersion:   cur,
			AvailableVersion: u.Version,
			Origin:           u.Repo,
		}
		applyAdvisories(p, byPkg[key])
		out = append(out, p)
	}
	sortUpdates(out)
	return out
}

// applyAdvisories sets the classification, severity, advisory ids and
// release date of p from its advisories.
func applyAdvisories(p *agentv1.PendingUpdate, advs []dnf.Advisory) {
	var security, bugfix, enhancement, other bool
	for _, a := range advs {
		switch strings.ToLower(a.Type) {
		case "security":
			security = true
		case "bugfix":
			bugfix = true
		case "enhancement":
			enhancement = true
		default:
			other = true
		}
		if s := severity(a.Severity); s > p.Severity {
			p.Severity = s
		}
		if !slices.Contains(p.Advisories, a.ID) {
			p.Advisories = append(p.Advisories, a.ID)
		}
		if t, err := time.Parse(time.DateTime, a.Issued); err == nil && t.Unix() > p.ReleaseUnix {
			p.ReleaseUnix = t.Unix()
		}
	}
	slices.Sort(p.Advisories)
	switch {
	case security:
		p.Classification = agentv1.Classification_CLASSIFICATION_SECURITY
	case enhancement && !bugfix && !other:
		p.Classification = agentv1.Classification_CLASSIFICATION_FEATURE_PACK
	default:
		p.Classification = agentv1.Classification_CLASSIFICATION_UPDATE
	}
}

func severity(s dnf.Severity) agentv1.Severity {
	switch s {
	case dnf.SeverityCritical:
		return agentv1.Severity_SEVERITY_CRITICAL
	case dnf.SeverityImportant:
		return agentv1.Severity_SEVERITY_IMPORTANT
	case dnf.SeverityModerate:
		return agentv1.Severity_SEVERITY_MODERATE
	case dnf.SeverityLow:
		return agentv1.Severity_SEVERITY_LOW
	}
	return agentv1.Severity_SEVERITY_UNSPECIFIED
}
