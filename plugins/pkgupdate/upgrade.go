package pkgupdate

import (
	"context"
	"strings"

	"github.com/vigil-rmm/vigil/plugins/internal/cmdrun"
	"github.com/vigil-rmm/vigil/plugins/pkgupdate/apt"
)

var (
	_ upgrader = (*aptBackend)(nil)
	_ upgrader = (*dnfBackend)(nil)
)

func (b *aptBackend) upgradeCmd(_ selection, targets []target, opts Options) cmdrun.Cmd {
	pkgs := make([]string, len(targets))
	for i, t := range targets {
		pkgs[i] = t.id
	}
	args := apt.InstallArgs(apt.Options{SourceList: opts.SourceList, ListsDir: opts.ListsDir,
		CacheDir: opts.CacheDir, ExtraOptions: opts.AptOptions}, pkgs)
	return cmdrun.Cmd{Path: b.bin, Args: args, Env: append(b.environ(), "LC_ALL=C", "DEBIAN_FRONTEND=noninteractive")}
}

// DpkgArchFormat is the dpkg-query -f format ParseDpkgArchVersions reads.
const DpkgArchFormat = "${Package}\t${Architecture}\t${Version}\t${db:Status-Abbrev}\n"

func (b *aptBackend) versions(ctx context.Context, ids []string) (map[string]string, error) {
	args := []string{"-W", "-f=" + DpkgArchFormat}
	for _, id := range ids {
		name, _ := splitID(id)
		args = append(args, name)
	}
	out, _, _ := b.run.Run(ctx, "dpkg-query", args, []string{"LC_ALL=C"})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// dpkg-query exits 1 when a name is unknown; its stdout lists the rest.
	return ParseDpkgArchVersions(out, ids), nil
}

// ParseDpkgArchVersions parses dpkg-query output in DpkgArchFormat and
// returns the installed version of each id: for "name:arch" the line of
// that architecture, for a bare name the first installed line of that
// name. Packages that are known but not installed (status other than
// "ii"/"iU"/...) have no version.
func ParseDpkgArchVersions(out []byte, ids []string) map[string]string {
	type row struct{ name, arch, version string }
	var rows []row
	for line := range strings.Lines(string(out)) {
		f := strings.Split(strings.TrimRight(line, "\r\n"), "\t")
		if len(f) != 4 || f[0] == "" || f[2] == "" || len(f[3]) < 2 || f[3][1] == 'n' || f[3][1] == 'c' {
			continue
		}
		rows = append(rows, row{f[0], f[1], f[2]})
	}
	m := map[string]string{}
	for _, id := range ids {
		name, arch := splitID(id)
		for _, r := range rows {
			if r.name == name && (arch == "" || r.arch == arch) {
				m[id] = r.version
				break
			}
		}
	}
	return m
}

func (b *dnfBackend) upgradeCmd(sel selection, targets []target, _ Options) cmdrun.Cmd {
	args := []string{"upgrade", "-y"}
	switch sel {
	case selSecurity:
		args = append(args, "--security")
	case selPackages:
		for _, t := range targets {
			if t.arch != "" {
				args = append(args, t.name+"."+t.arch)
			} else {
				args = append(args, t.name)
			}
		}
	}
	return cmdrun.Cmd{Path: b.bin, Args: args, Env: append(b.environ(), "LC_ALL=C")}
}

func (b *dnfBackend) versions(ctx context.Context, ids []string) (map[string]string, error) {
	args := []string{"-q", "--qf", RPMQueryFormat, "--"}
	for _, id := range ids {
		name, _ := splitID(id)
		args = append(args, name)
	}
	out, _, _ := b.run.Run(ctx, b.rpm, args, dnfEnv)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	byKey := ParseRPMVersions(out)
	m := map[string]string{}
	for _, id := range ids {
		name, arch := splitID(id)
		for _, a := range []string{arch, b.arch, "noarch"} {
			if v, ok := byKey[name+"."+a]; ok && a != "" {
				m[id] = v
				break
			}
		}
	}
	return m, nil
}
