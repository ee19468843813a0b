package pkgupdate_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/internal/golden"
	"github.com/vigil-rmm/vigil/plugins/pkgupdate"
	"github.com/vigil-rmm/vigil/plugins/pkgupdate/apt"
	"github.com/vigil-rmm/vigil/plugins/sdk"
	"github.com/vigil-rmm/vigil/plugins/sdk/sdktest"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// rule answers the commands whose base name is cmd and whose arguments
// contain has.
type rule struct {
	cmd, has string
	out      string // stdout, or "@path" to read it from a file
	stderr   string
	code     int
	hang     bool // block until the context ends
}

// fakeHost is the OS edge: a PATH and a command runner that answer from
// rules the way apt.ExecRunner does.
type fakeHost struct {
	path  []string // commands on PATH
	rules []rule

	mu    sync.Mutex
	calls []string
}

func (h *fakeHost) lookPath(file string) (string, error) {
	if slices.Contains(h.path, file) {
		return "/usr/bin/" + file, nil
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", file)
}

func (h *fakeHost) Run(ctx context.Context, name string, args []string, env []string) ([]byte, int, error) {
	base := filepath.Base(name)
	line := base + " " + strings.Join(args, " ")
	h.mu.Lock()
	h.calls = append(h.calls, line)
	h.mu.Unlock()
	if !slices.Contains(env, "LC_ALL=C") {
		return nil, -1, fmt.Errorf("%s run without LC_ALL=C", base)
	}
	for _, r := range h.rules {
		if r.cmd != base || !strings.Contains(" "+strings.Join(args, " ")+" ", " "+r.has+" ") {
			continue
		}
		if r.hang {
			<-ctx.Done()
			return nil, -1, ctx.Err()
		}
		out := []byte(r.out)
		if file, ok := strings.CutPrefix(r.out, "@"); ok {
			b, err := os.ReadFile(file)
			if err != nil {
				return nil, -1, err
			}
			out = b
		}
		if r.code != 0 {
			return out, r.code, &apt.ExitError{Code: r.code, Stderr: r.stderr}
		}
		return out, 0, nil
	}
	return nil, -1, fmt.Errorf("exec: %q: executable file not found in $PATH", base)
}

func (h *fakeHost) config(root string) pkgupdate.Config {
	return pkgupdate.Config{Runner: h, LookPath: h.lookPath, Root: root, Arch: "x86_64"}
}

var (
	aptPath  = []string{"apt-get", "dpkg-query"}
	dnf4Path = []string{"dnf", "rpm"}
	dnf5Path = []string{"dnf", "dnf5", "rpm"}
	dnf4Ver  = rule{cmd: "dnf", has: "--version", out: "4.14.0\n  Installed: dnf-0:4.14.0-1.fc37.noarch at Mon 01 Jan 2024\n"}
	dnf5Ver  = rule{cmd: "dnf", has: "--version", out: "dnf5 version 5.2.5.0\ndnf5 plugin API version 2.0\nlibdnf5 version 5.2.5.0\n"}
)

// inspect runs Inspect over real gRPC and decodes the scan.
func inspect(t *testing.T, p sdk.Plugin, params map[string]string) (*agentv1.PatchScan, string) {
	t.Helper()
	c := sdktest.Start(t, p)
	resp, err := c.Inspect(t.Context(), params)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	var scan agentv1.PatchScan
	if err := proto.Unmarshal(resp.GetResult(), &scan); err != nil {
		t.Fatalf("decode PatchScan: %v", err)
	}
	return &scan, resp.GetSummary()
}

// scanJSON is scan without its duration as plain JSON values, for golden
// files (protojson's own spacing is not stable).
func scanJSON(t *testing.T, scan *agentv1.PatchScan, summary string) any {
	t.Helper()
	scan = proto.CloneOf(scan)
	scan.DurationMs = 0
	b, err := protojson.Marshal(scan)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	v["summary"] = summary
	return v
}

func TestInspectGolden(t *testing.T) {
	tests := []struct {
		name   string
		path   []string
		root   string
		params map[string]string
		rules  []rule
	}{
		{
			name: "apt-debian12", path: aptPath, root: "testdata/root/reboot",
			rules: []rule{
				{cmd: "apt-get", has: "dist-upgrade", out: "@apt/testdata/debian12-dist-upgrade.txt"},
				{cmd: "dpkg-query", has: "libc6", out: "@testdata/dpkg-query-reboot.txt"},
			},
		},
		{
			name: "apt-new-and-removed", path: aptPath, root: "testdata/root/clean",
			rules: []rule{{cmd: "apt-get", has: "dist-upgrade", out: "@apt/testdata/new-and-removed.txt"}},
		},
		{
			name: "dnf4", path: dnf4Path, root: "testdata/root/clean",
			rules: []rule{
				dnf4Ver,
				{cmd: "dnf", has: "check-update", code: 100, out: "@dnf/testdata/dnf4-check-update-wrapped-obsoleting.txt"},
				{cmd: "dnf", has: "updateinfo", out: "@dnf/testdata/dnf4-updateinfo-security-fc34.txt"},
				{cmd: "rpm", has: "glibc", code: 1, out: "@testdata/dnf4-rpm-q.txt"},
			},
		},
		{
			name: "dnf5", path: dnf5Path, root: "testdata/root/clean",
			rules: []rule{
				{cmd: "dnf5", has: "check-upgrade", code: 100, out: "@testdata/dnf5-check-upgrade-fc41.txt"},
				{cmd: "dnf5", has: "advisory", out: "@testdata/dnf5-advisory-list.txt"},
				{cmd: "rpm", has: "curl", out: "@testdata/dnf5-rpm-q.txt"},
			},
		},
		{
			name: "dnf4-nothing-pending", path: dnf4Path, root: "testdata/root/clean",
			rules: []rule{dnf4Ver, {cmd: "dnf", has: "check-update", out: "Last metadata expiration check: 0:01:00 ago.\n"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHost{path: tt.path, rules: tt.rules}
			scan, summary := inspect(t, pkgupdate.New(h.config(tt.root)), tt.params)
			if scan.GetStatus() != agentv1.ScanStatus_SCAN_STATUS_OK {
				t.Fatalf("status %v %s: %s", scan.GetStatus(), scan.GetErrorCode(), scan.GetErrorMessage())
			}
			if !slices.IsSortedFunc(scan.GetPending(), func(a, b *agentv1.PendingUpdate) int { return strings.Compare(a.GetId(), b.GetId()) }) {
				t.Error("pending not sorted by id")
			}
			golden.JSON(t, filepath.Join("testdata", tt.name+".golden.json"), scanJSON(t, scan, summary))
		})
	}
}

func TestInspectAptDebian12Counts(t *testing.T) {
	h := &fakeHost{path: aptPath, rules: []rule{{cmd: "apt-get", has: "dist-upgrade", out: "@apt/testdata/debian12-dist-upgrade.txt"}}}
	scan, summary := inspect(t, pkgupdate.New(h.config("testdata/root/clean")), nil)
	sec := 0
	for _, u := range scan.GetPending() {
		if u.GetClassification() == agentv1.Classification_CLASSIFICATION_SECURITY {
			sec++
			if u.GetOrigin() != "Debian-Security" {
				t.Errorf("%s: security update with origin %q", u.GetId(), u.GetOrigin())
			}
		}
		if u.GetSeverity() != agentv1.Severity_SEVERITY_UNSPECIFIED || len(u.GetAdvisories()) != 0 {
			t.Errorf("%s: apt update with severity or advisories", u.GetId())
		}
	}
	if scan.GetSource() != "apt" || len(scan.GetPending()) != 136 || sec == 0 || scan.GetRebootRequired() {
		t.Errorf("source %q, %d pending (%d security), reboot %v; want apt, 136, some, false",
			scan.GetSource(), len(scan.GetPending()), sec, scan.GetRebootRequired())
	}
	if !strings.HasPrefix(summary, "apt: 136 pending (") {
		t.Errorf("summary %q", summary)
	}
}

// TestInspectEqualScansEncodeEqually checks that two scans of the same
// state give the same bytes once the duration is cleared.
func TestInspectEqualScansEncodeEqually(t *testing.T) {
	h := &fakeHost{path: dnf5Path, rules: []rule{
		{cmd: "dnf5", has: "check-upgrade", code: 100, out: "@testdata/dnf5-check-upgrade-fc41.txt"},
		{cmd: "dnf5", has: "advisory", out: "@testdata/dnf5-advisory-list.txt"},
		{cmd: "rpm", has: "curl", out: "@testdata/dnf5-rpm-q.txt"},
	}}
	p := pkgupdate.New(h.config("/nonexistent"))
	var enc [][]byte
	for range 3 {
		scan, _ := inspect(t, p, nil)
		scan.DurationMs = 0
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(scan)
		if err != nil {
			t.Fatal(err)
		}
		enc = append(enc, b)
	}
	if string(enc[0]) != string(enc[1]) || string(enc[1]) != string(enc[2]) {
		t.Error("equal scans encode differently")
	}
}

func TestInspectCommands(t *testing.T) {
	tests := []struct {
		name   string
		path   []string
		params map[string]string
		rules  []rule
		want   []string
	}{
		{
			name: "apt defaults", path: aptPath,
			rules: []rule{{cmd: "apt-get", has: "dist-upgrade"}},
			want:  []string{"apt-get -s -o Debug::NoLocking=1 dist-upgrade"},
		},
		{
			name: "apt refresh and mirror", path: aptPath,
			params: map[string]string{"refresh": "true", "source_list": "/m/sources.list", "lists_dir": "/m/lists", "cache_dir": "/m/cache", "manager": "apt"},
			rules:  []rule{{cmd: "apt-get", has: "update"}, {cmd: "apt-get", has: "dist-upgrade"}},
			want: []string{
				"apt-get -o Dir::Etc::SourceList=/m/sources.list -o Dir::Etc::SourceParts=- -o Dir::State::Lists=/m/lists -o APT::Get::List-Cleanup=false -o Dir::Cache=/m/cache -q update",
				"apt-get -o Dir::Etc::SourceList=/m/sources.list -o Dir::Etc::SourceParts=- -o Dir::State::Lists=/m/lists -o APT::Get::List-Cleanup=false -o Dir::Cache=/m/cache -s -o Debug::NoLocking=1 dist-upgrade",
			},
		},
		{
			name: "dnf4 refresh", path: dnf4Path, params: map[string]string{"refresh": "1"},
			rules: []rule{dnf4Ver, {cmd: "dnf", has: "makecache"}, {cmd: "dnf", has: "check-update", code: 100, out: "a.x86_64 2-1 updates\n"},
				{cmd: "dnf", has: "updateinfo"}, {cmd: "rpm", has: "a"}},
			want: []string{"dnf --version", "dnf --refresh makecache", "dnf check-update", "dnf updateinfo list --updates",
				"rpm -q --qf " + pkgupdate.RPMQueryFormat + " -- a"},
		},
		{
			name: "dnf5 binary", path: dnf5Path, params: map[string]string{"manager": "dnf5"},
			rules: []rule{{cmd: "dnf5", has: "check-upgrade", code: 100, out: "a.x86_64 2-1 updates\n"},
				{cmd: "dnf5", has: "advisory"}, {cmd: "rpm", has: "a"}},
			want: []string{"dnf5 check-upgrade", "dnf5 advisory list --updates", "rpm -q --qf " + pkgupdate.RPMQueryFormat + " -- a"},
		},
		{
			name: "apt-get wins over dnf", path: append(slices.Clone(aptPath), "dnf"),
			rules: []rule{{cmd: "apt-get", has: "dist-upgrade"}},
			want:  []string{"apt-get -s -o Debug::NoLocking=1 dist-upgrade"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHost{path: tt.path, rules: tt.rules}
			scan, _ := inspect(t, pkgupdate.New(h.config("/nonexistent")), tt.params)
			if scan.GetStatus() != agentv1.ScanStatus_SCAN_STATUS_OK {
				t.Errorf("status %v %s: %s", scan.GetStatus(), scan.GetErrorCode(), scan.GetErrorMessage())
			}
			if !slices.Equal(h.calls, tt.want) {
				t.Errorf("calls:\n%q\nwant\n%q", h.calls, tt.want)
			}
		})
	}
}

func TestInspectFailures(t *testing.T) {
	const lockErr = "W: Unable to read /etc/apt/apt.conf.d/ - DirectoryExists (2: No such file or directory)\n" +
		"E: Could not open lock file /var/lib/apt/lists/lock - open (13: Permission denied)\nE: Unable to lock directory /var/lib/apt/lists/\n"
	tests := []struct {
		name    string
		path    []string
		params  map[string]string
		rules   []rule
		source  string
		status  agentv1.ScanStatus
		code    string
		message string
	}{
		{
			name: "apt update fails", path: aptPath, params: map[string]string{"refresh": "true"},
			rules:  []rule{{cmd: "apt-get", has: "update", code: 100, stderr: lockErr}},
			source: "apt", status: agentv1.ScanStatus_SCAN_STATUS_FAILED, code: "apt_exit_100",
			message: "E: Could not open lock file /var/lib/apt/lists/lock - open (13: Permission denied)",
		},
		{
			name: "apt simulate fails without stderr", path: aptPath,
			rules:  []rule{{cmd: "apt-get", has: "dist-upgrade", code: 100}},
			source: "apt", status: agentv1.ScanStatus_SCAN_STATUS_FAILED, code: "apt_exit_100", message: "exit status 100",
		},
		{
			name: "apt output changed", path: aptPath,
			rules:  []rule{{cmd: "apt-get", has: "dist-upgrade", out: "Inst broken [1.0\n"}},
			source: "apt", status: agentv1.ScanStatus_SCAN_STATUS_FAILED, code: "parse",
			message: `apt: line 1 "broken [1.0": malformed apt-get line`,
		},
		{
			name: "dnf metadata download fails", path: dnf4Path,
			rules: []rule{dnf4Ver, {cmd: "dnf", has: "check-update", code: 1,
				stderr: "Fedora 40 - x86_64  0.0  B/s |   0  B     00:00\nError: Failed to download metadata for repo 'fedora': Cannot download repomd.xml\n"}},
			source: "dnf4", status: agentv1.ScanStatus_SCAN_STATUS_FAILED, code: "dnf_exit_1",
			message: "Error: Failed to download metadata for repo 'fedora': Cannot download repomd.xml",
		},
		{
			name: "dnf5 advisory fails", path: dnf5Path,
			rules: []rule{{cmd: "dnf5", has: "check-upgrade", code: 100, out: "a.x86_64 2-1 updates\n"},
				{cmd: "dnf5", has: "advisory", code: 2, stderr: "Unknown argument \"--updates\" for command \"list\".\n"}},
			source: "dnf5", status: agentv1.ScanStatus_SCAN_STATUS_FAILED, code: "dnf_exit_2",
			message: `Unknown argument "--updates" for command "list".`,
		},
		{
			name: "dnf says updates but lists none", path: dnf5Path,
			rules:  []rule{{cmd: "dnf5", has: "check-upgrade", code: 100, out: "Updating and loading repositories:\n"}},
			source: "dnf5", status: agentv1.ScanStatus_SCAN_STATUS_FAILED, code: "parse",
			message: "dnf: check-update: exit status 100: dnf reported updates but none were parsed",
		},
		{
			name: "dnf refresh fails", path: dnf5Path, params: map[string]string{"refresh": "true"},
			rules:  []rule{{cmd: "dnf5", has: "makecache", code: 1, stderr: "Error: Cannot download repomd.xml\n"}},
			source: "dnf5", status: agentv1.ScanStatus_SCAN_STATUS_FAILED, code: "dnf_exit_1",
			message: "Error: Cannot download repomd.xml",
		},
		{
			name: "apt-get vanished", path: aptPath,
			source: "apt", status: agentv1.ScanStatus_SCAN_STATUS_FAILED, code: "exec",
			message: "apt: simulate dist-upgrade: exec: \"apt-get\": executable file not found in $PATH",
		},
		{
			name: "no package manager", path: []string{"rpm", "yum"},
			source: "pkgupdate", status: agentv1.ScanStatus_SCAN_STATUS_UNAVAILABLE, code: "no_package_manager",
			message: "none of apt-get, dnf5, dnf found: no supported package manager",
		},
		{
			name: "forced manager missing", path: aptPath, params: map[string]string{"manager": "dnf4"},
			source: "pkgupdate", status: agentv1.ScanStatus_SCAN_STATUS_UNAVAILABLE, code: "no_package_manager",
			message: "dnf4 not found: no supported package manager",
		},
		{
			name: "dnf is dnf5 but dnf4 forced", path: []string{"dnf", "rpm"}, params: map[string]string{"manager": "dnf4"},
			rules:  []rule{dnf5Ver},
			source: "pkgupdate", status: agentv1.ScanStatus_SCAN_STATUS_UNAVAILABLE, code: "no_package_manager",
			message: "dnf4 not found: no supported package manager",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHost{path: tt.path, rules: tt.rules}
			scan, summary := inspect(t, pkgupdate.New(h.config("/nonexistent")), tt.params)
			got := []string{scan.GetSource(), scan.GetStatus().String(), scan.GetErrorCode(), scan.GetErrorMessage()}
			want := []string{tt.source, tt.status.String(), tt.code, tt.message}
			if !slices.Equal(got, want) {
				t.Errorf("got  %q\nwant %q", got, want)
			}
			if len(scan.GetPending()) != 0 || len(scan.GetInstalledAwaitingReboot()) != 0 {
				t.Error("failed scan with lists")
			}
			if !strings.Contains(summary, tt.code) || strings.Contains(summary, "\n") {
				t.Errorf("summary %q", summary)
			}
		})
	}
}

func TestInspectDetectsDNF5BehindDNF(t *testing.T) {
	h := &fakeHost{path: []string{"dnf", "rpm"}, rules: []rule{dnf5Ver, {cmd: "dnf", has: "check-upgrade"}}}
	scan, _ := inspect(t, pkgupdate.New(h.config("/nonexistent")), nil)
	if scan.GetSource() != "dnf5" || scan.GetStatus() != agentv1.ScanStatus_SCAN_STATUS_OK {
		t.Errorf("scan = %v", scan)
	}
}

func TestInspectDeadlineAndCancel(t *testing.T) {
	tests := []struct {
		name   string
		ctx    func() (context.Context, context.CancelFunc)
		status agentv1.ScanStatus
		code   string
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(t.Context(), 50*time.Millisecond)
		}, agentv1.ScanStatus_SCAN_STATUS_TIMEOUT, "timeout"},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(50*time.Millisecond, cancel)
			return ctx, cancel
		}, agentv1.ScanStatus_SCAN_STATUS_FAILED, "cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHost{path: aptPath, rules: []rule{{cmd: "apt-get", has: "dist-upgrade", hang: true}}}
			ctx, cancel := tt.ctx()
			defer cancel()
			resp, err := pkgupdate.New(h.config("/nonexistent")).Inspect(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			var scan agentv1.PatchScan
			if err := proto.Unmarshal(resp.GetResult(), &scan); err != nil {
				t.Fatal(err)
			}
			if scan.GetSource() != "apt" || scan.GetStatus() != tt.status || scan.GetErrorCode() != tt.code {
				t.Errorf("scan = %v", &scan)
			}
		})
	}
}

