//go:build unix

package script

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func readPid(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		t.Fatalf("pid %q", b)
	}
	return pid
}

// waitGone waits until pid no longer runs (absent or a zombie).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		s := string(b)
		zombie := false
		if i := strings.LastIndexByte(s, ')'); i >= 0 && len(s) > i+2 {
			zombie = s[i+2] == 'Z'
		}
		if syscall.Kill(pid, 0) != nil || zombie {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func requireUnix(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("needs /bin/sh")
	}
}

func TestRunRealShell(t *testing.T) {
	requireUnix(t)
	tmp := t.TempDir()
	p := New(Config{TempDir: tmp, Environ: func() []string { return []string{"PATH=/usr/bin:/bin", "SECRET=x"} }})
	o, err := runScript(t, t.Context(), p, map[string]string{
		"script": "echo \"hello $0\"\necho oops >&2\nenv | sort\nexit 0\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	r := o.result.GetResult()
	if !r.GetOk() || r.GetExitCode() != 0 || r.GetSummary() != "script exited 0" {
		t.Errorf("result %v", r)
	}
	if len(o.stdout) == 0 || !strings.HasPrefix(o.stdout[0], "hello "+tmp+"/vigil-script-") || !strings.HasSuffix(o.stdout[0], "/script.sh") {
		t.Errorf("stdout %q", o.stdout)
	}
	if !slices.Equal(o.stderr, []string{"oops"}) {
		t.Errorf("stderr %q", o.stderr)
	}
	for _, l := range o.stdout[1:] {
		if k, _, _ := strings.Cut(l, "="); !slices.Contains([]string{"PATH", "LANG", "PWD", "SHLVL", "_", "OLDPWD"}, k) {
			t.Errorf("unexpected environment variable %q", l)
		}
	}
	left, _ := os.ReadDir(tmp)
	if len(left) != 0 {
		t.Errorf("temp dir not cleaned: %v", left)
	}
}

func TestRunExitCodeAndBash(t *testing.T) {
	requireUnix(t)
	o, err := runScript(t, t.Context(), New(Config{}), map[string]string{"script": "echo $BASH_VERSION | cut -c1; exit 7", "interpreter": "bash"})
	if err != nil {
		t.Fatal(err)
	}
	r := o.result.GetResult()
	if r.GetOk() || r.GetExitCode() != 7 || o.detail.ExitCode != 7 || r.GetSummary() != "script exited 7" {
		t.Errorf("result %v detail %+v", r, o.detail)
	}
	if len(o.stdout) != 1 || o.stdout[0] == "" {
		t.Errorf("stdout %q, want the bash major version", o.stdout)
	}
}

func TestRunOutputLimit(t *testing.T) {
	requireUnix(t)
	o, err := runScript(t, t.Context(), New(Config{}), map[string]string{
		"script":       "for i in 1 2 3 4 5 6; do echo line$i; done; exit 2",
		"output_limit": "18",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.stdout, []string{"line1", "line2", "line3"}) || !slices.Equal(o.stderr, []string{truncatedLine}) {
		t.Errorf("stdout %q stderr %q", o.stdout, o.stderr)
	}
	// The script kept running to its end after the limit.
	if r := o.result.GetResult(); r.GetExitCode() != 2 || !o.detail.Truncated || o.detail.OutputBytes != 18 {
		t.Errorf("result %v detail %+v", r, o.detail)
	}
}

func TestRunTimeoutKillsChildren(t *testing.T) {
	requireUnix(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	start := time.Now()
	o, err := runScript(t, t.Context(), New(Config{}), map[string]string{
		"script":  "sleep 300 &\necho $! > " + pidFile + "\nwait\n",
		"timeout": "1s",
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	if r := o.result.GetResult(); r.GetOk() || !o.detail.TimedOut || r.GetExitCode() != -1 {
		t.Errorf("result %v detail %+v", r, o.detail)
	}
	waitGone(t, readPid(t, pidFile))
}

func TestRunCancelKillsChildren(t *testing.T) {
	requireUnix(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		for {
			if _, err := os.Stat(pidFile); err == nil {
				time.Sleep(50 * time.Millisecond)
				cancel()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	_, err := runScript(t, ctx, New(Config{}), map[string]string{"script": "sleep 300 &\necho $! > " + pidFile + "\nwait\n"})
	if code := status.Code(err); code != codes.Canceled {
		t.Errorf("err = %v, want Canceled", err)
	}
	waitGone(t, readPid(t, pidFile))
}
