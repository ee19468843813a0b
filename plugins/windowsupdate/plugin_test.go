package windowsupdate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
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
	"github.com/vigil-rmm/vigil/plugins/sdk"
	"github.com/vigil-rmm/vigil/plugins/sdk/sdktest"
	"github.com/vigil-rmm/vigil/plugins/windowsupdate/wua"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

const (
	pendingSoftware  = "IsInstalled=0 and IsHidden=0 and Type='Software'"
	awaitingSoftware = "IsInstalled=1 and RebootRequired=1 and Type='Software'"
)

// fakeSearcher answers by criteria string. It is the OS edge: the plugin is
// served over real gRPC by sdktest.
type fakeSearcher struct {
	mu        sync.Mutex
	results   map[string]*SearchResult
	errs      map[string]error
	reboot    bool
	rebootErr error
	queries   []Query
	// afterSearch runs after each search, e.g. to cancel the caller.
	afterSearch func()
}

func (f *fakeSearcher) Search(_ context.Context, q Query) (*SearchResult, error) {
	f.mu.Lock()
	f.queries = append(f.queries, q)
	res, err := f.results[q.Criteria], f.errs[q.Criteria]
	after := f.afterSearch
	f.mu.Unlock()
	if after != nil {
		after()
	}
	if err != nil {
		return nil, err
	}
	if res == nil {
		res = &SearchResult{ResultCode: wua.Succeeded}
	}
	return res, nil
}

func (f *fakeSearcher) RebootRequired(context.Context) (bool, error) {
	return f.reboot, f.rebootErr
}

func (f *fakeSearcher) seen() []Query {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.queries)
}

// fixtureSearcher returns the .NET cumulative update as installed awaiting
// reboot and the fixture's other software updates (all but the driver) as
// pending.
func fixtureSearcher(t *testing.T) *fakeSearcher {
	us := loadUpdates(t)
	installed := us[4]
	installed.IsInstalled, installed.RebootRequired = true, true
	software := slices.DeleteFunc(slices.Clone(us), func(u wua.Update) bool {
		return u.Type != 1 || u.Identity == installed.Identity
	})
	return &fakeSearcher{
		results: map[string]*SearchResult{
			pendingSoftware:  {ResultCode: wua.Succeeded, Updates: software},
			awaitingSoftware: {ResultCode: wua.Succeeded, Updates: []wua.Update{installed}},
		},
		reboot: true,
	}
}

// steppingClock advances 1.5 s per call.
func steppingClock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(1500 * time.Millisecond)
		return t
	}
}

func decodeScan(t *testing.T, resp *sdk.InspectResponse) *agentv1.PatchScan {
	t.Helper()
	var s agentv1.PatchScan
	if err := proto.Unmarshal(resp.GetResult(), &s); err != nil {
		t.Fatalf("result is not a PatchScan: %v", err)
	}
	return &s
}

func TestInfo(t *testing.T) {
	c := sdktest.Start(t, New(Options{Searcher: &fakeSearcher{}}))
	info, err := c.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var params []string
	for _, p := range info.GetParameters() {
		params = append(params, p.GetName()+":"+p.GetType())
	}
	if info.GetName() != "windowsupdate" || info.GetVersion() == "" ||
		!slices.Equal(info.GetCapabilities(), []string{"downtime", sdk.CapInspect, sdk.CapRun}) ||
		!slices.Equal(params, []string{"online:bool", "service:string", "include_drivers:bool", "update_ids:list", "classifications:list"}) {
		t.Errorf("Info = %v", info)
	}
}

