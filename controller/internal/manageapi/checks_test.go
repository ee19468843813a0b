package manageapi_test

import (
	"context"
	"crypto/tls"
	"math"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"

	"github.com/vigil-rmm/vigil/controller/controllertest"
	"github.com/vigil-rmm/vigil/controller/internal/server"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	"github.com/vigil-rmm/vigil/internal/netcheck/netchecktest"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// netCheckClient returns a CheckService client of c authenticated with
// token.
func netCheckClient(t *testing.T, c *controllertest.Controller, token string) managev1.CheckServiceClient {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+c.APIAddr,
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: c.CAPool(), MinVersion: tls.VersionTLS12})),
		grpc.WithPerRPCCredentials(controllertest.Bearer(token)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return managev1.NewCheckServiceClient(conn)
}

// netCheckRig is a controller with two tenants, their principals, an
// agent and a contact in each, and a local TCP listener to check.
type netCheckRig struct {
	c                        *controllertest.Controller
	admin, tech              managev1.CheckServiceClient
	approver, viewer         managev1.CheckServiceClient // of acme
	approverBeta             managev1.CheckServiceClient
	agentA, agentB, revokedA *controllertest.Agent
	host                     string
	port                     int
}

func newNetCheckRig(t *testing.T, opts ...controllertest.Option) *netCheckRig {
	t.Helper()
	c := controllertest.Start(t, opts...)
	c.Tenant(t, "acme")
	c.Tenant(t, "beta")
	r := &netCheckRig{c: c, agentA: c.EnrollAgent(t, "acme", "web1"), agentB: c.EnrollAgent(t, "beta", "db1"),
		revokedA: c.EnrollAgent(t, "acme", "old1")}
	r.admin = netCheckClient(t, c, c.AdminToken)
	r.tech = netCheckClient(t, c, c.Principal(t, "alice", managev1.Role_ROLE_TECHNICIAN, ""))
	r.approver = netCheckClient(t, c, c.Principal(t, "carol", managev1.Role_ROLE_CLIENT_APPROVER, "acme"))
	r.viewer = netCheckClient(t, c, c.Principal(t, "vic", managev1.Role_ROLE_CLIENT_VIEWER, "acme"))
	r.approverBeta = netCheckClient(t, c, c.Principal(t, "dave", managev1.Role_ROLE_CLIENT_APPROVER, "beta"))
	if _, err := c.Admin(t).RevokeAgent(context.Background(), &managev1.RevokeAgentRequest{Id: r.revokedA.ID}); err != nil {
		t.Fatal(err)
	}
	err := c.Server().Store().Update(context.Background(), func(tx store.Tx) error {
		for _, ct := range []*storev1.Contact{{Id: "ct-acme", Tenant: "acme", Name: "ops"}, {Id: "ct-beta", Tenant: "beta", Name: "ops"}} {
			if err := schema.PutContact(tx, ct); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r.host, r.port = "127.0.0.1", netchecktest.Listen(t).Port
	return r
}

func (r *netCheckRig) tcpInput() *managev1.NetCheckInput {
	return &managev1.NetCheckInput{Type: agentv1.CheckType_CHECK_TYPE_TCP, Target: r.host, Port: strconv.Itoa(r.port)}
}

func TestNetCheckCreateAndValidation(t *testing.T) {
	r := newNetCheckRig(t)
	ctx := context.Background()
	nc, err := r.tech.CreateNetCheck(ctx, &managev1.CreateNetCheckRequest{Tenant: "acme", Check: r.tcpInput()})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(nc.GetId(), "ck-") || nc.GetTenant() != "acme" || nc.GetIntervalSeconds() != 300 ||
		nc.GetSpec().GetTimeoutMs() != 10000 || nc.GetName() != "tcp "+net.JoinHostPort(r.host, strconv.Itoa(r.port)) ||
		nc.GetState() != "unknown" || len(nc.GetVantageStates()) != 1 || nc.GetVantageStates()[0].GetVantage() != "controller" ||
		nc.GetCreatedBy() != "alice" || nc.GetRetentionDays() != 10 {
		t.Fatalf("created %v", nc)
	}

	withIn := func(f func(in *managev1.NetCheckInput)) *managev1.NetCheckInput {
		in := r.tcpInput()
		f(in)
		return in
	}
	http := func(target string) *managev1.NetCheckInput {
		return &managev1.NetCheckInput{Type: agentv1.CheckType_CHECK_TYPE_HTTP, Target: target}
	}
	good := []struct {
		name string
		in   *managev1.NetCheckInput
		want func(*managev1.NetCheck) bool
	}{
		{"preset port https", withIn(func(in *managev1.NetCheckInput) { in.Port = "https" }),
			func(c *managev1.NetCheck) bool { return c.GetSpec().GetPort() == 443 }},
		{"bare host for http", http("example.com"),
			func(c *managev1.NetCheck) bool { return c.GetSpec().GetTarget() == "https://example.com/" }},
		{"http URL with a port", http("http://[2001:db8::1]:8080/health?x=1"),
			func(c *managev1.NetCheck) bool {
				return c.GetSpec().GetTarget() == "http://[2001:db8::1]:8080/health?x=1"
			}},
		{"agent vantage and contact", withIn(func(in *managev1.NetCheckInput) {
			in.Vantages, in.Contacts = []string{"controller", "agent:" + r.agentA.ID}, []string{"ct-acme"}
		}), func(c *managev1.NetCheck) bool {
			return len(c.GetVantageStates()) == 2 && c.GetContacts()[0] == "ct-acme"
		}},
		{"dns", &managev1.NetCheckInput{Type: agentv1.CheckType_CHECK_TYPE_DNS, Target: "_dmarc.example.com", DnsRecordType: "txt", DnsServer: "[::1]:5353"},
			func(c *managev1.NetCheck) bool { return c.GetSpec().GetDnsRecordType() == "TXT" }},
	}
	for _, tc := range good {
		nc, err := r.admin.CreateNetCheck(ctx, &managev1.CreateNetCheckRequest{Tenant: "acme", Check: tc.in})
		if err != nil || !tc.want(nc) {
			t.Errorf("%s: %v %v", tc.name, nc, err)
		}
	}

	bad := []struct {
		name, field string
		tenant      string
		in          *managev1.NetCheckInput
	}{
		{"no target", "target", "acme", withIn(func(in *managev1.NetCheckInput) { in.Target = "" })},
		{"target with a port", "target", "acme", withIn(func(in *managev1.NetCheckInput) { in.Target = "db01:5432" })},
		{"target not a name", "target", "acme", withIn(func(in *managev1.NetCheckInput) { in.Target = "db 01; rm" })},
		{"tcp without a port", "port", "acme", withIn(func(in *managev1.NetCheckInput) { in.Port = "" })},
		{"port out of range", "port", "acme", withIn(func(in *managev1.NetCheckInput) { in.Port = "70000" })},
		{"unknown preset", "port", "acme", withIn(func(in *managev1.NetCheckInput) { in.Port = "gopher" })},
		{"port on http", "port", "acme", &managev1.NetCheckInput{Type: agentv1.CheckType_CHECK_TYPE_HTTP, Target: "example.com", Port: "80"}},
		{"no type", "type", "acme", withIn(func(in *managev1.NetCheckInput) { in.Type = 0 })},
		{"interval too short", "interval", "acme", withIn(func(in *managev1.NetCheckInput) { in.IntervalSeconds = 30 })},
		{"interval too long", "interval", "acme", withIn(func(in *managev1.NetCheckInput) { in.IntervalSeconds = 2 * 86400 })},
		// Seconds that wrap around int64 nanoseconds: 18446744674 s would
		// become an interval of about ten minutes.
		{"interval wraps to ten minutes", "interval", "acme", withIn(func(in *managev1.NetCheckInput) { in.IntervalSeconds = 18446744674 })},
		{"interval MaxInt64", "interval", "acme", withIn(func(in *managev1.NetCheckInput) { in.IntervalSeconds = math.MaxInt64 })},
		{"interval negative", "interval", "acme", withIn(func(in *managev1.NetCheckInput) { in.IntervalSeconds = math.MinInt64 })},
		{"timeout too long", "timeout", "acme", withIn(func(in *managev1.NetCheckInput) { in.TimeoutMs = 61000 })},
		{"timeout not below interval", "timeout", "acme", withIn(func(in *managev1.NetCheckInput) { in.IntervalSeconds, in.TimeoutMs = 60, 60000 })},
		{"eleven vantages", "vantages", "acme", withIn(func(in *managev1.NetCheckInput) {
			for i := range 11 {
				in.Vantages = append(in.Vantages, "agent:ag-"+strconv.Itoa(i))
			}
		})},
		{"another tenant's agent", "vantages", "acme", withIn(func(in *managev1.NetCheckInput) { in.Vantages = []string{"agent:" + r.agentB.ID} })},
		{"revoked agent", "vantages", "acme", withIn(func(in *managev1.NetCheckInput) { in.Vantages = []string{"agent:" + r.revokedA.ID} })},
		{"bad vantage", "vantages", "acme", withIn(func(in *managev1.NetCheckInput) { in.Vantages = []string{"the moon"} })},
		{"another tenant's contact", "contacts", "acme", withIn(func(in *managev1.NetCheckInput) { in.Contacts = []string{"ct-beta"} })},
		{"URL with a password", "target", "acme", http("https://bob:secret@example.com/")},
		{"ftp URL", "target", "acme", http("ftp://example.com/")},
		{"URL too long", "target", "acme", http("https://example.com/" + strings.Repeat("a", 2048))},
		{"dns of an address", "target", "acme", &managev1.NetCheckInput{Type: agentv1.CheckType_CHECK_TYPE_DNS, Target: "192.0.2.1"}},
		{"bad record type", "dns_record_type", "acme", &managev1.NetCheckInput{Type: agentv1.CheckType_CHECK_TYPE_DNS, Target: "example.com", DnsRecordType: "PTR"}},
		{"keyword on tcp", "http_keyword", "acme", withIn(func(in *managev1.NetCheckInput) { in.HttpKeyword = "ok" })},
		{"cert days on http://", "http_min_cert_days", "acme", &managev1.NetCheckInput{Type: agentv1.CheckType_CHECK_TYPE_HTTP, Target: "http://example.com/", HttpMinCertDays: 14}},
		{"status code 42", "http_status", "acme", &managev1.NetCheckInput{Type: agentv1.CheckType_CHECK_TYPE_HTTP, Target: "example.com", HttpStatus: []uint32{42}}},
		{"retention 91 days", "retention_days", "acme", withIn(func(in *managev1.NetCheckInput) { in.RetentionDays = 91 })},
	}
	for _, tc := range bad {
		_, err := r.admin.CreateNetCheck(ctx, &managev1.CreateNetCheckRequest{Tenant: tc.tenant, Check: tc.in})
		if code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tc.field+":") {
			t.Errorf("%s: %v, want InvalidArgument naming %s", tc.name, err, tc.field)
		}
	}
	if _, err := r.admin.CreateNetCheck(ctx, &managev1.CreateNetCheckRequest{Tenant: "nope", Check: r.tcpInput()}); code(err) != codes.NotFound {
		t.Errorf("unknown tenant: %v", err)
	}
	list, err := r.admin.ListNetChecks(ctx, &managev1.ListNetChecksRequest{Tenant: "acme"})
	if err != nil || len(list.GetChecks()) != 1+len(good) || list.GetWorkers() != 16 {
		t.Fatalf("list after the rejected creates: %d checks, %v", len(list.GetChecks()), err)
	}
}

func TestNetCheckLimitPerTenant(t *testing.T) {
	r := newNetCheckRig(t, func(c *server.Config) { c.Checks.MaxChecks = 2 })
	ctx := context.Background()
	for range 2 {
		if _, err := r.admin.CreateNetCheck(ctx, &managev1.CreateNetCheckRequest{Tenant: "acme", Check: r.tcpInput()}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := r.admin.CreateNetCheck(ctx, &managev1.CreateNetCheckRequest{Tenant: "acme", Check: r.tcpInput()})
	if code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("third check: %v", err)
	}
	if _, err := r.admin.CreateNetCheck(ctx, &managev1.CreateNetCheckRequest{Tenant: "beta", Check: r.tcpInput()}); err != nil {
		t.Fatalf("another tenant's first check: %v", err)
	}
}

// TestNetCheckAuthz: who may do what, and a tenant-scoped caller sees
// another tenant's check as not found.
func TestNetCheckAuthz(t *testing.T) {
	r := newNetCheckRig(t)
	ctx := context.Background()
	acme, err := r.tech.CreateNetCheck(ctx, &managev1.CreateNetCheckRequest{Tenant: "acme", Check: r.tcpInput()})
	if err != nil {
		t.Fatal(err)
	}
	beta, err := r.admin.CreateNetCheck(ctx, &managev1.CreateNetCheckRequest{Tenant: "beta", Check: r.tcpInput()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.approver.CreateNetCheck(ctx, &managev1.CreateNetCheckRequest{Tenant: "acme", Check: r.tcpInput()}); code(err) != codes.PermissionDenied {
		t.Errorf("approver creates: %v", err)
	}
	if _, err := r.approver.UpdateNetCheck(ctx, &managev1.UpdateNetCheckRequest{Id: acme.GetId(), Check: r.tcpInput()}); code(err) != codes.PermissionDenied {
		t.Errorf("approver updates: %v", err)
	}
	if _, err := r.viewer.PauseNetCheck(ctx, &managev1.PauseNetCheckRequest{Id: acme.GetId()}); code(err) != codes.PermissionDenied {
		t.Errorf("viewer pauses: %v", err)
	}
	p, err := r.approver.PauseNetCheck(ctx, &managev1.PauseNetCheckRequest{Id: acme.GetId()})
	if err != nil || !p.GetPaused() || p.GetState() != "paused" {
		t.Fatalf("approver pauses its own: %v %v", p, err)
	}
	if got, err := r.viewer.GetNetCheck(ctx, &managev1.GetNetCheckRequest{Id: acme.GetId()}); err != nil || got.GetCheck().GetId() != acme.GetId() {
		t.Errorf("viewer reads its own: %v", err)
	}
	otherTenant := []struct {
		name string
		call func() error
	}{
		{"get", func() error {
			_, err := r.approverBeta.GetNetCheck(ctx, &managev1.GetNetCheckRequest{Id: acme.GetId()})
			return err
		}},
		{"pause", func() error {
			_, err := r.approverBeta.PauseNetCheck(ctx, &managev1.PauseNetCheckRequest{Id: acme.GetId()})
			return err
		}},
		{"resume", func() error {
			_, err := r.approverBeta.ResumeNetCheck(ctx, &managev1.ResumeNetCheckRequest{Id: acme.GetId()})
			return err
		}},
		{"history", func() error {
			_, err := r.approverBeta.ListNetCheckHistory(ctx, &managev1.ListNetCheckHistoryRequest{Id: acme.GetId()})
			return err
		}},
		{"update", func() error {
			_, err := r.approverBeta.UpdateNetCheck(ctx, &managev1.UpdateNetCheckRequest{Id: acme.GetId(), Check: r.tcpInput()})
			return err
		}},
		{"list", func() error {
			_, err := r.approverBeta.ListNetChecks(ctx, &managev1.ListNetChecksRequest{Tenant: "acme"})
			return err
		}},
		{"unknown check", func() error {
			_, err := r.viewer.GetNetCheck(ctx, &managev1.GetNetCheckRequest{Id: "ck-nope"})
			return err
		}},
	}
	for _, tc := range otherTenant {
		if err := tc.call(); code(err) != codes.NotFound {
			t.Errorf("%s across tenants: %v, want NotFound", tc.name, err)
		}
	}
	list, err := r.viewer.ListNetChecks(ctx, &managev1.ListNetChecksRequest{})
	if err != nil || len(list.GetChecks()) != 1 || list.GetChecks()[0].GetId() != acme.GetId() {
		t.Errorf("viewer's list: %v %v", list, err)
	}
	all, err := r.tech.ListNetChecks(ctx, &managev1.ListNetChecksRequest{State: "paused"})
	if err != nil || len(all.GetChecks()) != 1 || all.GetChecks()[0].GetId() != acme.GetId() {
		t.Errorf("technician's paused list: %v %v", all, err)
	}
	if _, err := r.tech.ListNetChecks(ctx, &managev1.ListNetChecksRequest{State: "sideways"}); code(err) != codes.InvalidArgument {
		t.Errorf("bad state filter: %v", err)
	}
	if _, err := r.tech.DeleteNetCheck(ctx, &managev1.DeleteNetCheckRequest{Id: beta.GetId()}); err != nil {
		t.Errorf("technician deletes: %v", err)
	}
	if _, err := r.admin.GetNetCheck(ctx, &managev1.GetNetCheckRequest{Id: beta.GetId()}); code(err) != codes.NotFound {
		t.Errorf("deleted check: %v", err)
	}
}

// TestNetCheckResumeRunsAtOnce: resume of a paused check unpauses it and
// runs it at once against the real listener; history then has the
// result and a day of 100% uptime.
func TestNetCheckResumeRunsAtOnce(t *testing.T) {
	r := newNetCheckRig(t)
	ctx := context.Background()
	nc, err := r.tech.CreateNetCheck(ctx, &managev1.CreateNetCheckRequest{Tenant: "acme", Check: r.tcpInput()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.approver.PauseNetCheck(ctx, &managev1.PauseNetCheckRequest{Id: nc.GetId()}); err != nil {
		t.Fatal(err)
	}
	got, err := r.approver.ResumeNetCheck(ctx, &managev1.ResumeNetCheckRequest{Id: nc.GetId()})
	if err != nil || got.GetPaused() {
		t.Fatalf("resume: %v %v", got, err)
	}
	var h *managev1.ListNetCheckHistoryResponse
	deadline := time.Now().Add(10 * time.Second)
	for {
		h, err = r.viewer.ListNetCheckHistory(ctx, &managev1.ListNetCheckHistoryRequest{Id: nc.GetId()})
		if err != nil {
			t.Fatal(err)
		}
		if len(h.GetResults()) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(h.GetResults()) != 1 || h.GetResults()[0].GetStatus() != agentv1.CheckStatus_CHECK_STATUS_OK ||
		len(h.GetDays()) != 1 || h.GetDays()[0].GetUptimePercent() != 100 || !h.GetDays()[0].GetHasUptime() || h.GetTruncated() {
		t.Fatalf("history after resume: %v", h)
	}
	if h.GetSinceUnix() < time.Now().Add(-10*24*time.Hour-time.Minute).Unix() {
		t.Errorf("history since %v is beyond the retention", time.Unix(h.GetSinceUnix(), 0))
	}
	d, err := r.viewer.GetNetCheck(ctx, &managev1.GetNetCheckRequest{Id: nc.GetId()})
	if err != nil || len(d.GetRecent()) != 1 || d.GetCheck().GetLastRunUnixMs() == 0 || d.GetCheck().GetVantageStates()[0].GetLastStatus() != agentv1.CheckStatus_CHECK_STATUS_OK {
		t.Fatalf("show after one run: %v %v", d, err)
	}
	if _, err := r.viewer.ListNetCheckHistory(ctx, &managev1.ListNetCheckHistoryRequest{Id: nc.GetId(), Vantage: "the moon"}); code(err) != codes.InvalidArgument {
		t.Errorf("bad vantage filter: %v", err)
	}
}

// TestNetCheckDeleteLeavesResultsToTheChecker: deleting a check answers
// once its definition and state are gone; the controller's checker then
// deletes its results in the background.
func TestNetCheckDeleteLeavesResultsToTheChecker(t *testing.T) {
	r := newNetCheckRig(t)
	ctx := context.Background()
	nc, err := r.tech.CreateNetCheck(ctx, &managev1.CreateNetCheckRequest{Tenant: "acme", Check: r.tcpInput()})
	if err != nil {
		t.Fatal(err)
	}
	const stored = 5000
	err = r.c.Server().Store().Update(ctx, func(tx store.Tx) error {
		rs := make([]*storev1.CheckResultRecord, stored)
		for i := range rs {
			rs[i] = &storev1.CheckResultRecord{Check: nc.GetId(), Vantage: "controller", Status: agentv1.CheckStatus_CHECK_STATUS_OK,
				StartUnixMs: time.Now().Add(-time.Duration(i) * time.Minute).UnixMilli()}
		}
		_, err := schema.AppendCheckResults(tx, nc.GetId(), rs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.tech.DeleteNetCheck(ctx, &managev1.DeleteNetCheckRequest{Id: nc.GetId()}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.admin.GetNetCheck(ctx, &managev1.GetNetCheckRequest{Id: nc.GetId()}); code(err) != codes.NotFound {
		t.Fatalf("deleted check: %v", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		var left int
		err := r.c.Server().Store().View(ctx, func(tx store.Tx) error {
			rs, err := schema.ListCheckResults(tx, nc.GetId(), 0)
			left = len(rs)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d results of the deleted check left after 15s", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNetCheckRecentAndHistory: a check's detail carries its latest
// results, oldest first; its history filters by vantage, keeps the latest
// results up to the limit and says when it cut, and counts every result
// it read in its days.
func TestNetCheckRecentAndHistory(t *testing.T) {
	r := newNetCheckRig(t)
	ctx := context.Background()
	const id = "ck-hist" // stored directly: the checker never runs it
	now := time.Now()
	var latest int64
	err := r.c.Server().Store().Update(ctx, func(tx store.Tx) error {
		if err := schema.PutCheck(tx, &storev1.Check{Id: id, Tenant: "acme", Name: "db", IntervalSeconds: 60,
			Spec: &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_TCP, Target: r.host, Port: uint32(r.port), TimeoutMs: 2000}}); err != nil {
			return err
		}
		var rs []*storev1.CheckResultRecord
		for i := 30; i >= 1; i-- {
			at := now.Add(-time.Duration(i) * time.Minute).UnixMilli()
			rs = append(rs, &storev1.CheckResultRecord{Check: id, Vantage: "controller", Status: agentv1.CheckStatus_CHECK_STATUS_OK, StartUnixMs: at})
			if i <= 5 {
				rs = append(rs, &storev1.CheckResultRecord{Check: id, Vantage: "agent:" + r.agentA.ID, Status: agentv1.CheckStatus_CHECK_STATUS_NG, StartUnixMs: at})
			}
			latest = at
		}
		_, err := schema.AppendCheckResults(tx, id, rs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	d, err := r.viewer.GetNetCheck(ctx, &managev1.GetNetCheckRequest{Id: id})
	if err != nil {
		t.Fatal(err)
	}
	if rec := d.GetRecent(); len(rec) != 20 || rec[len(rec)-1].GetStartUnixMs() != latest || rec[0].GetStartUnixMs() > rec[len(rec)-1].GetStartUnixMs() {
		t.Fatalf("recent: %d results %v; want the latest 20, oldest first", len(rec), rec)
	}

	agent := "agent:" + r.agentA.ID
	h, err := r.viewer.ListNetCheckHistory(ctx, &managev1.ListNetCheckHistoryRequest{Id: id, Vantage: agent})
	if err != nil {
		t.Fatal(err)
	}
	ng := uint32(0)
	for _, day := range h.GetDays() {
		ng += day.GetNg()
		if day.GetVantage() != agent || day.GetOk() != 0 || day.GetHasUptime() && day.GetUptimePercent() != 0 {
			t.Errorf("day %v; want only %s's NG results", day, agent)
		}
	}
	if len(h.GetResults()) != 5 || h.GetTruncated() || ng != 5 {
		t.Fatalf("history of %s: %d results (truncated %t), %d NG in days; want 5, whole", agent, len(h.GetResults()), h.GetTruncated(), ng)
	}
	for _, res := range h.GetResults() {
		if res.GetVantage() != agent {
			t.Fatalf("history of %s holds %v", agent, res)
		}
	}

	h, err = r.viewer.ListNetCheckHistory(ctx, &managev1.ListNetCheckHistoryRequest{Id: id, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	total := uint32(0)
	for _, day := range h.GetDays() {
		total += day.GetOk() + day.GetNg() + day.GetWr() + day.GetErr()
	}
	if rs := h.GetResults(); len(rs) != 10 || !h.GetTruncated() || rs[len(rs)-1].GetStartUnixMs() != latest || total != 35 {
		t.Fatalf("history with limit 10: %d results (truncated %t), %d counted in days; want the latest 10, cut, 35 counted", len(rs), h.GetTruncated(), total)
	}
}
