package main

// Fast tests of the patch, reboot-state, inventory and rescan commands:
// run() against fakeAPI over TLS on loopback. Outputs are compared with
// golden files under testdata/; rewrite them with go test -update.

import (
	"encoding/json"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/internal/clientconfig"
	"github.com/vigil-rmm/vigil/internal/golden"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// goldenText compares got with testdata/name; -update (registered by
// internal/golden) rewrites the file.
func goldenText(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the output (run with -update if the change is intended):\n%s", path, got)
	}
}

func TestStateCommandsText(t *testing.T) {
	f := startFake(t)
	cases := []struct {
		golden string
		args   []string
	}{
		{"patches_list.txt", []string{"patches", "list"}},
		{"patches_list.csv", []string{"patches", "list", "-o", "csv"}},
		{"patches_show_windows.txt", []string{"patches", "show", "ag-dc01"}},
		{"patches_show_linux.txt", []string{"patches", "show", "ag-web01"}},
		{"patches_show_failing.txt", []string{"patches", "show", "ag-fs01"}},
		{"patches_show_never.txt", []string{"patches", "show", "ag-db01"}},
		{"patches_history.txt", []string{"patches", "history", "ag-web01"}},
		{"patches_history.csv", []string{"patches", "history", "ag-web01", "--since", "30d", "-o", "csv"}},
		{"patches_compliance.txt", []string{"patches", "compliance"}},
		{"patches_compliance_clean.txt", []string{"patches", "compliance", "--tenant", "clean", "--fail-on-findings"}},
		{"reboot_state.txt", []string{"reboot-state", "ag-dc01"}},
		{"reboot_state_none.txt", []string{"reboot-state", "ag-new"}},
		{"inventory_show.txt", []string{"inventory", "show", "ag-web01"}},
		{"inventory_show_software.txt", []string{"inventory", "show", "ag-web01", "--software"}},
		{"inventory_show_hardware.txt", []string{"inventory", "show", "--hardware", "ag-web01"}},
		{"inventory_show_none.txt", []string{"inventory", "show", "ag-new"}},
		{"inventory_software.csv", []string{"inventory", "show", "ag-web01", "--software", "-o", "csv"}},
		{"inventory_hardware.csv", []string{"inventory", "show", "ag-web01", "--hardware", "-o", "csv"}},
		{"inventory_changes.txt", []string{"inventory", "changes", "ag-web01"}},
		{"inventory_changes.csv", []string{"inventory", "changes", "ag-web01", "-o", "csv"}},
		{"rescan.txt", []string{"agents", "rescan", "ag-web01"}},
		{"rescan_wait.txt", []string{"agents", "rescan", "ag-web01", "--kind", "patches", "--wait"}},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			out, _ := f.ctl(t, 0, c.args...)
			goldenText(t, c.golden, out)
		})
	}
}

func TestStateCommandsJSON(t *testing.T) {
	f := startFake(t)
	cases := []struct {
		golden string
		args   []string
	}{
		{"patches_list.json", []string{"patches", "list"}},
		{"patches_show.json", []string{"patches", "show", "ag-dc01"}},
		{"patches_show_failing.json", []string{"patches", "show", "ag-fs01"}},
		{"patches_show_never.json", []string{"patches", "show", "ag-db01"}},
		{"patches_history.json", []string{"patches", "history", "ag-web01"}},
		{"patches_compliance.json", []string{"patches", "compliance"}},
		{"reboot_state.json", []string{"reboot-state", "ag-dc01"}},
		{"reboot_state_none.json", []string{"reboot-state", "ag-new"}},
		{"inventory_show.json", []string{"inventory", "show", "ag-web01"}},
		{"inventory_show_none.json", []string{"inventory", "show", "ag-new"}},
		{"inventory_software.json", []string{"inventory", "show", "ag-web01", "--software"}},
		{"inventory_hardware.json", []string{"inventory", "show", "ag-web01", "--hardware"}},
		{"inventory_changes.json", []string{"inventory", "changes", "ag-web01"}},
		{"rescan.json", []string{"agents", "rescan", "ag-web01"}},
		{"rescan_wait.json", []string{"agents", "rescan", "ag-web01", "--wait", "--timeout", "2m"}},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			out, _ := f.ctl(t, 0, append(c.args, "-o", "json")...)
			golden.JSON(t, filepath.Join("testdata", c.golden), json.RawMessage(out))
		})
	}
}