func TestInspectInvalidParams(t *testing.T) {
	tests := []struct {
		params map[string]string
		name   string // the parameter the error must name
	}{
		{map[string]string{"refresh": "yes"}, "refresh"},
		{map[string]string{"manager": "yum"}, "manager"},
		{map[string]string{"source_list": "sources.list"}, "source_list"},
		{map[string]string{"source_list": "/etc/shadow"}, "source_list"},
		{map[string]string{"lists_dir": "/etc/apt"}, "lists_dir"},
		{map[string]string{"cache_dir": "/usr"}, "cache_dir"},
		{map[string]string{"lists_dir": "/srv"}, "lists_dir"},
		{map[string]string{"lists_dir": "/var/lib/apt/../lists"}, "lists_dir"},
		{map[string]string{"cache_dir": "/var/cache/apt/"}, "cache_dir"},
		{map[string]string{"cache_dir": ""}, "cache_dir"},
		{map[string]string{"lists_dir": "/a\nb"}, "lists_dir"},
		{map[string]string{"manager": "dnf5", "lists_dir": "/x"}, "lists_dir"},
		{map[string]string{"mirror": "http://x"}, "mirror"},
	}
	h := &fakeHost{path: aptPath}
	c := sdktest.Start(t, pkgupdate.New(h.config("/nonexistent")))
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.params), func(t *testing.T) {
			_, err := c.Inspect(t.Context(), tt.params)
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "parameter "+tt.name+":") {
				t.Errorf("err = %v, want InvalidArgument naming %s", err, tt.name)
			}
		})
	}
	if len(h.calls) != 0 {
		t.Errorf("invalid parameters ran commands: %q", h.calls)
	}
}

func TestInfo(t *testing.T) {
	c := sdktest.Start(t, pkgupdate.New(pkgupdate.Config{}))
	info, err := c.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range info.GetParameters() {
		names = append(names, p.GetName()+":"+p.GetType())
		if p.GetRequired() || p.GetDescription() == "" {
			t.Errorf("parameter %s: required or undocumented", p.GetName())
		}
	}
	want := []string{"refresh:bool", "source_list:string", "lists_dir:string", "cache_dir:string", "manager:string",
		"packages:list", "security_only:bool", "all:bool"}
	if info.GetName() != "pkgupdate" || info.GetVersion() == "" || !slices.Equal(names, want) ||
		!slices.Equal(info.GetCapabilities(), []string{sdk.CapInspect, sdk.CapRun}) {
		t.Errorf("Info = %v", info)
	}
}

func TestDetectErrors(t *testing.T) {
	h := &fakeHost{}
	_, err := pkgupdate.Detect(t.Context(), h.config("/"), pkgupdate.ManagerAuto)
	if !errors.Is(err, pkgupdate.ErrNoPackageManager) {
		t.Errorf("err = %v", err)
	}
}
