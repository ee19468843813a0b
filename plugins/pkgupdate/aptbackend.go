package pkgupdate

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vigil-rmm/vigil/plugins/pkgupdate/apt"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// aptBackend scans with apt-get.
type aptBackend struct {
	bin  string // apt-get
	run  Runner
	root string // where run/reboot-required lives
	// environ is the environment upgrade commands start from.
	environ func() []string
}

var _ Backend = (*aptBackend)(nil)

func (*aptBackend) Source() string { return string(ManagerApt) }

func (b *aptBackend) Scan(ctx context.Context, opts Options) (*Result, error) {
	ups, err := apt.Scan(ctx, b.run, apt.Options{
		AptGet:       b.bin,
		Update:       opts.Refresh,
		SourceList:   opts.SourceList,
		ListsDir:     opts.ListsDir,
		CacheDir:     opts.CacheDir,
		ExtraOptions: opts.AptOptions,
	})
	if errors.Is(err, apt.ErrMalformed) {
		return nil, parseError(err)
	}
	if err != nil {
		return nil, commandError(ctx, "apt", err)
	}
	res := &Result{Pending: AptPending(ups)}
	res.RebootRequired, res.AwaitingReboot, err = b.awaitingReboot(ctx)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// AptPending maps apt updates to pending updates, sorted by id. Packages
// the upgrade would newly install are left out.
func AptPending(ups []apt.Update) []*agentv1.PendingUpdate {
	var out []*agentv1.PendingUpdate
	for _, u := range ups {
		if u.New {
			continue
		}
		id := u.Name
		if u.Foreign {
			id += ":" + u.Arch
		}
		class := agentv1.Classification_CLASSIFICATION_UPDATE
		if u.Security {
			class = agentv1.Classification_CLASSIFICATION_SECURITY
		}
		out = append(out, &agentv1.PendingUpdate{
			Id:               id,
			Package:          u.Name,
			Title:            title(id, u.Installed, u.Candidate),
			Classification:   class,
			CurrentVersion:   u.Installed,
			AvailableVersion: u.Candidate,
			Origin:           aptOrigin(u),
		})
	}
	sortUpdates(out)
	return out
}

// aptOrigin returns the label ("Debian-Security") of the first security
// origin of u, or of its first origin.
func aptOrigin(u apt.Update) string {
	if len(u.Origins) == 0 {
		return ""
	}
	pick := u.Origins[0]
	if u.Security {
		for _, o := range u.Origins {
			if apt.IsSecurityOrigin(o) {
				pick = o
				break
			}
		}
	}
	label, _, _ := strings.Cut(pick, ":")
	return label
}

// awaitingReboot reads root/run/reboot-required and its .pkgs list and
// looks up the installed versions of the listed packages. dpkg-query
// failing (a package removed since) leaves versions empty.
func (b *aptBackend) awaitingReboot(ctx context.Context) (bool, []*agentv1.PendingUpdate, error) {
	run := filepath.Join(b.root, "run")
	if _, err := os.Stat(filepath.Join(run, "reboot-required")); errors.Is(err, fs.ErrNotExist) {
		return false, nil, nil
	} else if err != nil {
		return false, nil, &ScanError{Code: "read", Message: oneLine(err.Error()), Err: err}
	}
	data, err := os.ReadFile(filepath.Join(run, "reboot-required.pkgs"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return true, nil, &ScanError{Code: "read", Message: oneLine(err.Error()), Err: err}
	}
	names := ParseRebootPkgs(data)
	if len(names) == 0 {
		return true, nil, nil
	}
	args := append([]string{"-W", "-f=${Package}\t${Version}\n"}, names...)
	out, _, err := b.run.Run(ctx, "dpkg-query", args, []string{"LC_ALL=C"})
	if ctx.Err() != nil {
		return true, nil, ctx.Err()
	}
	_ = err // dpkg-query exits 1 when a name is not installed; its stdout still lists the rest.
	versions := ParseDpkgVersions(out)
	var ups []*agentv1.PendingUpdate
	for _, n := range names {
		v := versions[n]
		ups = append(ups, &agentv1.PendingUpdate{
			Id:             n,
			Package:        n,
			Title:          strings.TrimSpace(n + " " + v),
			Classification: agentv1.Classification_CLASSIFICATION_UPDATE,
			CurrentVersion: v,
		})
	}
	sortUpdates(ups)
	return true, ups, nil
}

// ParseRebootPkgs parses /run/reboot-required.pkgs: one package per line.
// It returns the valid names, de-duplicated and sorted.
func ParseRebootPkgs(data []byte) []string {
	var names []string
	for line := range strings.Lines(string(data)) {
		n := strings.TrimSpace(line)
		if validPackageName(n) && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// validPackageName reports whether s can be a Debian package name, possibly
// with an ":arch" qualifier; it keeps odd lines out of the dpkg-query
// command line.
func validPackageName(s string) bool {
	if s == "" || len(s) > 256 || s[0] == '-' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("+-.:_~", c) >= 0) {
			return false
		}
	}
	return true
}

// ParseDpkgVersions parses "dpkg-query -W -f='${Package}\t${Version}\n'"
// output into package → version. The first line for a package wins; lines
// without both fields are skipped.
func ParseDpkgVersions(out []byte) map[string]string {
	m := map[string]string{}
	for line := range strings.Lines(string(out)) {
		name, version, ok := strings.Cut(strings.TrimRight(line, "\r\n"), "\t")
		name, version = strings.TrimSpace(name), strings.TrimSpace(version)
		if !ok || name == "" || version == "" {
			continue
		}
		if _, seen := m[name]; !seen {
			m[name] = version
		}
	}
	return m
}

// title is "id current -> available", or "id -> available" when nothing is
// installed.
func title(id, current, available string) string {
	if current == "" {
		return id + " -> " + available
	}
	return id + " " + current + " -> " + available
}

// sortUpdates orders updates by id, then available version.
func sortUpdates(ups []*agentv1.PendingUpdate) {
	slices.SortStableFunc(ups, func(a, b *agentv1.PendingUpdate) int {
		if c := strings.Compare(a.GetId(), b.GetId()); c != 0 {
			return c
		}
		return strings.Compare(a.GetAvailableVersion(), b.GetAvailableVersion())
	})
}
