package pkgupdate_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/plugins/internal/cmdrun/cmdruntest"
	"github.com/vigil-rmm/vigil/plugins/pkgupdate"
	"github.com/vigil-rmm/vigil/plugins/sdk"
	"github.com/vigil-rmm/vigil/plugins/sdk/sdktest"
)

const aptSim = "Inst a [1.0] (2.0 Debian:12/stable [amd64])\nInst b [3] (4 Debian-Security:12/stable-security [all])\nInst n (1 Debian:12/stable [all])\n"

func dpkgRows(rows ...string) string {
	var b strings.Builder
	for _, r := range rows {
		name, ver, _ := strings.Cut(r, "=")
		b.WriteString(name + "\tamd64\t" + ver + "\tii \n")
	}
	return b.String()
}

type runOutcome struct {
	result *sdk.RunEvent
	detail pkgupdate.RunDetail
	logs   []string
}

func runPkg(t *testing.T, ctx context.Context, p *pkgupdate.Plugin, params map[string]string) (runOutcome, error) {
	t.Helper()
	events, err := sdktest.Run(ctx, sdktest.Start(t, p), &sdk.RunRequest{TaskId: "t", Parameters: params})
	var o runOutcome
	for i, ev := range events {
		if ev.GetResult() != nil {
			if i != len(events)-1 {
				t.Fatalf("result before the end: %v", events)
			}
			o.result = ev
			if err := json.Unmarshal(ev.GetResult().GetDetail(), &o.detail); err != nil {
				t.Fatal(err)
			}
		}
		if l := ev.GetLog(); l != nil {
			o.logs = append(o.logs, l.GetLine())
		}
	}
	if err == nil && o.result == nil {
		t.Fatalf("no result: %v", events)
	}
	return o, err
}

// aptHost is a fake Debian host whose dpkg-query answers change once the
// upgrade ran.
func aptHost(before, after string, upgrade cmdruntest.Rule) (*fakeHost, *cmdruntest.Fake) {
	h := &fakeHost{path: aptPath, rules: []rule{
		{cmd: "apt-get", has: "dist-upgrade", out: aptSim},
		{cmd: "dpkg-query", has: "-W", out: before, code: 1},
	}}
	upgrade.Then = func() { h.rules[1].out = after }
	return h, &cmdruntest.Fake{Rules: []cmdruntest.Rule{upgrade}}
}

