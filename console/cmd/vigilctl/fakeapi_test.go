package main

// A manage API on loopback with real TLS and bearer-token checks, serving
// fixed patch, reboot and inventory state, for the fast CLI tests of the
// commands whose controller side is not wired up in controllertest. It
// records every request so tests can check what the flags turned into.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/internal/clientconfig"
	"github.com/vigil-rmm/vigil/internal/envelope"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// t0 is the fixed "now" of the fast tests.
var t0 = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

const fakeToken = "vgl_api_test"

func ago0(d time.Duration) int64 { return t0.Add(-d).Unix() }

func agoMs(d time.Duration) int64 { return t0.Add(-d).UnixMilli() }

const day = 24 * time.Hour

// fakeAPI serves the fixtures below, and the trust and task RPCs of
// fakeapi_tasks_test.go.
type fakeAPI struct {
	managev1.UnimplementedManageServiceServer

	mu   sync.Mutex
	reqs []proto.Message

	// Trust and task state (fakeapi_tasks_test.go), under mu.
	root     *managev1.TrustRoot
	certs    []*managev1.CertificateInfo
	tasks    map[string]*fakeTask
	verified []*envelope.Verified // every accepted CreateTask and ApproveTask, verified
	// onCreate, when set, is applied to each task CreateTask stores.
	onCreate func(*fakeTask)
	getTasks int // GetTask calls
}

var _ managev1.ManageServiceServer = (*fakeAPI)(nil)

func (f *fakeAPI) record(m proto.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, proto.Clone(m))
}

// last returns the latest request and how many arrived in all.
func (f *fakeAPI) last() (proto.Message, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		return nil, 0
	}
	return f.reqs[len(f.reqs)-1], len(f.reqs)
}

func notFound(id string) error { return status.Errorf(codes.NotFound, "not found: agent %q", id) }

func (f *fakeAPI) ListPatchSummaries(_ context.Context, r *managev1.ListPatchSummariesRequest) (*managev1.ListPatchSummariesResponse, error) {
	f.record(r)
	return &managev1.ListPatchSummariesResponse{Summaries: []*managev1.PatchSummary{
		patchStates["ag-dc01"].GetSummary(), patchStates["ag-fs01"].GetSummary(), patchStates["ag-web01"].GetSummary(),
		patchStates["ag-db01"].GetSummary(),
	}}, nil
}

func (f *fakeAPI) GetPatchState(_ context.Context, r *managev1.GetPatchStateRequest) (*managev1.PatchState, error) {
	f.record(r)
	if st, ok := patchStates[r.GetAgentId()]; ok {
		return st, nil
	}
	return nil, notFound(r.GetAgentId())
}

func (f *fakeAPI) ListPatchHistory(_ context.Context, r *managev1.ListPatchHistoryRequest) (*managev1.ListPatchHistoryResponse, error) {
	f.record(r)
	if r.GetAgentId() != "ag-web01" {
		return nil, notFound(r.GetAgentId())
	}
	return &managev1.ListPatchHistoryResponse{Events: []*managev1.PatchEvent{
		{TimeUnix: ago0(20 * day), Kind: managev1.PatchEvent_KIND_APPEARED, UpdateId: "openssl", Package: "openssl",
			Title: "openssl 3.0.14-1~deb12u2 -> 3.0.15-1~deb12u1", Classification: agentv1.Classification_CLASSIFICATION_SECURITY},
		{TimeUnix: ago0(9 * day), Kind: managev1.PatchEvent_KIND_APPEARED, UpdateId: "linux-image-amd64", Package: "linux-image-amd64",
			Title: "linux-image-amd64 6.1.112-1 -> 6.1.115-1", Classification: agentv1.Classification_CLASSIFICATION_SECURITY},
		{TimeUnix: ago0(2 * day), Kind: managev1.PatchEvent_KIND_DISAPPEARED, UpdateId: "openssl", Package: "openssl",
			Title: "openssl 3.0.14-1~deb12u2 -> 3.0.15-1~deb12u1", Classification: agentv1.Classification_CLASSIFICATION_SECURITY,
			PendingSeconds: int64(18 * day / time.Second)},
		{TimeUnix: ago0(2 * day), Kind: managev1.PatchEvent_KIND_AWAITING_REBOOT, UpdateId: "linux-image-amd64", Package: "linux-image-amd64",
			Title: "linux-image-amd64 6.1.112-1 -> 6.1.115-1", Classification: agentv1.Classification_CLASSIFICATION_SECURITY},
	}}, nil
}