func TestInspectEndToEnd(t *testing.T) {
	f := fixtureSearcher(t)
	c := sdktest.Start(t, New(Options{Searcher: f, Now: steppingClock()}))
	resp, err := c.Inspect(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "4 pending (1 security), 1 installed awaiting reboot, reboot required"; resp.GetSummary() != want {
		t.Errorf("summary %q, want %q", resp.GetSummary(), want)
	}
	scan := decodeScan(t, resp)
	if scan.GetStatus() != agentv1.ScanStatus_SCAN_STATUS_OK || scan.GetSource() != "windowsupdate" || scan.GetDurationMs() != 1500 {
		t.Errorf("scan header = %v %q %d", scan.GetStatus(), scan.GetSource(), scan.GetDurationMs())
	}
	want := []Query{
		{Criteria: pendingSoftware, Online: true, Server: SSDefault},
		{Criteria: awaitingSoftware, Online: true, Server: SSDefault},
	}
	if got := f.seen(); !slices.Equal(got, want) {
		t.Errorf("queries %+v\nwant %+v", got, want)
	}
	b, err := protojson.Marshal(scan)
	if err != nil {
		t.Fatal(err)
	}
	golden.JSON(t, filepath.Join("testdata", "scan.golden.json"), json.RawMessage(b))
}

func TestInspectParams(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]string
		want   Query
	}{
		{"defaults", nil, Query{Criteria: pendingSoftware, Online: true}},
		{"offline", map[string]string{"online": "false"}, Query{Criteria: pendingSoftware}},
		{"wsus", map[string]string{"service": "wsus"}, Query{Criteria: pendingSoftware, Online: true, Server: SSManagedServer}},
		{"windows update", map[string]string{"service": "Windows_Update"}, Query{Criteria: pendingSoftware, Online: true, Server: SSWindowsUpdate}},
		{
			"microsoft update with drivers",
			map[string]string{"service": "microsoft_update", "include_drivers": "1", "online": "TRUE"},
			Query{Criteria: "IsInstalled=0 and IsHidden=0", Online: true, Server: SSOthers, ServiceID: MicrosoftUpdateServiceID},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSearcher{}
			if _, err := New(Options{Searcher: f}).Inspect(t.Context(), tt.params); err != nil {
				t.Fatal(err)
			}
			if got := f.seen(); len(got) != 2 || got[0] != tt.want {
				t.Errorf("queries %+v, want first %+v", got, tt.want)
			}
		})
	}
}

func TestInspectInvalidParams(t *testing.T) {
	c := sdktest.Start(t, New(Options{Searcher: &fakeSearcher{}}))
	tests := []struct {
		params map[string]string
		names  string
	}{
		{map[string]string{"online": "maybe"}, `"online"`},
		{map[string]string{"include_drivers": ""}, `"include_drivers"`},
		{map[string]string{"service": "sccm"}, `"service"`},
		{map[string]string{"online": "true", "zzz": "1"}, `"zzz"`},
	}
	for _, tt := range tests {
		_, err := c.Inspect(t.Context(), tt.params)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), tt.names) {
			t.Errorf("Inspect(%v) err = %v, want InvalidArgument naming %s", tt.params, err, tt.names)
		}
	}
}

func TestInspectFailures(t *testing.T) {
	tests := []struct {
		name      string
		searcher  *fakeSearcher
		status    agentv1.ScanStatus
		code, msg string
		summary   string
	}{
		{
			"name not resolved",
			&fakeSearcher{errs: map[string]error{pendingSoftware: &HRESULTError{Op: "Search", Code: 0x8024402C}}},
			agentv1.ScanStatus_SCAN_STATUS_FAILED, "WU_E_PT_WINHTTP_NAME_NOT_RESOLVED",
			"The proxy server or target server name cannot be resolved.",
			"scan failed: WU_E_PT_WINHTTP_NAME_NOT_RESOLVED: The proxy server or target server name cannot be resolved.",
		},
		{
			"unnamed HRESULT on the second search keeps the COM description",
			&fakeSearcher{errs: map[string]error{awaitingSoftware: &HRESULTError{Op: "Search", Code: 0x80248014, Description: "service not registered"}}},
			agentv1.ScanStatus_SCAN_STATUS_FAILED, "0x80248014", "service not registered", "",
		},
		{
			"unnamed HRESULT without description",
			&fakeSearcher{errs: map[string]error{pendingSoftware: &HRESULTError{Op: "Search", Code: 0x80070643}}},
			agentv1.ScanStatus_SCAN_STATUS_FAILED, "0x80070643", "Windows Update returned 0x80070643.", "",
		},
		{
			"result Failed names the failing warning",
			&fakeSearcher{results: map[string]*SearchResult{pendingSoftware: {ResultCode: wua.Failed, Warnings: []Warning{
				{HResult: 0x00240005, Message: "not a failure"}, {HResult: 0x80244022, Message: "503"},
			}}}},
			agentv1.ScanStatus_SCAN_STATUS_FAILED, "WU_E_PT_HTTP_STATUS_SERVICE_UNAVAIL", "Same as HTTP status 503: the service is temporarily overloaded.", "",
		},
		{
			"result Aborted without warnings",
			&fakeSearcher{results: map[string]*SearchResult{pendingSoftware: {ResultCode: wua.Aborted}}},
			agentv1.ScanStatus_SCAN_STATUS_FAILED, "search_aborted", "search result Aborted", "",
		},
		{
			"reboot flag unreadable",
			&fakeSearcher{rebootErr: &HRESULTError{Op: "RebootRequired", Code: 0x8024001E}},
			agentv1.ScanStatus_SCAN_STATUS_FAILED, "WU_E_SERVICE_STOP", "Operation did not complete because the service or system was being shut down.", "",
		},
		{
			"error without HRESULT",
			&fakeSearcher{errs: map[string]error{pendingSoftware: errors.New("IUpdate.Title: unexpected VARIANT type 0x3 for a string")}},
			agentv1.ScanStatus_SCAN_STATUS_FAILED, "unexpected", "IUpdate.Title: unexpected VARIANT type 0x3 for a string", "",
		},
		{
			"no WUA",
			&fakeSearcher{errs: map[string]error{pendingSoftware: errors.ErrUnsupported}},
			agentv1.ScanStatus_SCAN_STATUS_UNAVAILABLE, "unsupported_os", "unsupported operation", "unavailable: unsupported_os",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := New(Options{Searcher: tt.searcher}).Inspect(t.Context(), nil)
			if err != nil {
				t.Fatalf("Inspect err = %v; a failed scan is not a gRPC error", err)
			}
			s := decodeScan(t, resp)
			if s.GetStatus() != tt.status || s.GetErrorCode() != tt.code || s.GetErrorMessage() != tt.msg ||
				s.GetSource() != "windowsupdate" || len(s.GetPending())+len(s.GetInstalledAwaitingReboot()) != 0 || s.GetRebootRequired() {
				t.Errorf("scan = %v", s)
			}
			if tt.summary != "" && resp.GetSummary() != tt.summary {
				t.Errorf("summary %q, want %q", resp.GetSummary(), tt.summary)
			}
		})
	}
}