func TestRunApt(t *testing.T) {
	const opts = "-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install --only-upgrade"
	tests := []struct {
		name     string
		params   map[string]string
		upgrade  cmdruntest.Rule
		after    string
		wantCmd  string
		ok       bool
		code     int32
		upgraded []pkgupdate.Upgraded
		failed   []pkgupdate.Failed
		current  []pkgupdate.Current
		summary  string
	}{
		{
			name: "packages", params: map[string]string{"packages": "a, c,d"},
			upgrade: cmdruntest.Rule{Cmd: "apt-get", Has: "install", Stdout: "Unpacking a (2.0) over (1.0) ...\n"},
			after:   dpkgRows("a=2.0", "b=3", "c=7"),
			wantCmd: "apt-get " + opts + " a", code: 0,
			upgraded: []pkgupdate.Upgraded{{Package: "a", From: "1.0", To: "2.0"}},
			failed:   []pkgupdate.Failed{{Package: "d", Reason: "not installed"}},
			current:  []pkgupdate.Current{{Package: "c", Version: "7"}},
			summary:  "apt: 1 upgraded, 1 failed (d: not installed)",
		},
		{
			name: "all with a mirror", params: map[string]string{"all": "true", "source_list": "/m/s.list", "lists_dir": "/m/l", "cache_dir": "/m/c"},
			upgrade:  cmdruntest.Rule{Cmd: "apt-get", Has: "install"},
			after:    dpkgRows("a=2.0", "b=4"),
			wantCmd:  "apt-get -o Dir::Etc::SourceList=/m/s.list -o Dir::Etc::SourceParts=- -o Dir::State::Lists=/m/l -o APT::Get::List-Cleanup=false -o Dir::Cache=/m/c " + opts + " a b",
			ok:       true,
			upgraded: []pkgupdate.Upgraded{{Package: "a", From: "1.0", To: "2.0"}, {Package: "b", From: "3", To: "4"}},
			summary:  "apt: 2 upgraded, 0 failed",
		},
		{
			name: "security only", params: map[string]string{"security_only": "1"},
			upgrade: cmdruntest.Rule{Cmd: "apt-get", Has: "install"},
			after:   dpkgRows("a=1.0", "b=4"),
			wantCmd: "apt-get " + opts + " b", ok: true,
			upgraded: []pkgupdate.Upgraded{{Package: "b", From: "3", To: "4"}},
			summary:  "apt: 1 upgraded, 0 failed",
		},
		{
			name: "apt-get fails", params: map[string]string{"packages": "a,b"},
			upgrade: cmdruntest.Rule{Cmd: "apt-get", Has: "install", Code: 100,
				Stderr: "W: something\nE: Could not get lock /var/lib/dpkg/lock-frontend\n"},
			after:   dpkgRows("a=1.0", "b=3"),
			wantCmd: "apt-get " + opts + " a b", code: 100,
			failed: []pkgupdate.Failed{{Package: "a", Version: "1.0", Reason: "still at 1.0, 2.0 was available"},
				{Package: "b", Version: "3", Reason: "still at 3, 4 was available"}},
			summary: "apt: 0 upgraded, 2 failed (a: still at 1.0, 2.0 was available)",
		},
		{
			name: "all current", params: map[string]string{"packages": "c"},
			after: dpkgRows("c=7"), ok: true,
			current: []pkgupdate.Current{{Package: "c", Version: "7"}},
			summary: "apt: nothing to upgrade (1 already current)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, f := aptHost(dpkgRows("a=1.0", "b=3", "c=7"), tt.after, tt.upgrade)
			cfg := h.config("/nonexistent")
			cfg.Exec = f
			cfg.Environ = func() []string { return []string{"PATH=/usr/bin"} }
			o, err := runPkg(t, t.Context(), pkgupdate.New(cfg), tt.params)
			if err != nil {
				t.Fatal(err)
			}
			r := o.result.GetResult()
			if r.GetOk() != tt.ok || r.GetExitCode() != tt.code || r.GetSummary() != tt.summary {
				t.Errorf("result ok=%v code=%d %q, want %v %d %q", r.GetOk(), r.GetExitCode(), r.GetSummary(), tt.ok, tt.code, tt.summary)
			}
			var gotCmd string
			if calls := f.Calls(); len(calls) == 1 {
				gotCmd = f.Lines()[0]
				if !slices.Equal(calls[0].Env, []string{"PATH=/usr/bin", "LC_ALL=C", "DEBIAN_FRONTEND=noninteractive"}) {
					t.Errorf("env %q", calls[0].Env)
				}
			}
			if gotCmd != tt.wantCmd {
				t.Errorf("command %q\nwant    %q", gotCmd, tt.wantCmd)
			}
			d := o.detail
			if !slices.Equal(d.Upgraded, orEmpty(tt.upgraded)) || !slices.Equal(d.Failed, orEmpty(tt.failed)) || !slices.Equal(d.Current, tt.current) {
				t.Errorf("detail %+v", d)
			}
			if d.Source != "apt" {
				t.Errorf("source %q", d.Source)
			}
		})
	}
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func TestRunDNFSecurity(t *testing.T) {
	const rpmBefore = "curl.x86_64\t8.9.1-2.fc41\t1\nglibc.i686\t2.40-1.fc41\t1\n"
	const rpmAfter = "curl.x86_64\t8.9.1-3.fc41\t2\nglibc.i686\t2.40-1.fc41\t1\n"
	h := &fakeHost{path: dnf5Path, rules: []rule{
		{cmd: "dnf5", has: "check-upgrade", code: 100, out: "curl.x86_64 8.9.1-3.fc41 updates\nglibc.i686 2.40-9.fc41 updates\n"},
		{cmd: "dnf5", has: "advisory", out: "FEDORA-2024-1 security Important curl-8.9.1-3.fc41.x86_64 2024-01-01 00:00:00\n" +
			"FEDORA-2024-2 security Low glibc-2.40-9.fc41.i686 2024-01-01 00:00:00\n"},
		{cmd: "rpm", has: "--", out: rpmBefore},
	}}
	f := &cmdruntest.Fake{Rules: []cmdruntest.Rule{{Cmd: "dnf5", Has: "upgrade", Stdout: "Upgrading curl\n", Then: func() { h.rules[2].out = rpmAfter }}}}
	cfg := h.config("/nonexistent")
	cfg.Exec = f
	o, err := runPkg(t, t.Context(), pkgupdate.New(cfg), map[string]string{"security_only": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Lines(); !slices.Equal(got, []string{"dnf5 upgrade -y --security"}) {
		t.Errorf("commands %q", got)
	}
	want := pkgupdate.RunDetail{Source: "dnf5",
		Upgraded: []pkgupdate.Upgraded{{Package: "curl", From: "8.9.1-2.fc41", To: "8.9.1-3.fc41"}},
		Failed:   []pkgupdate.Failed{{Package: "glibc:i686", Version: "2.40-1.fc41", Reason: "still at 2.40-1.fc41, 2.40-9.fc41 was available"}}}
	if r := o.result.GetResult(); r.GetOk() || r.GetExitCode() != 0 || !equalDetail(o.detail, want) {
		t.Errorf("result %v\ndetail %+v", r, o.detail)
	}
	if !slices.Contains(o.logs, "Upgrading curl") {
		t.Errorf("logs %q", o.logs)
	}
	// A named foreign package is passed to dnf as name.arch.
	f2 := &cmdruntest.Fake{Rules: []cmdruntest.Rule{{Cmd: "dnf5", Has: "upgrade"}}}
	h.rules[2].out = rpmBefore
	cfg.Exec = f2
	if _, err := runPkg(t, t.Context(), pkgupdate.New(cfg), map[string]string{"packages": "glibc:i686,curl"}); err != nil {
		t.Fatal(err)
	}
	if got := f2.Lines(); !slices.Equal(got, []string{"dnf5 upgrade -y glibc.i686 curl"}) {
		t.Errorf("commands %q", got)
	}
}

func equalDetail(a, b pkgupdate.RunDetail) bool {
	return a.Source == b.Source && a.Error == b.Error && slices.Equal(a.Upgraded, b.Upgraded) &&
		slices.Equal(a.Failed, b.Failed) && slices.Equal(a.Current, b.Current)
}

func TestRunScanFailsAndNoManager(t *testing.T) {
	h := &fakeHost{path: aptPath, rules: []rule{{cmd: "apt-get", has: "dist-upgrade", code: 100, stderr: "E: broken lists\n"}}}
	f := &cmdruntest.Fake{}
	cfg := h.config("/nonexistent")
	cfg.Exec = f
	o, err := runPkg(t, t.Context(), pkgupdate.New(cfg), map[string]string{"all": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if r := o.result.GetResult(); r.GetOk() || o.detail.Error != "scan: E: broken lists" || len(f.Calls()) != 0 {
		t.Errorf("result %v detail %+v", r, o.detail)
	}
	h = &fakeHost{}
	cfg = h.config("/nonexistent")
	cfg.Exec = f
	o, err = runPkg(t, t.Context(), pkgupdate.New(cfg), map[string]string{"all": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if r := o.result.GetResult(); r.GetOk() || !strings.Contains(r.GetSummary(), "no supported package manager") {
		t.Errorf("result %v", r)
	}
}

func TestRunCancelled(t *testing.T) {
	h, f := aptHost(dpkgRows("a=1.0", "b=3"), "", cmdruntest.Rule{Cmd: "apt-get", Has: "install", Hang: true})
	cfg := h.config("/nonexistent")
	cfg.Exec = f
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := runPkg(t, ctx, pkgupdate.New(cfg), map[string]string{"all": "true"})
	if c := status.Code(err); c != codes.DeadlineExceeded && c != codes.Canceled {
		t.Errorf("err = %v", err)
	}
}

func TestRunInvalidParams(t *testing.T) {
	tests := []struct {
		params map[string]string
		name   string
	}{
		{map[string]string{}, "packages"},
		{map[string]string{"security_only": "false"}, "packages"},
		{map[string]string{"packages": "a", "all": "true"}, "all"},
		{map[string]string{"security_only": "true", "all": "true"}, "security_only"},
		{map[string]string{"packages": " , "}, "packages"},
		{map[string]string{"packages": "a;rm"}, "packages"},
		{map[string]string{"packages": "-o=x"}, "packages"},
		{map[string]string{"packages": "a b"}, "packages"},
		{map[string]string{"all": "yes"}, "all"},
		{map[string]string{"all": "true", "manager": "yum"}, "manager"},
		{map[string]string{"all": "true", "manager": "dnf5", "lists_dir": "/x/y"}, "lists_dir"},
		{map[string]string{"all": "true", "reboot": "true"}, "reboot"},
	}
	h := &fakeHost{path: aptPath}
	f := &cmdruntest.Fake{}
	cfg := h.config("/nonexistent")
	cfg.Exec = f
	c := sdktest.Start(t, pkgupdate.New(cfg))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { sdktest.WantInvalidParam(t, c, tt.params, tt.name) })
	}
	if len(h.calls) != 0 || len(f.Calls()) != 0 {
		t.Errorf("invalid parameters ran commands: %q %q", h.calls, f.Lines())
	}
}

func TestParseDpkgArchVersions(t *testing.T) {
	out := "libc6\tamd64\t2.36-9\tii \nlibc6\ti386\t2.36-8\tii \ngone\tall\t1.0\trc \n"
	got := pkgupdate.ParseDpkgArchVersions([]byte(out), []string{"libc6", "libc6:i386", "gone", "missing"})
	if len(got) != 2 || got["libc6"] != "2.36-9" || got["libc6:i386"] != "2.36-8" {
		t.Errorf("got %v", got)
	}
}