func (f *fakeAPI) GetPatchCompliance(_ context.Context, r *managev1.GetPatchComplianceRequest) (*managev1.GetPatchComplianceResponse, error) {
	f.record(r)
	or := func(v, d uint32) uint32 {
		if v == 0 {
			return d
		}
		return v
	}
	resp := &managev1.GetPatchComplianceResponse{UpdateDays: or(r.GetUpdateDays(), 14), RebootDays: or(r.GetRebootDays(), 3),
		StaleScanDays: or(r.GetStaleScanDays(), 2)}
	for _, t := range compliance {
		if r.GetTenant() == "" || r.GetTenant() == t.GetTenant() {
			resp.Tenants = append(resp.Tenants, t)
		}
	}
	return resp, nil
}

func (f *fakeAPI) RescanAgent(_ context.Context, r *managev1.RescanAgentRequest) (*managev1.RescanAgentResponse, error) {
	f.record(r)
	switch r.GetAgentId() {
	case "ag-offline":
		return nil, status.Error(codes.FailedPrecondition, "agent is offline")
	case "ag-flaky":
		return nil, status.Error(codes.Unavailable, "agent stream closed")
	case "ag-slow":
		if r.GetWaitSeconds() > 0 {
			return nil, status.Error(codes.DeadlineExceeded, "rescan: results did not arrive in time")
		}
	case "ag-web01":
	default:
		return nil, notFound(r.GetAgentId())
	}
	resp := &managev1.RescanAgentResponse{RequestId: "rq-7f3a9c"}
	if r.GetWaitSeconds() > 0 {
		resp.Completed = true
		resp.Scan = &managev1.ScanResult{TimeUnixMs: agoMs(3 * time.Second), Status: agentv1.ScanStatus_SCAN_STATUS_OK, Source: "apt",
			DurationMs: 3200, LastOkUnixMs: agoMs(3 * time.Second), RequestId: "rq-7f3a9c"}
	}
	return resp, nil
}

func (f *fakeAPI) GetRebootState(_ context.Context, r *managev1.GetRebootStateRequest) (*managev1.RebootStateView, error) {
	f.record(r)
	switch r.GetAgentId() {
	case "ag-dc01":
		return rebootDC01, nil
	case "ag-new":
		return &managev1.RebootStateView{AgentId: "ag-new"}, nil
	}
	return nil, notFound(r.GetAgentId())
}

func (f *fakeAPI) GetInventory(_ context.Context, r *managev1.GetInventoryRequest) (*managev1.InventoryView, error) {
	f.record(r)
	switch r.GetAgentId() {
	case "ag-web01":
		return inventoryWeb01, nil
	case "ag-new":
		return &managev1.InventoryView{AgentId: "ag-new"}, nil
	}
	return nil, notFound(r.GetAgentId())
}

func (f *fakeAPI) ListInventoryChanges(_ context.Context, r *managev1.ListInventoryChangesRequest) (*managev1.ListInventoryChangesResponse, error) {
	f.record(r)
	if r.GetAgentId() != "ag-web01" {
		return nil, notFound(r.GetAgentId())
	}
	return &managev1.ListInventoryChangesResponse{Changes: []*managev1.InventoryChange{
		{TimeUnix: ago0(12 * day), Kind: managev1.InventoryChange_KIND_INSTALLED, Name: "nginx", Arch: "amd64", NewVersion: "1.22.1-9"},
		{TimeUnix: ago0(2 * day), Kind: managev1.InventoryChange_KIND_UPGRADED, Name: "openssl", Arch: "amd64",
			OldVersion: "3.0.14-1~deb12u2", NewVersion: "3.0.15-1~deb12u1"},
		{TimeUnix: ago0(2 * day), Kind: managev1.InventoryChange_KIND_REMOVED, Name: "telnet", Arch: "amd64", OldVersion: "0.17+2.4-2"},
		{TimeUnix: ago0(time.Hour), Kind: managev1.InventoryChange_KIND_HARDWARE, Name: "memory_total_bytes",
			OldVersion: "4294967296", NewVersion: "8589934592"},
	}}, nil
}