// TestStateRequests checks what the flags turn into on the wire.
func TestStateRequests(t *testing.T) {
	f := startFake(t)
	cases := []struct {
		name string
		args []string
		want proto.Message
	}{
		{"list no filter", []string{"patches", "list"}, &managev1.ListPatchSummariesRequest{}},
		{"list filters", []string{"patches", "list", "--tenant", "acme", "--severity", "critical, Important,critical", "--classification", "security,update-rollup"},
			&managev1.ListPatchSummariesRequest{Tenant: "acme",
				Severities:      []agentv1.Severity{agentv1.Severity_SEVERITY_CRITICAL, agentv1.Severity_SEVERITY_IMPORTANT},
				Classifications: []agentv1.Classification{agentv1.Classification_CLASSIFICATION_SECURITY, agentv1.Classification_CLASSIFICATION_UPDATE_ROLLUP}}},
		{"show", []string{"patches", "show", "ag-dc01"}, &managev1.GetPatchStateRequest{AgentId: "ag-dc01"}},
		{"history default", []string{"patches", "history", "ag-web01"},
			&managev1.ListPatchHistoryRequest{AgentId: "ag-web01", SinceUnix: t0.Add(-30 * day).Unix()}},
		{"history hours", []string{"patches", "history", "ag-web01", "--since", "12h"},
			&managev1.ListPatchHistoryRequest{AgentId: "ag-web01", SinceUnix: t0.Add(-12 * time.Hour).Unix()}},
		{"history time", []string{"patches", "history", "ag-web01", "--since", "2026-11-01T00:00:00Z"},
			&managev1.ListPatchHistoryRequest{AgentId: "ag-web01", SinceUnix: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Unix()}},
		{"compliance defaults", []string{"patches", "compliance"},
			&managev1.GetPatchComplianceRequest{UpdateDays: 14, RebootDays: 3, StaleScanDays: 2}},
		{"compliance thresholds", []string{"patches", "compliance", "--tenant", "acme", "--update-days", "30", "--reboot-days", "7", "--stale-days", "1"},
			&managev1.GetPatchComplianceRequest{Tenant: "acme", UpdateDays: 30, RebootDays: 7, StaleScanDays: 1}},
		{"rescan all", []string{"agents", "rescan", "ag-web01"}, &managev1.RescanAgentRequest{AgentId: "ag-web01"}},
		{"rescan kinds wait", []string{"agents", "rescan", "ag-web01", "--kind", "patches,reboot", "--wait", "--timeout", "10m"},
			&managev1.RescanAgentRequest{AgentId: "ag-web01", WaitSeconds: 600,
				Kinds: []agentv1.StateKind{agentv1.StateKind_STATE_KIND_PATCHES, agentv1.StateKind_STATE_KIND_REBOOT}}},
		{"rescan wait rounds up", []string{"agents", "rescan", "ag-web01", "--kind", "inventory", "--wait", "--timeout", "1500ms"},
			&managev1.RescanAgentRequest{AgentId: "ag-web01", WaitSeconds: 2, Kinds: []agentv1.StateKind{agentv1.StateKind_STATE_KIND_INVENTORY}}},
		{"reboot-state", []string{"reboot-state", "ag-dc01"}, &managev1.GetRebootStateRequest{AgentId: "ag-dc01"}},
		{"inventory", []string{"inventory", "show", "ag-web01", "--software"}, &managev1.GetInventoryRequest{AgentId: "ag-web01"}},
		{"inventory changes", []string{"inventory", "changes", "ag-web01", "--since", "90m"},
			&managev1.ListInventoryChangesRequest{AgentId: "ag-web01", SinceUnix: t0.Add(-90 * time.Minute).Unix()}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.ctl(t, 0, c.args...)
			if got, _ := f.api.last(); !proto.Equal(got, c.want) {
				t.Errorf("request:\n got %v\nwant %v", got, c.want)
			}
		})
	}
}