func TestInspectFailureOverGRPC(t *testing.T) {
	f := &fakeSearcher{errs: map[string]error{pendingSoftware: &HRESULTError{Op: "Search", Code: 0x8024402C}}}
	resp, err := sdktest.Start(t, New(Options{Searcher: f})).Inspect(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := decodeScan(t, resp); s.GetStatus() != agentv1.ScanStatus_SCAN_STATUS_FAILED || s.GetErrorCode() != "WU_E_PT_WINHTTP_NAME_NOT_RESOLVED" {
		t.Errorf("scan = %v", s)
	}
}

func TestInspectSucceededWithErrorsLogsWarnings(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	us := loadUpdates(t)
	f := &fakeSearcher{results: map[string]*SearchResult{pendingSoftware: {
		ResultCode: wua.SucceededWithErrors,
		Updates:    us[:1],
		Warnings:   []Warning{{HResult: 0x8024402F, Message: "cab processing", Context: 1}},
	}}}
	resp, err := New(Options{Searcher: f, Logger: log}).Inspect(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := decodeScan(t, resp); s.GetStatus() != agentv1.ScanStatus_SCAN_STATUS_OK || len(s.GetPending()) != 1 {
		t.Errorf("scan = %v", s)
	}
	if out := buf.String(); !strings.Contains(out, `"level":"WARN"`) || !strings.Contains(out, "WU_E_PT_ECP_SUCCEEDED_WITH_ERRORS") {
		t.Errorf("log = %s", out)
	}
}

func TestInspectStopsWhenCancelledBetweenSearches(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	f := &fakeSearcher{afterSearch: cancel}
	_, err := New(Options{Searcher: f}).Inspect(ctx, nil)
	if status.Code(err) != codes.Canceled {
		t.Errorf("err = %v, want Canceled", err)
	}
	if n := len(f.seen()); n != 1 {
		t.Errorf("%d searches after cancellation, want 1", n)
	}
}

// TestScanDeterministic checks that the same updates in any order encode to
// the same bytes, so the agent's hash over them is stable.
func TestScanDeterministic(t *testing.T) {
	encode := func(seed uint64) []byte {
		us := loadUpdates(t)
		r := rand.New(rand.NewPCG(seed, seed))
		r.Shuffle(len(us), func(i, j int) { us[i], us[j] = us[j], us[i] })
		for i := range us {
			r.Shuffle(len(us[i].CveIDs), func(a, b int) { us[i].CveIDs[a], us[i].CveIDs[b] = us[i].CveIDs[b], us[i].CveIDs[a] })
		}
		f := &fakeSearcher{results: map[string]*SearchResult{pendingSoftware: {ResultCode: wua.Succeeded, Updates: us}}}
		clock := func() time.Time { return time.Unix(0, 0) }
		resp, err := New(Options{Searcher: f, Now: clock}).Inspect(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		// Re-marshal as the agent does before hashing.
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(decodeScan(t, resp))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	first := sha256.Sum256(encode(1))
	for seed := range uint64(5) {
		if got := sha256.Sum256(encode(seed + 2)); got != first {
			t.Fatalf("seed %d: encoding differs", seed+2)
		}
	}
}