var (
	scanOK = func(d time.Duration, src string, ms uint32) *managev1.ScanResult {
		return &managev1.ScanResult{TimeUnixMs: agoMs(d), Status: agentv1.ScanStatus_SCAN_STATUS_OK, Source: src, DurationMs: ms,
			LastOkUnixMs: agoMs(d)}
	}
	count = func(label string, n uint32) *managev1.Count { return &managev1.Count{Label: label, Count: n} }

	patchStates = map[string]*managev1.PatchState{
		"ag-dc01": {
			Summary: &managev1.PatchSummary{AgentId: "ag-dc01", Tenant: "acme", Hostname: "dc01", Pending: 3,
				ByClassification:  []*managev1.Count{count("critical", 1), count("definition", 1), count("security", 1)},
				BySeverity:        []*managev1.Count{count("critical", 1), count("unspecified", 2)},
				OldestPendingUnix: ago0(12 * day), AwaitingReboot: 1, RebootPending: true,
				RebootPendingSinceUnix: ago0(3*day + time.Hour), LastScan: scanOK(2*time.Hour, "windowsupdate", 41800)},
			Pending: []*managev1.TrackedUpdate{
				{FirstSeenUnix: ago0(12 * day), Update: &agentv1.PendingUpdate{Id: "6a1e3c2b-0d4f-4f7a-9a0e-2b1c3d4e5f60.201", Kb: "KB5034441",
					Title: "2024-01 Security Update for Windows Server 2022 for x64-based Systems (KB5034441)", Classification: agentv1.Classification_CLASSIFICATION_SECURITY,
					Severity: agentv1.Severity_SEVERITY_CRITICAL, SizeBytes: 436207616, RebootBehavior: agentv1.RebootBehavior_REBOOT_BEHAVIOR_CAN_REQUEST,
					ReleaseUnix: ago0(20 * day), Advisories: []string{"CVE-2024-20666"}}},
				{FirstSeenUnix: ago0(5 * day), Update: &agentv1.PendingUpdate{Id: "0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b.1", Kb: "KB890830",
					Title: "Windows Malicious Software Removal Tool x64 - v5.120", Classification: agentv1.Classification_CLASSIFICATION_CRITICAL,
					SizeBytes: 78643200, RebootBehavior: agentv1.RebootBehavior_REBOOT_BEHAVIOR_NEVER, ReleaseUnix: ago0(6 * day)}},
				{FirstSeenUnix: ago0(6 * time.Hour), Update: &agentv1.PendingUpdate{Id: "9b8c7d6e-5f40-4312-a1b2-c3d4e5f60718.200", Kb: "KB2267602",
					Title:          "Security Intelligence Update for Microsoft Defender Antivirus - KB2267602 (Version 1.403.1234.0)",
					Classification: agentv1.Classification_CLASSIFICATION_DEFINITION, RebootBehavior: agentv1.RebootBehavior_REBOOT_BEHAVIOR_NEVER}},
			},
			InstalledAwaitingReboot: []*managev1.TrackedUpdate{
				{FirstSeenUnix: ago0(3*day + time.Hour), Update: &agentv1.PendingUpdate{Id: "1a2b3c4d-5e6f-4708-9a0b-1c2d3e4f5a6b.1", Kb: "KB5034439",
					Title: "2024-01 Servicing Stack Update for Windows Server 2022", Classification: agentv1.Classification_CLASSIFICATION_SECURITY,
					Severity: agentv1.Severity_SEVERITY_IMPORTANT, SizeBytes: 15728640, RebootBehavior: agentv1.RebootBehavior_REBOOT_BEHAVIOR_ALWAYS,
					ReleaseUnix: ago0(20 * day)}},
			},
		},
		"ag-fs01": {
			Summary: &managev1.PatchSummary{AgentId: "ag-fs01", Tenant: "acme", Hostname: "fs01", Pending: 1,
				ByClassification: []*managev1.Count{count("update", 1)}, BySeverity: []*managev1.Count{count("unspecified", 1)},
				OldestPendingUnix: ago0(40 * time.Hour),
				LastScan: &managev1.ScanResult{TimeUnixMs: agoMs(5 * time.Minute), Status: agentv1.ScanStatus_SCAN_STATUS_FAILED,
					Source: "windowsupdate", ErrorCode: "WU_E_PT_WINHTTP_NAME_NOT_RESOLVED", ErrorMessage: "the proxy server or target server name cannot be resolved",
					DurationMs: 1200, LastOkUnixMs: agoMs(3 * day), ConsecutiveFailures: 4}},
			Pending: []*managev1.TrackedUpdate{
				{FirstSeenUnix: ago0(40 * time.Hour), Update: &agentv1.PendingUpdate{Id: "5c4b3a29-1807-4f6e-8d5c-4b3a29180706.1", Kb: "KB5034123",
					Title: "2024-01 Cumulative Update for .NET Framework 3.5 and 4.8.1", Classification: agentv1.Classification_CLASSIFICATION_UPDATE,
					SizeBytes: 73400320, RebootBehavior: agentv1.RebootBehavior_REBOOT_BEHAVIOR_CAN_REQUEST, ReleaseUnix: ago0(3 * day)}},
			},
		},
		"ag-db01": {Summary: &managev1.PatchSummary{AgentId: "ag-db01", Tenant: "globex", Hostname: "db01", LastScan: &managev1.ScanResult{}}},
		"ag-web01": {
			Summary: &managev1.PatchSummary{AgentId: "ag-web01", Tenant: "acme", Hostname: "web01", Pending: 1,
				ByClassification: []*managev1.Count{count("security", 1)}, BySeverity: []*managev1.Count{count("unspecified", 1)},
				OldestPendingUnix: ago0(9 * day), RebootPending: true, LastScan: scanOK(40*time.Minute, "apt", 2100)},
			Pending: []*managev1.TrackedUpdate{
				{FirstSeenUnix: ago0(9 * day), Update: &agentv1.PendingUpdate{Id: "libc6", Package: "libc6", Title: "libc6 2.36-9+deb12u7 -> 2.36-9+deb12u9",
					Classification: agentv1.Classification_CLASSIFICATION_SECURITY, SizeBytes: 2801664, CurrentVersion: "2.36-9+deb12u7",
					AvailableVersion: "2.36-9+deb12u9", Origin: "Debian-Security"}},
			},
		},
	}

	compliance = []*managev1.TenantCompliance{
		{Tenant: "acme", Agents: 3, Compliant: 1, Findings: []*managev1.ComplianceFinding{
			{AgentId: "ag-dc01", Hostname: "dc01", Reason: "reboot_overdue", SinceUnix: ago0(3*day + time.Hour), Detail: "reboot pending (wu_reboot_required, cbs_reboot_pending)"},
			{AgentId: "ag-fs01", Hostname: "fs01", Reason: "scan_failing", SinceUnix: ago0(3 * day), Detail: "4 failed scans: WU_E_PT_WINHTTP_NAME_NOT_RESOLVED"},
			{AgentId: "ag-fs01", Hostname: "fs01", Reason: "scan_stale", SinceUnix: ago0(3 * day), Detail: "last successful scan 3d ago"},
		}},
		{Tenant: "clean", Agents: 2, Compliant: 2},
		{Tenant: "globex", Agents: 1, Compliant: 0, Findings: []*managev1.ComplianceFinding{
			{AgentId: "ag-db01", Hostname: "db01", Reason: "never_scanned", Detail: "no patch scan has arrived"},
		}},
	}

	rebootDC01 = &managev1.RebootStateView{AgentId: "ag-dc01", ReportedUnixMs: agoMs(10 * time.Minute), BootTimeUnix: ago0(30 * day),
		State: &agentv1.RebootState{Pending: true, PendingSinceUnix: ago0(3*day + time.Hour), Signals: []*agentv1.RebootSignal{
			{Name: "wu_reboot_required", Present: true, Counts: true, FirstSeenUnix: ago0(3*day + time.Hour)},
			{Name: "cbs_reboot_pending", Present: true, Counts: true, FirstSeenUnix: ago0(3 * day)},
			{Name: "pending_file_rename", Present: true, Weak: true, Detail: `\??\C:\Windows\Temp\setup.tmp`, FirstSeenUnix: ago0(20 * day)},
			{Name: "update_exe_volatile", Weak: true},
		}}}

	inventoryWeb01 = &managev1.InventoryView{AgentId: "ag-web01", ReportedUnixMs: agoMs(2 * day), CheckedUnixMs: agoMs(40 * time.Minute),
		Inventory: &agentv1.Inventory{SoftwareSource: "dpkg", Errors: []string{"dmidecode: memory modules: permission denied"},
			Hardware: &agentv1.Hardware{Manufacturer: "QEMU", Model: "Standard PC (Q35 + ICH9, 2009)", BiosVendor: "SeaBIOS",
				BiosVersion: "1.16.2-debian-1.16.2-1", BiosReleaseUnix: time.Date(2014, 4, 1, 0, 0, 0, 0, time.UTC).Unix(),
				Processors:       []*agentv1.Processor{{Model: "AMD EPYC 7543P 32-Core Processor", Cores: 4, Threads: 4, MaxMhz: 2800}},
				MemoryTotalBytes: 8589934592,
				Disks:            []*agentv1.Disk{{Name: "vda", Model: "QEMU HARDDISK", SizeBytes: 53687091200, Interface: "virtio"}},
				OsName:           "Debian GNU/Linux 12 (bookworm)", OsVersion: "12", OsInstallUnix: ago0(400 * day), Virtual: true},
			Software: []*agentv1.Software{
				{Name: "bash", Version: "5.2.15-2+b7", Arch: "amd64", InstallUnix: ago0(400 * day)},
				{Name: "nginx", Version: "1.22.1-9", Arch: "amd64", InstallUnix: ago0(12 * day)},
				{Name: "openssl", Version: "3.0.15-1~deb12u1", Arch: "amd64", InstallUnix: ago0(2 * day)},
				{Name: "tzdata", Version: "2024a-0+deb12u1", Arch: "all"},
			}}}
)