// TestStateUsageErrors checks that bad input exits 2 with a message that
// names the flag, before anything is sent.
func TestStateUsageErrors(t *testing.T) {
	f := startFake(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"patches", "list", "--severity", "urgent"},
			`patches list: --severity "urgent": unknown value "urgent"; want a comma-separated list of unspecified, low, moderate, important, critical`},
		{[]string{"patches", "list", "--severity", "critical,,low"}, `--severity "critical,,low": unknown value ""`},
		{[]string{"patches", "list", "--classification", "securty"}, `--classification "securty": unknown value "securty"; want a comma-separated list of unspecified, critical, security,`},
		{[]string{"patches", "list", "-o", "xml"}, `patches list: -o "xml": want table or json or csv`},
		{[]string{"patches", "show"}, "patches show: want AGENT, got 0 argument(s)"},
		{[]string{"patches", "show", "ag-dc01", "-o", "csv"}, `-o "csv": want table or json`},
		{[]string{"patches", "history", "ag-web01", "--since", "a month"},
			`--since "a month": want a duration such as 1h or 10d, or an RFC 3339 time`},
		{[]string{"patches", "history", "ag-web01", "--since", "-3d"}, `--since "-3d"`},
		{[]string{"patches", "compliance", "--update-days", "0"}, "--update-days 0: want a whole number of days from 1 to 3650"},
		{[]string{"patches", "compliance", "--reboot-days", "-1"}, `patches compliance: invalid value "-1" for flag -reboot-days`},
		{[]string{"patches", "frob"}, `patches: unknown or missing subcommand "frob"; want one of compliance, history, list, show`},
		{[]string{"agents", "rescan", "ag-web01", "--kind", "patch"},
			`agents rescan: --kind "patch": unknown value "patch"; want a comma-separated list of patches, reboot, inventory`},
		{[]string{"agents", "rescan", "ag-web01", "--timeout", "5m"}, "--timeout applies only with --wait; add --wait or drop --timeout"},
		{[]string{"agents", "rescan", "ag-web01", "--wait", "--timeout", "2h"}, "--timeout 2h0m0s: want from 1s to 1h0m0s"},
		{[]string{"agents", "rescan", "ag-web01", "--wait", "--timeout", "10d"}, `invalid value "10d" for flag -timeout`},
		{[]string{"inventory", "show", "ag-web01", "--software", "--hardware"}, "--software and --hardware exclude each other"},
		{[]string{"inventory", "show", "ag-web01", "-o", "csv"}, "-o csv needs --software (one row per package) or --hardware (field,value rows)"},
		{[]string{"inventory", "changes", "ag-web01", "--since", "yesterday"}, `--since "yesterday"`},
		{[]string{"reboot-state"}, "reboot-state: want AGENT, got 0 argument(s)"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			_, before := f.api.last()
			_, stderr := f.ctl(t, 2, c.args...)
			_, after := f.api.last()
			if !strings.Contains(stderr, c.want) || after != before {
				t.Errorf("stderr %q, want it to contain %q; %d request(s) sent", stderr, c.want, after-before)
			}
		})
	}
}

