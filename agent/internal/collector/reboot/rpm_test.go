package reboot

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Boot time of testdata/linux/rpm/proc/stat: 2024-08-20T08:00:00Z.
const fixtureBoot = 1724140800

type reply struct {
	out  string
	code int
	err  error
}

// fakeRunner is the OS edge: a PATH and canned replies by command line.
type fakeRunner struct {
	path    []string
	replies map[string]reply // "base arg..." → reply
	calls   []string
}

func (f *fakeRunner) LookPath(file string) (string, error) {
	if slices.Contains(f.path, file) {
		return "/usr/bin/" + file, nil
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", file)
}

func (f *fakeRunner) Run(ctx context.Context, name string, args ...string) ([]byte, int, error) {
	if _, ok := ctx.Deadline(); !ok {
		return nil, -1, errors.New("run without a deadline")
	}
	line := filepath.Base(name) + " " + strings.Join(args, " ")
	f.calls = append(f.calls, line)
	r, ok := f.replies[line]
	if !ok {
		return nil, -1, fmt.Errorf("unexpected command %q", line)
	}
	return []byte(r.out), r.code, r.err
}

var rpmQuery = "rpm -q --qf " + rpmInstallTimeFormat + " --whatprovides " + strings.Join(RebootPackages, " ")

const (
	rebootNeeded = "Core libraries or services have been updated since boot-up:\n  * glibc\n  * kernel\n\n" +
		"Reboot is required to fully utilize these updates.\nMore information: https://access.redhat.com/solutions/27943\n"
	rebootNotNeeded = "No core libraries or services have been updated since boot-up.\nReboot should not be necessary.\n"
)

func TestRPMSignals(t *testing.T) {
	tests := []struct {
		name    string
		root    string
		path    []string
		replies map[string]reply
		want    []Signal
	}{
		{
			name: "glibc installed after boot", root: "rpm", path: []string{"rpm"},
			replies: map[string]reply{rpmQuery: {code: 2, out: "kernel-core\t1724000000\nglibc\t1724150000\nglibc\t1724150000\n" +
				"linux-firmware\t1724000000\nsystemd\t1724160000\nno package provides kernel-firmware\nno package provides dbus-1\n"}},
			want: []Signal{{Name: SignalRPMInstalledAfterBoot, Present: true, Strength: Strong,
				Detail: "glibc, systemd installed after boot at 2024-08-20T08:00:00Z"}},
		},
		{
			name: "everything installed before boot", root: "rpm", path: []string{"rpm"},
			replies: map[string]reply{rpmQuery: {out: "kernel-core\t1724000000\nglibc\t1724140800\n"}},
			want:    []Signal{{Name: SignalRPMInstalledAfterBoot, Strength: Strong}},
		},
		{
			name: "rpm on a dpkg system", root: "rpm", path: []string{"rpm"},
			replies: map[string]reply{rpmQuery: {code: 7, out: "no package provides kernel\n"}},
		},
		{
			name: "rpm cannot run", root: "rpm", path: []string{"rpm"},
			replies: map[string]reply{rpmQuery: {code: -1, err: errors.New("permission denied")}},
		},
		{
			name: "no boot time", root: "missing", path: []string{"rpm"},
		},
		{
			name: "needs-restarting says reboot", root: "missing", path: []string{"needs-restarting", "dnf"},
			replies: map[string]reply{"needs-restarting -r": {code: 1, out: rebootNeeded}},
			want:    []Signal{{Name: SignalNeedsRestarting, Present: true, Strength: Strong, Detail: "glibc, kernel"}},
		},
		{
			name: "needs-restarting says no reboot", root: "missing", path: []string{"needs-restarting"},
			replies: map[string]reply{"needs-restarting -r": {out: rebootNotNeeded}},
			want:    []Signal{{Name: SignalNeedsRestarting, Strength: Strong}},
		},
		{
			name: "dnf command when no standalone tool", root: "missing", path: []string{"dnf"},
			replies: map[string]reply{"dnf needs-restarting -r": {code: 1, out: rebootNeeded}},
			want:    []Signal{{Name: SignalNeedsRestarting, Present: true, Strength: Strong, Detail: "glibc, kernel"}},
		},
		{
			name: "dnf exit 1 without the verdict is a failure, not a reboot", root: "missing", path: []string{"dnf"},
			replies: map[string]reply{"dnf needs-restarting -r": {code: 1}},
			want:    []Signal{{Name: SignalNeedsRestarting, Strength: Strong}},
		},
		{
			name: "other exit status", root: "missing", path: []string{"dnf"},
			replies: map[string]reply{"dnf needs-restarting -r": {code: 2, out: "Reboot is required\n"}},
			want:    []Signal{{Name: SignalNeedsRestarting, Strength: Strong}},
		},
		{
			name: "needs-restarting cannot run", root: "missing", path: []string{"needs-restarting"},
			replies: map[string]reply{"needs-restarting -r": {code: -1, err: context.DeadlineExceeded}},
			want:    []Signal{{Name: SignalNeedsRestarting, Strength: Strong}},
		},
		{
			name: "both", root: "rpm", path: []string{"rpm", "dnf"},
			replies: map[string]reply{
				rpmQuery:                  {out: "kernel-core\t1724200000\n"},
				"dnf needs-restarting -r": {code: 1, out: rebootNeeded},
			},
			want: []Signal{
				{Name: SignalRPMInstalledAfterBoot, Present: true, Strength: Strong, Detail: "kernel-core installed after boot at 2024-08-20T08:00:00Z"},
				{Name: SignalNeedsRestarting, Present: true, Strength: Strong, Detail: "glibc, kernel"},
			},
		},
		{name: "debian", root: "clean", path: []string{"apt-get", "dpkg"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeRunner{path: tt.path, replies: tt.replies}
			got := RPMSignals(t.Context(), filepath.Join("testdata", "linux", tt.root), f)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestRPMSignalsEvaluate(t *testing.T) {
	f := &fakeRunner{path: []string{"rpm", "dnf"}, replies: map[string]reply{
		rpmQuery:                  {out: "glibc\t1724000000\n"},
		"dnf needs-restarting -r": {code: 1},
	}}
	pending, reasons := Evaluate(RPMSignals(t.Context(), filepath.Join("testdata", "linux", "rpm"), f), Policy{})
	if pending || reasons != nil {
		t.Errorf("Evaluate = %v %q, want nothing pending", pending, reasons)
	}
}

func TestParseBootTime(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"cpu 1 2 3\nbtime 1724140800\n", 1724140800, true},
		{"btime\n", 0, false},
		{"btime x\n", 0, false},
		{"btime 0\n", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		if got, ok := ParseBootTime([]byte(tt.in)); got != tt.want || ok != tt.ok {
			t.Errorf("ParseBootTime(%q) = %d %v, want %d %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseRPMInstallTimes(f *testing.F) {
	f.Add([]byte("glibc\t1724150000\nno package provides dbus-1\n"))
	f.Add([]byte("a b\t1\n\t2\nx\t-1\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		ins := ParseRPMInstallTimes(in)
		for _, i := range ins {
			if i.Name == "" || i.Unix <= 0 || strings.ContainsAny(i.Name, " \t\n") {
				t.Fatalf("bad install %+v", i)
			}
		}
		s := InstalledAfterBootSignal(ins, fixtureBoot)
		if s.Present != (s.Detail != "") {
			t.Fatalf("present %v with detail %q", s.Present, s.Detail)
		}
	})
}

func FuzzNeedsRestartingSignal(f *testing.F) {
	f.Add([]byte(rebootNeeded), 1)
	f.Add([]byte(rebootNotNeeded), 0)
	f.Add([]byte("* x\n"), 1)
	f.Fuzz(func(t *testing.T, out []byte, code int) {
		s, ok := NeedsRestartingSignal(out, code)
		if s.Name != SignalNeedsRestarting || s.Strength != Strong {
			t.Fatalf("signal %+v", s)
		}
		if s.Present && (!ok || code != 1) {
			t.Fatalf("present with ok=%v code=%d", ok, code)
		}
		if code == 0 && (!ok || s.Present) {
			t.Fatalf("exit 0: %+v ok=%v", s, ok)
		}
	})
}