// fake is a running fakeAPI and a vigilctl config file pointing at it.
type fake struct {
	api         *fakeAPI
	cfg         string
	addr, caPEM string
}

// startFake serves fakeAPI over TLS on loopback, writes a config file,
// and fixes the clock at t0 for the test.
func startFake(t *testing.T) *fake {
	t.Helper()
	caPEM, cert := testCerts(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	api := newFakeAPI(t)
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})),
		grpc.UnaryInterceptor(checkToken))
	managev1.RegisterManageServiceServer(srv, api)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-done
	})
	cfg := filepath.Join(t.TempDir(), "admin.json")
	if err := (&clientconfig.Config{Controller: lis.Addr().String(), CAPEM: string(caPEM), Token: fakeToken}).Save(cfg); err != nil {
		t.Fatal(err)
	}
	old, oldID, oldNonce, oldPoll, oldLoc := now, newTaskID, newNonce, pollEvery, displayLoc
	now = func() time.Time { return t0 }
	ids := 0
	newTaskID = func() string { ids++; return fmt.Sprintf("tk-00000000000000c%d", ids) }
	newNonce = func() []byte { return bytes.Repeat([]byte{7}, 16) }
	pollEvery, displayLoc = time.Millisecond, time.UTC
	t.Cleanup(func() { now, newTaskID, newNonce, pollEvery, displayLoc = old, oldID, oldNonce, oldPoll, oldLoc })
	return &fake{api: api, cfg: cfg, addr: lis.Addr().String(), caPEM: string(caPEM)}
}

