package apt_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/plugins/pkgupdate"
	"github.com/vigil-rmm/vigil/plugins/pkgupdate/apt"
	"github.com/vigil-rmm/vigil/plugins/pkgupdate/apt/apttest"
	"github.com/vigil-rmm/vigil/plugins/sdk"
	"github.com/vigil-rmm/vigil/plugins/sdk/sdktest"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

const dummyPkg = "vigil-test-dummy"

// TestScanLocalRepository installs a generated dummy package, serves a newer
// version from a flat file: repository in t.TempDir and checks that Scan,
// and the pkgupdate plugin's Inspect over gRPC with the source_list,
// lists_dir and cache_dir parameters, pointed only at that repository,
// report exactly that upgrade; then that the plugin's Run upgrades it from
// 1.0 to 2.0 and says so. It changes no package other than
// vigil-test-dummy, which it removes again. (The plugin check lives here,
// in the external test package, so that one test binary owns the dummy
// package and dpkg's lock.)
func TestScanLocalRepository(t *testing.T) {
	apttest.Require(t, dummyPkg)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	repo := apttest.NewRepo(t, dummyPkg, "1.0", "2.0")
	opts := apt.Options{Update: true, SourceList: repo.SourceList, ListsDir: repo.Lists, CacheDir: repo.Cache}
	repo.Install(t, "1.0")

	got, err := apt.Scan(ctx, apt.ExecRunner{}, opts)
	if err != nil {
		t.Fatalf("Scan with 1.0 installed: %v", err)
	}
	want := []apt.Update{{Name: dummyPkg, Arch: "all", Installed: "1.0", Candidate: "2.0"}}
	// The origin string of a flat file: repository depends on the apt
	// version; compare it separately.
	for i := range got {
		t.Logf("%s origins: %q", got[i].Name, got[i].Origins)
		got[i].Origins = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Scan with 1.0 installed = %+v, want %+v", got, want)
	}

	// The plugin, through its parameters. The host's own
	// /run/reboot-required is kept out with an empty root.
	plugin := pkgupdate.New(pkgupdate.Config{Root: t.TempDir()})
	params := repo.Params()
	scan := inspectScan(ctx, t, plugin, params)
	if scan.GetSource() != "apt" || scan.GetStatus() != agentv1.ScanStatus_SCAN_STATUS_OK {
		t.Fatalf("Inspect with 1.0 installed: %v", scan)
	}
	if len(scan.GetPending()) != 1 {
		t.Fatalf("Inspect with 1.0 installed: %d pending, want 1: %v", len(scan.GetPending()), scan.GetPending())
	}
	u := scan.GetPending()[0]
	t.Logf("plugin origin: %q", u.GetOrigin())
	gotU := []string{u.GetId(), u.GetPackage(), u.GetTitle(), u.GetCurrentVersion(), u.GetAvailableVersion(), u.GetClassification().String()}
	wantU := []string{dummyPkg, dummyPkg, dummyPkg + " 1.0 -> 2.0", "1.0", "2.0", agentv1.Classification_CLASSIFICATION_UPDATE.String()}
	if !reflect.DeepEqual(gotU, wantU) || len(scan.GetInstalledAwaitingReboot()) != 0 || scan.GetRebootRequired() {
		t.Fatalf("Inspect with 1.0 installed: pending %q, scan %v; want %q", gotU, scan, wantU)
	}

	// Run upgrades it through the same parameters and reports 1.0 -> 2.0.
	runParams := repo.Params()
	runParams["packages"] = dummyPkg
	events, err := sdktest.Run(ctx, sdktest.Start(t, plugin), &sdk.RunRequest{TaskId: "upgrade", Parameters: runParams})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, ev := range events {
		if l := ev.GetLog(); l != nil {
			t.Logf("run %s: %s", l.GetStream(), l.GetLine())
		}
	}
	res := events[len(events)-1].GetResult()
	var detail pkgupdate.RunDetail
	if err := json.Unmarshal(res.GetDetail(), &detail); err != nil {
		t.Fatalf("Run detail %q: %v", res.GetDetail(), err)
	}
	wantUp := []pkgupdate.Upgraded{{Package: dummyPkg, From: "1.0", To: "2.0"}}
	if !res.GetOk() || res.GetExitCode() != 0 || !reflect.DeepEqual(detail.Upgraded, wantUp) || len(detail.Failed) != 0 {
		t.Fatalf("Run = %v, detail %+v; want ok with %+v", res, detail, wantUp)
	}
	got, err = apt.Scan(ctx, apt.ExecRunner{}, opts)
	if err != nil {
		t.Fatalf("Scan with 2.0 installed: %v", err)
	}
	if len(got) != 0 {
		t.Fatalf("Scan with 2.0 installed = %+v, want nothing pending", got)
	}
	params["refresh"] = "false"
	scan = inspectScan(ctx, t, plugin, params)
	if scan.GetStatus() != agentv1.ScanStatus_SCAN_STATUS_OK || len(scan.GetPending()) != 0 {
		t.Fatalf("Inspect with 2.0 installed = %v, want OK with nothing pending", scan)
	}
}

// inspectScan calls p's Inspect over gRPC and decodes the PatchScan.
func inspectScan(ctx context.Context, t *testing.T, p *pkgupdate.Plugin, params map[string]string) *agentv1.PatchScan {
	t.Helper()
	resp, err := sdktest.Start(t, p).Inspect(ctx, params)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	var scan agentv1.PatchScan
	if err := proto.Unmarshal(resp.GetResult(), &scan); err != nil {
		t.Fatalf("decode PatchScan: %v", err)
	}
	t.Logf("Inspect summary: %s", resp.GetSummary())
	return &scan
}
