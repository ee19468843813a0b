package windowsupdate

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/plugins/sdk"
	"github.com/vigil-rmm/vigil/plugins/sdk/sdktest"
	"github.com/vigil-rmm/vigil/plugins/windowsupdate/wua"
)

const (
	guidA = "aaaaaaaa-1111-2222-3333-444444444444"
	guidB = "bbbbbbbb-1111-2222-3333-444444444444"
	guidC = "cccccccc-1111-2222-3333-444444444444"
)

func upd(guid string, rev int, kb, title string) wua.Update {
	return wua.Update{Identity: wua.Identity{UpdateID: guid, RevisionNumber: rev}, KBArticleIDs: []string{kb}, Title: title,
		Categories: []wua.Category{{CategoryID: wua.GUIDSecurityUpdates, Type: "UpdateClassification"}}}
}

// fakeInstaller is Run's OS edge: it "finds" found, and answers download
// and install per UpdateID (success when not listed).
type fakeInstaller struct {
	found      []wua.Update
	searchCode wua.OperationResultCode
	download   map[string]wua.UpdateResult
	install    map[string]wua.UpdateResult
	overallHR  uint32
	reboot     bool
	stepErr    error // returned after the download when set
	hang       bool

	mu      sync.Mutex
	queries []Query
}

func (f *fakeInstaller) Install(ctx context.Context, job InstallJob) (*InstallRun, error) {
	f.mu.Lock()
	f.queries = append(f.queries, job.Query)
	f.mu.Unlock()
	if f.hang {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	job.Progress(StageSearching, 0)
	code := f.searchCode
	if code == 0 {
		code = wua.Succeeded
	}
	run := &InstallRun{Search: &SearchResult{ResultCode: code, Updates: f.found}}
	run.Selected = job.Select(f.found)
	if len(run.Selected) == 0 {
		return run, nil
	}
	job.Progress(StageDownloading, len(run.Selected))
	run.Downloaded = &DownloadResult{ResultCode: wua.Succeeded}
	for _, i := range run.Selected {
		r, ok := f.download[f.found[i].Identity.UpdateID]
		if !ok {
			r = wua.UpdateResult{ResultCode: wua.Succeeded}
		}
		run.Downloaded.Updates = append(run.Downloaded.Updates, r)
		if r.ResultCode.Succeeded() {
			run.Installing = append(run.Installing, i)
		}
	}
	if f.stepErr != nil {
		return run, f.stepErr
	}
	job.Progress(StageInstalling, len(run.Installing))
	run.Installed = &wua.InstallationResult{ResultCode: wua.Succeeded, HResult: f.overallHR}
	for _, i := range run.Installing {
		id := f.found[i].Identity.UpdateID
		r, ok := f.install[id]
		if !ok {
			r = wua.UpdateResult{ResultCode: wua.Succeeded}
		}
		r.UpdateID = id
		run.Installed.Updates = append(run.Installed.Updates, r)
	}
	run.RebootRequired = f.reboot
	return run, nil
}

func runWU(t *testing.T, ctx context.Context, f *fakeInstaller, params map[string]string) (*sdk.RunEvent, RunDetail, []*sdk.RunEvent, error) {
	t.Helper()
	c := sdktest.Start(t, New(Options{Searcher: &fakeSearcher{}, Installer: f}))
	events, err := sdktest.Run(ctx, c, &sdk.RunRequest{TaskId: "t", Parameters: params})
	if err != nil {
		return nil, RunDetail{}, events, err
	}
	last := events[len(events)-1]
	if last.GetResult() == nil {
		t.Fatalf("last event %v", last)
	}
	for _, ev := range events[:len(events)-1] {
		if ev.GetResult() != nil {
			t.Fatalf("result before the end: %v", events)
		}
	}
	var d RunDetail
	if err := json.Unmarshal(last.GetResult().GetDetail(), &d); err != nil {
		t.Fatal(err)
	}
	return last, d, events, nil
}

func TestRunUpdateIDs(t *testing.T) {
	f := &fakeInstaller{
		found: []wua.Update{upd(strings.ToUpper(guidA), 201, "5031234", "2023-10 Cumulative Update"), upd(guidB, 1, "890830", "MSRT"),
			upd(guidC, 3, "111", "not requested")},
		download: map[string]wua.UpdateResult{guidB: {ResultCode: wua.Failed, HResult: 0x80246008}},
		reboot:   true,
	}
	ids := guidA + ".201, " + guidB + ".1," + "DDDDDDDD-1111-2222-3333-444444444444.7"
	last, d, events, err := runWU(t, t.Context(), f, map[string]string{"update_ids": ids, "service": "windows_update"})
	if err != nil {
		t.Fatal(err)
	}
	wantQ := Query{Online: true, Server: SSWindowsUpdate, Criteria: "(UpdateID='" + guidA + "' and RevisionNumber=201 and IsInstalled=0) or " +
		"(UpdateID='" + guidB + "' and RevisionNumber=1 and IsInstalled=0) or (UpdateID='dddddddd-1111-2222-3333-444444444444' and RevisionNumber=7 and IsInstalled=0)"}
	if !slices.Equal(f.queries, []Query{wantQ}) {
		t.Errorf("queries %+v\nwant %+v", f.queries, wantQ)
	}
	want := RunDetail{Installed: 1, Failed: 2, RebootRequired: true, Updates: []UpdateOutcome{
		{ID: guidA + ".201", Title: "2023-10 Cumulative Update", KB: "KB5031234", Outcome: OutcomeInstalled, Result: "Succeeded"},
		{ID: guidB + ".1", Title: "MSRT", KB: "KB890830", Outcome: OutcomeFailed, Step: "download", Result: "Failed", HResult: "0x80246008",
			Code: "WU_E_DM_FAILTOCONNECTTOBITS", Reason: "download result Failed: " + wua.HRESULT(0x80246008).String()},
		{ID: "dddddddd-1111-2222-3333-444444444444.7", Outcome: OutcomeNotFound,
			Reason: "not pending: already installed, superseded or unknown to the update service"},
	}}
	if !equalRunDetail(d, want) {
		t.Errorf("detail\n%+v\nwant\n%+v", d, want)
	}
	r := last.GetResult()
	if r.GetOk() || r.GetSummary() != "1 installed, 2 failed (KB890830: "+want.Updates[1].Reason+"), reboot required" {
		t.Errorf("result %v", r)
	}
	var pct []int32
	for _, ev := range events {
		if p := ev.GetProgress(); p != nil {
			pct = append(pct, p.GetPercent())
		}
	}
	if !slices.Equal(pct, []int32{0, 10, 50, 100}) {
		t.Errorf("progress %v", pct)
	}
}

func equalRunDetail(a, b RunDetail) bool {
	return slices.Equal(a.Updates, b.Updates) && a.Installed == b.Installed && a.Failed == b.Failed &&
		a.RebootRequired == b.RebootRequired && a.ErrorCode == b.ErrorCode && a.Error == b.Error
}

// TestRunPerUpdateFailureIsFailure is the false-success trap: Install()
// returned S_OK and the overall result looks fine, but one update failed.
func TestRunPerUpdateFailureIsFailure(t *testing.T) {
	f := &fakeInstaller{
		found:   []wua.Update{upd(guidA, 1, "1", "one"), upd(guidB, 2, "2", "two")},
		install: map[string]wua.UpdateResult{guidB: {ResultCode: wua.Failed, HResult: 0x80240016}},
	}
	last, d, _, err := runWU(t, t.Context(), f, map[string]string{"classifications": "security,critical"})
	if err != nil {
		t.Fatal(err)
	}
	if last.GetResult().GetOk() || d.Installed != 1 || d.Failed != 1 || d.Updates[1].Code != "WU_E_INSTALL_NOT_ALLOWED" || d.Updates[1].Step != "install" {
		t.Errorf("result %v detail %+v", last.GetResult(), d)
	}
	crit, _ := wua.Criteria(wua.SearchOptions{SoftwareOnly: true, CategoryIDs: []string{wua.GUIDSecurityUpdates, wua.GUIDCriticalUpdates}})
	if f.queries[0].Criteria != crit || !f.queries[0].Online {
		t.Errorf("query %+v", f.queries[0])
	}
}

func TestRunAllSucceedAndNothingToInstall(t *testing.T) {
	f := &fakeInstaller{found: []wua.Update{upd(guidA, 1, "1", "one")}, install: map[string]wua.UpdateResult{
		guidA: {ResultCode: wua.Succeeded, HResult: wua.WUSRebootRequired}}}
	last, d, _, err := runWU(t, t.Context(), f, map[string]string{"classifications": "driver"})
	if err != nil {
		t.Fatal(err)
	}
	if r := last.GetResult(); !r.GetOk() || r.GetSummary() != "1 installed, 0 failed, reboot required" || !d.Updates[0].RebootRequired {
		t.Errorf("result %v detail %+v", r, d)
	}
	if strings.Contains(f.queries[0].Criteria, "Type='Software'") {
		t.Errorf("driver classification searched software only: %s", f.queries[0].Criteria)
	}
	last, d, _, err = runWU(t, t.Context(), &fakeInstaller{}, map[string]string{"classifications": "security"})
	if err != nil {
		t.Fatal(err)
	}
	if r := last.GetResult(); !r.GetOk() || r.GetSummary() != "nothing to install" || len(d.Updates) != 0 {
		t.Errorf("result %v detail %+v", r, d)
	}
}

func TestRunStepFailures(t *testing.T) {
	tests := []struct {
		name    string
		f       *fakeInstaller
		code    string
		summary string
	}{
		{"install call fails", &fakeInstaller{found: []wua.Update{upd(guidA, 1, "1", "one")},
			stepErr: &HRESULTError{Op: "Install", Code: 0x8024001E}},
			"WU_E_SERVICE_STOP", "0 installed, 1 failed (KB1: not installed); WU_E_SERVICE_STOP"},
		{"search failed", &fakeInstaller{searchCode: wua.Failed}, "search_failed", "install failed: search_failed: search result Failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			last, d, _, err := runWU(t, t.Context(), tt.f, map[string]string{"classifications": "security"})
			if err != nil {
				t.Fatal(err)
			}
			if r := last.GetResult(); r.GetOk() || d.ErrorCode != tt.code || r.GetSummary() != tt.summary {
				t.Errorf("result %v detail %+v", r, d)
			}
		})
	}
	// On Linux the real installer is unsupported.
	c := sdktest.Start(t, New(Options{Searcher: &fakeSearcher{}}))
	events, err := sdktest.Run(t.Context(), c, &sdk.RunRequest{Parameters: map[string]string{"classifications": "security"}})
	if err != nil {
		t.Fatal(err)
	}
	if r := events[len(events)-1].GetResult(); r.GetOk() || !strings.Contains(r.GetSummary(), CodeUnsupportedOS) {
		t.Errorf("result %v", r)
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, _, _, err := runWU(t, ctx, &fakeInstaller{hang: true}, map[string]string{"classifications": "security"})
	if c := status.Code(err); c != codes.DeadlineExceeded && c != codes.Canceled {
		t.Errorf("err = %v", err)
	}
}

func TestRunInvalidParams(t *testing.T) {
	tests := []struct {
		params map[string]string
		name   string
	}{
		{map[string]string{}, "update_ids"},
		{map[string]string{"update_ids": guidA + ".1", "classifications": "security"}, "classifications"},
		{map[string]string{"update_ids": "KB5031234"}, "update_ids"},
		{map[string]string{"update_ids": guidA}, "update_ids"},
		{map[string]string{"update_ids": guidA + ".x"}, "update_ids"},
		{map[string]string{"update_ids": guidA + ".-1"}, "update_ids"},
		{map[string]string{"update_ids": "' or 1=1 or '.1"}, "update_ids"},
		{map[string]string{"update_ids": " , "}, "update_ids"},
		{map[string]string{"update_ids": guidA + ".1", "include_drivers": "true"}, "include_drivers"},
		{map[string]string{"classifications": "security,bogus"}, "classifications"},
		{map[string]string{"classifications": ""}, "classifications"},
		{map[string]string{"classifications": "security", "online": "false"}, "online"},
		{map[string]string{"classifications": "security", "service": "sccm"}, "service"},
		{map[string]string{"classifications": "security", "reboot": "now"}, "reboot"},
	}
	f := &fakeInstaller{}
	c := sdktest.Start(t, New(Options{Searcher: &fakeSearcher{}, Installer: f}))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := sdktest.Run(t.Context(), c, &sdk.RunRequest{Parameters: tt.params})
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), `parameter "`+tt.name+`"`) || len(events) != 0 {
				t.Errorf("err = %v, want InvalidArgument naming %s", err, tt.name)
			}
		})
	}
	if len(f.queries) != 0 {
		t.Errorf("invalid parameters ran: %v", f.queries)
	}
}

func TestEvaluateNilRun(t *testing.T) {
	d := Evaluate([]wua.Identity{{UpdateID: guidA, RevisionNumber: 1}}, nil, errors.New("boom"))
	if d.ErrorCode != CodeUnexpected || d.Failed != 1 || d.Updates[0].Outcome != OutcomeNotFound {
		t.Errorf("detail %+v", d)
	}
}

func TestDetailJSONFits(t *testing.T) {
	d := RunDetail{Installed: 2000}
	for range 2000 {
		d.Updates = append(d.Updates, UpdateOutcome{ID: guidA + ".1", Title: strings.Repeat("t", 100), Outcome: OutcomeInstalled})
	}
	b, err := detailJSON(d)
	if err != nil || len(b) > maxDetail {
		t.Fatalf("%d bytes, %v", len(b), err)
	}
	var got RunDetail
	if err := json.Unmarshal(b, &got); err != nil || got.Installed != 2000 || len(got.Updates) == 0 || got.Error == "" {
		t.Errorf("got %d updates, installed %d, error %q, %v", len(got.Updates), got.Installed, got.Error, err)
	}
}