// fakePrincipals are the callers the fake knows, by API token.
var fakePrincipals = map[string]*managev1.Principal{
	fakeToken:          {Id: "pr-admin", Name: "admin", Role: managev1.Role_ROLE_ADMIN},
	"vgl_api_tom":      {Id: "pr-tom", Name: "tom", Role: managev1.Role_ROLE_TECHNICIAN},
	"vgl_api_carol":    {Id: "pr-carol", Name: "carol", Role: managev1.Role_ROLE_CLIENT_APPROVER, Tenant: "acme"},
	"vgl_api_dave":     {Id: "pr-dave", Name: "dave", Role: managev1.Role_ROLE_CLIENT_APPROVER, Tenant: "globex"},
	"vgl_api_vic":      {Id: "pr-vic", Name: "vic", Role: managev1.Role_ROLE_CLIENT_VIEWER, Tenant: "acme"},
	"vgl_api_newtech1": {Id: "pr-newtech", Name: "newtech", Role: managev1.Role_ROLE_TECHNICIAN},
}

type callerKey struct{}

// caller is the principal whose token the request carried.
func caller(ctx context.Context) *managev1.Principal {
	p, _ := ctx.Value(callerKey{}).(*managev1.Principal)
	return p
}

func checkToken(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	v := md.Get("authorization")
	if len(v) != 1 || fakePrincipals[strings.TrimPrefix(v[0], "Bearer ")] == nil {
		return nil, status.Error(codes.Unauthenticated, "missing or invalid API token")
	}
	return h(context.WithValue(ctx, callerKey{}, fakePrincipals[strings.TrimPrefix(v[0], "Bearer ")]), req)
}

// ctl runs vigilctl against the fake and checks the exit code.
func (f *fake) ctl(t *testing.T, wantCode int, args ...string) (stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"--config", f.cfg}, args...), &out, &errb)
	if code != wantCode {
		t.Fatalf("vigilctl %v: exit %d, want %d\nstdout: %s\nstderr: %s", args, code, wantCode, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

// helpCase is a command line and a text its output must contain.
type helpCase struct {
	args []string
	want string
}

// checkHelp runs each case and checks its output.
func (f *fake) checkHelp(t *testing.T, cases []helpCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			out, _ := f.ctl(t, 0, c.args...)
			if !strings.Contains(out, c.want) {
				t.Errorf("output %q does not contain %q", out, c.want)
			}
		})
	}
}

// testCerts makes a CA and a server certificate for 127.0.0.1 it signed.
func testCerts(t *testing.T) ([]byte, tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vigil test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "controller"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
