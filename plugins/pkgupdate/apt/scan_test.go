package apt

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// fakeRunner records calls and answers each with the next canned reply.
type fakeRunner struct {
	calls   []string
	env     [][]string
	replies []reply
}

type reply struct {
	out  string
	code int
	err  error
}

func (f *fakeRunner) Run(_ context.Context, name string, args []string, env []string) ([]byte, int, error) {
	f.calls = append(f.calls, name+" "+strings.Join(args, " "))
	f.env = append(f.env, env)
	r := f.replies[0]
	f.replies = f.replies[1:]
	return []byte(r.out), r.code, r.err
}

func TestScanArgs(t *testing.T) {
	f := &fakeRunner{replies: []reply{{}, {out: "Inst a [1] (2 Debian:12/stable [all])\n"}}}
	got, err := Scan(t.Context(), f, Options{
		Update:       true,
		SourceList:   "/t/sources.list",
		ListsDir:     "/t/lists",
		CacheDir:     "/t/cache",
		ExtraOptions: []string{"APT::Sandbox::User=root"},
	})
	if err != nil {
		t.Fatal(err)
	}
	dirs := "-o Dir::Etc::SourceList=/t/sources.list -o Dir::Etc::SourceParts=- -o Dir::State::Lists=/t/lists -o APT::Get::List-Cleanup=false -o Dir::Cache=/t/cache -o APT::Sandbox::User=root"
	wantCalls := []string{
		"apt-get " + dirs + " -q update",
		"apt-get " + dirs + " -s -o Debug::NoLocking=1 dist-upgrade",
	}
	if !reflect.DeepEqual(f.calls, wantCalls) {
		t.Errorf("calls:\n%q\nwant\n%q", f.calls, wantCalls)
	}
	wantEnv := []string{"LC_ALL=C", "DEBIAN_FRONTEND=noninteractive"}
	if !reflect.DeepEqual(f.env[1], wantEnv) {
		t.Errorf("env = %q, want %q", f.env[1], wantEnv)
	}
	if len(got) != 1 || got[0].Name != "a" {
		t.Errorf("updates = %+v", got)
	}
}

func TestScanDefaultsSkipUpdate(t *testing.T) {
	f := &fakeRunner{replies: []reply{{}}}
	if _, err := Scan(t.Context(), f, Options{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"apt-get -s -o Debug::NoLocking=1 dist-upgrade"}
	if !reflect.DeepEqual(f.calls, want) {
		t.Errorf("calls = %q, want %q", f.calls, want)
	}
}

func TestScanErrors(t *testing.T) {
	exit := &ExitError{Code: 100, Stderr: "E: Could not open lock file"}
	tests := []struct {
		name    string
		opts    Options
		replies []reply
		want    error
	}{
		{"update fails", Options{Update: true}, []reply{{code: 100, err: exit}}, exit},
		{"simulate fails", Options{}, []reply{{code: 100, err: exit}}, exit},
		{"context", Options{}, []reply{{code: -1, err: context.Canceled}}, context.Canceled},
		{"malformed", Options{}, []reply{{out: "Inst broken ["}}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Scan(t.Context(), &fakeRunner{replies: tt.replies}, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestExecRunner(t *testing.T) {
	if _, _, err := (ExecRunner{}).Run(t.Context(), "go", []string{"version"}, nil); err != nil {
		t.Skipf("go not runnable: %v", err)
	}
	_, code, err := (ExecRunner{}).Run(t.Context(), "go", []string{"no-such-subcommand"}, []string{"LC_ALL=C"})
	var ee *ExitError
	if !errors.As(err, &ee) || code == 0 || ee.Code != code || ee.Stderr == "" {
		t.Errorf("code %d, err %v: want *ExitError with stderr", code, err)
	}
}