// TestStateErrors checks the messages of refused and failed calls.
func TestStateErrors(t *testing.T) {
	f := startFake(t)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"rescan wait timeout", []string{"agents", "rescan", "ag-slow", "--wait", "--timeout", "10m"}, 1,
			"vigilctl: no result within 10m0s; the scan may still be running — check `vigilctl patches show ag-slow` later\n"},
		{"rescan wait default timeout", []string{"agents", "rescan", "ag-slow", "--wait"}, 1,
			"vigilctl: no result within 10m0s; the scan may still be running — check `vigilctl patches show ag-slow` later\n"},
		{"rescan offline", []string{"agents", "rescan", "ag-offline"}, 1,
			"vigilctl: agent ag-offline cannot scan now (FailedPrecondition: agent is offline); it must be online and connected — check `vigilctl agents list`, retry later, or wait for its next scheduled scan\n"},
		{"rescan offline wait", []string{"agents", "rescan", "ag-offline", "--wait"}, 1,
			"vigilctl: agent ag-offline cannot scan now (FailedPrecondition: agent is offline); it must be online and connected — check `vigilctl agents list`, retry later, or wait for its next scheduled scan\n"},
		{"rescan unavailable agent", []string{"agents", "rescan", "ag-flaky", "--wait"}, 1,
			"vigilctl: agent ag-flaky cannot scan now (Unavailable: agent stream closed); it must be online and connected — check `vigilctl agents list`, retry later, or wait for its next scheduled scan\n"},
		{"rescan unknown agent", []string{"agents", "rescan", "ag-nope"}, 1, "vigilctl: NotFound: not found: agent \"ag-nope\"\n"},
		{"show unknown agent", []string{"patches", "show", "ag-nope"}, 1, "vigilctl: NotFound: not found: agent \"ag-nope\"\n"},
		{"compliance findings", []string{"patches", "compliance", "--fail-on-findings"}, 3,
			"vigilctl: 4 finding(s) (--fail-on-findings): compliance findings\n"},
		{"compliance findings json", []string{"patches", "compliance", "--tenant", "globex", "--fail-on-findings", "-o", "json"}, 3,
			"vigilctl: 1 finding(s) (--fail-on-findings): compliance findings\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr := f.ctl(t, c.code, c.args...)
			if stderr != c.want {
				t.Errorf("stderr:\n got %q\nwant %q", stderr, c.want)
			}
		})
	}
}

// TestRescanControllerDown: a controller that cannot be reached is not
// reported as an offline agent.
func TestRescanControllerDown(t *testing.T) {
	f := startFake(t)
	c, err := clientconfig.Load(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.Controller = l.Addr().String()
	l.Close()
	cfg := filepath.Join(t.TempDir(), "down.json")
	if err := c.Save(cfg); err != nil {
		t.Fatal(err)
	}
	_, stderr := f.ctl(t, 1, "--config", cfg, "agents", "rescan", "ag-web01", "--wait", "--timeout", "5s")
	if !strings.HasPrefix(stderr, "vigilctl: Unavailable: ") || strings.Contains(stderr, "cannot scan now") {
		t.Errorf("stderr: %q", stderr)
	}
}

func TestStateHelp(t *testing.T) {
	startFake(t).checkHelp(t, []helpCase{
		{[]string{"help"}, "patches compliance [--tenant T] [--update-days 14] [--reboot-days 3] [--stale-days 2] [--fail-on-findings]"},
		{[]string{"patches", "list", "-h"}, "usage: vigilctl patches list [flags]\nflags:\n  -classification"},
		{[]string{"agents", "rescan", "-h"}, "usage: vigilctl agents rescan AGENT [flags]"},
		{[]string{"inventory", "show", "-h"}, "-software\tonly the installed software"},
	})
}

func TestCSVCellsCannotRunFormulas(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"http://x\")": "'=HYPERLINK(\"http://x\")",
		"+1+2":                     "'+1+2",
		"@SUM(A1)":                 "'@SUM(A1)",
		"-cmd":                     "'-cmd",
		"-1.5":                     "-1.5",
		"openssl":                  "openssl",
		"":                         "",
	} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
}
