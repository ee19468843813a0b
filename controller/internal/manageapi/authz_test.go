package manageapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/vigil-rmm/vigil/controller/controllertest"
	"github.com/vigil-rmm/vigil/controller/internal/alert"
	"github.com/vigil-rmm/vigil/controller/internal/manageapi"
	"github.com/vigil-rmm/vigil/internal/envelope"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// manageMethods lists every method of every service on the API listener.
func manageMethods() []protoreflect.MethodDescriptor {
	var out []protoreflect.MethodDescriptor
	for _, f := range []protoreflect.FileDescriptor{
		managev1.File_vigil_manage_v1_manage_proto,
		managev1.File_vigil_manage_v1_alerts_proto,
		managev1.File_vigil_manage_v1_checks_proto,
		managev1.File_vigil_manage_v1_notify_proto,
		managev1.File_vigil_manage_v1_report_proto,
	} {
		for i := 0; i < f.Services().Len(); i++ {
			sd := f.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				out = append(out, sd.Methods().Get(j))
			}
		}
	}
	return out
}

// methodNamed finds a method of any service on the API listener.
func methodNamed(t *testing.T, name string) protoreflect.MethodDescriptor {
	t.Helper()
	for _, md := range manageMethods() {
		if string(md.Name()) == name {
			return md
		}
	}
	t.Fatalf("no method %s", name)
	return nil
}

func fullName(md protoreflect.MethodDescriptor) string {
	return "/" + string(md.Parent().FullName()) + "/" + string(md.Name())
}

// invoke calls any ManageService method generically.
func invoke(ctx context.Context, conn *grpc.ClientConn, md protoreflect.MethodDescriptor, req proto.Message) (proto.Message, error) {
	resp := dynamicpb.NewMessage(md.Output())
	err := conn.Invoke(ctx, fullName(md), req, resp)
	return resp, err
}

func dialAs(t *testing.T, c *controllertest.Controller, token string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+c.APIAddr,
		grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(c.CAPool(), "")),
		grpc.WithPerRPCCredentials(controllertest.Bearer(token)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestRulesCoverEveryMethod(t *testing.T) {
	for _, md := range manageMethods() {
		if _, ok := manageapi.Rules[fullName(md)]; !ok && !manageapi.Unauthenticated[fullName(md)] {
			t.Errorf("%s has no authorization rule", fullName(md))
		}
	}
}

func TestUnauthenticatedRefused(t *testing.T) {
	c := controllertest.Start(t)
	for _, token := range []string{"", "vgl_api_wrong", strings.Repeat("x", 300)} {
		conn := dialAs(t, c, token)
		for _, md := range manageMethods() {
			_, err := invoke(context.Background(), conn, md, dynamicpb.NewMessage(md.Input()))
			if status.Code(err) != codes.Unauthenticated {
				t.Errorf("%s with token %.10q: got %v, want Unauthenticated", md.Name(), token, err)
			}
		}
	}
}

// TestTenantIsolation checks that a client-viewer of tenant A gets NotFound
// for tenant B's objects on every ManageService method. The method list
// comes from the service descriptor: a new RPC fails this test until it
// gets a request here that points at tenant B.
func TestTenantIsolation(t *testing.T) {
	c := controllertest.Start(t)
	c.Tenant(t, "tenant-a")
	c.Tenant(t, "tenant-b")
	agentB := c.EnrollAgent(t, "tenant-b", "b-server")
	c.EnrollAgent(t, "tenant-a", "a-server")
	viewerA := c.Principal(t, "viewer-a", managev1.Role_ROLE_CLIENT_VIEWER, "tenant-a")
	approverA := c.Principal(t, "approver-a", managev1.Role_ROLE_CLIENT_APPROVER, "tenant-a")
	c.Principal(t, "viewer-b", managev1.Role_ROLE_CLIENT_VIEWER, "tenant-b")

	// Signed tasks: a root, a technician's and a tenant-B approver's
	// certificates, and a proposed task on tenant B's agent.
	trust := controllertest.NewTrust(t)
	c.SetTrustRoot(t, trust)
	techTok := c.Principal(t, "tech", managev1.Role_ROLE_TECHNICIAN, "")
	c.Principal(t, "approver-b", managev1.Role_ROLE_CLIENT_APPROVER, "tenant-b")
	tech := trust.Certify(t, "tech", envelope.RoleTechnician, "", time.Now())
	approverB := trust.Certify(t, "approver-b", envelope.RoleClientApprover, "tenant-b", time.Now())
	c.Register(t, tech)
	c.Register(t, approverB)
	stB := tech.Sign(t, controllertest.NewTask(agentB.ID, "tenant-b", "reboot", time.Now(), true))
	taskB, err := c.Client(t, techTok).CreateTask(context.Background(), &managev1.CreateTaskRequest{SignedTask: controllertest.Marshal(t, stB)})
	if err != nil {
		t.Fatal(err)
	}
	otherB := tech.Sign(t, controllertest.NewTask(agentB.ID, "tenant-b", "script", time.Now(), false))

	// Alerting objects of tenant B: a contact, a queued notification and a
	// network check. Deletions get a fresh object per call, so the admin's
	// half of the check does not remove what later methods point at.
	ctx := context.Background()
	adminConn := dialAs(t, c, c.AdminToken)
	notifyAPI, checkAPI := managev1.NewNotifyServiceClient(adminConn), managev1.NewCheckServiceClient(adminConn)
	newContactB := func() string {
		r, err := notifyAPI.CreateContact(ctx, &managev1.CreateContactRequest{Tenant: "tenant-b",
			Kind: managev1.NotifyContactKind_NOTIFY_CONTACT_KIND_EMAIL, Address: "ops@b.example"})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetContact().GetId()
	}
	contactB := newContactB()
	testB, err := notifyAPI.TestContact(ctx, &managev1.TestContactRequest{Id: contactB})
	if err != nil {
		t.Fatal(err)
	}
	checkInput := func() *managev1.NetCheckInput {
		return &managev1.NetCheckInput{Type: agentv1.CheckType_CHECK_TYPE_TCP, Target: "127.0.0.1", Port: "9"}
	}
	newCheckB := func() string {
		r, err := checkAPI.CreateNetCheck(ctx, &managev1.CreateNetCheckRequest{Tenant: "tenant-b", Check: checkInput()})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetId()
	}
	checkB := newCheckB()
	alertB := (&alertFixture{c: c}).seedAlert(t, agentB)
	alertAPI := managev1.NewAlertServiceClient(adminConn)
	newRuleB := func() string {
		r, err := alertAPI.CreateAlertRule(ctx, &managev1.CreateAlertRuleRequest{Tenant: "tenant-b",
			Spec: &managev1.AlertRuleSpec{Kind: "verify_failed", Enabled: true}})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetId()
	}

	// Requests that name a tenant-B object.
	aimedAtB := map[string]func() proto.Message{
		"CreateTenant": func() proto.Message { return &managev1.CreateTenantRequest{Id: "tenant-b"} },
		"GetTenant":    func() proto.Message { return &managev1.GetTenantRequest{Id: "tenant-b"} },
		"CreateEnrollToken": func() proto.Message {
			return &managev1.CreateEnrollTokenRequest{Tenant: "tenant-b", TtlSeconds: 3600, Uses: 1}
		},
		"ListEnrollTokens": func() proto.Message { return &managev1.ListEnrollTokensRequest{Tenant: "tenant-b"} },
		"ListAgents":       func() proto.Message { return &managev1.ListAgentsRequest{Tenant: "tenant-b"} },
		"GetAgent":         func() proto.Message { return &managev1.GetAgentRequest{Id: agentB.ID} },
		"RevokeAgent":      func() proto.Message { return &managev1.RevokeAgentRequest{Id: agentB.ID} },
		"QueryMetrics":     func() proto.Message { return &managev1.QueryMetricsRequest{AgentId: agentB.ID, SinceUnixMs: 1} },
		"CreatePrincipal": func() proto.Message {
			return &managev1.CreatePrincipalRequest{Name: "intruder", Role: managev1.Role_ROLE_CLIENT_VIEWER, Tenant: "tenant-b"}
		},
		"ListPrincipals":     func() proto.Message { return &managev1.ListPrincipalsRequest{Tenant: "tenant-b"} },
		"RevokePrincipal":    func() proto.Message { return &managev1.RevokePrincipalRequest{Name: "viewer-b"} },
		"ListPatchSummaries": func() proto.Message { return &managev1.ListPatchSummariesRequest{Tenant: "tenant-b"} },
		"GetPatchState":      func() proto.Message { return &managev1.GetPatchStateRequest{AgentId: agentB.ID} },
		"ListPatchHistory":   func() proto.Message { return &managev1.ListPatchHistoryRequest{AgentId: agentB.ID} },
		"GetPatchCompliance": func() proto.Message { return &managev1.GetPatchComplianceRequest{Tenant: "tenant-b"} },
		"RescanAgent":        func() proto.Message { return &managev1.RescanAgentRequest{AgentId: agentB.ID} },
		"GetRebootState":     func() proto.Message { return &managev1.GetRebootStateRequest{AgentId: agentB.ID} },
		"GetInventory":       func() proto.Message { return &managev1.GetInventoryRequest{AgentId: agentB.ID} },
		"ListInventoryChanges": func() proto.Message {
			return &managev1.ListInventoryChangesRequest{AgentId: agentB.ID}
		},
		"RegisterCertificate": func() proto.Message {
			return &managev1.RegisterCertificateRequest{Certificate: approverB.CertBytes(t)}
		},
		"ListCertificates": func() proto.Message { return &managev1.ListCertificatesRequest{Principal: "approver-b"} },
		"CreateTask": func() proto.Message {
			return &managev1.CreateTaskRequest{SignedTask: controllertest.Marshal(t, otherB)}
		},
		"ApproveTask": func() proto.Message {
			return &managev1.ApproveTaskRequest{TaskId: taskB.GetId(), Signature: controllertest.Marshal(t, approverB.Approve(stB))}
		},
		"ListTasks":   func() proto.Message { return &managev1.ListTasksRequest{Tenant: "tenant-b"} },
		"GetTask":     func() proto.Message { return &managev1.GetTaskRequest{TaskId: taskB.GetId()} },
		"CancelTask":  func() proto.Message { return &managev1.CancelTaskRequest{TaskId: taskB.GetId()} },
		"ListPlugins": func() proto.Message { return &managev1.ListPluginsRequest{AgentId: agentB.ID} },
		"GetReport":   func() proto.Message { return &managev1.GetReportRequest{Tenant: "tenant-b"} },

		"CreateContact": func() proto.Message {
			return &managev1.CreateContactRequest{Tenant: "tenant-b", Kind: managev1.NotifyContactKind_NOTIFY_CONTACT_KIND_EMAIL, Address: "x@b.example"}
		},
		"GetContact":        func() proto.Message { return &managev1.GetContactRequest{Id: contactB} },
		"UpdateContact":     func() proto.Message { return &managev1.UpdateContactRequest{Id: contactB, Name: proto.String("x")} },
		"DeleteContact":     func() proto.Message { return &managev1.DeleteContactRequest{Id: newContactB()} },
		"TestContact":       func() proto.Message { return &managev1.TestContactRequest{Id: contactB} },
		"ListContacts":      func() proto.Message { return &managev1.ListContactsRequest{Tenant: "tenant-b"} },
		"GetSmsCredits":     func() proto.Message { return &managev1.GetSmsCreditsRequest{Tenant: "tenant-b"} },
		"AddSmsCredits":     func() proto.Message { return &managev1.AddSmsCreditsRequest{Tenant: "tenant-b", Delta: 1} },
		"ListNotifications": func() proto.Message { return &managev1.ListNotificationsRequest{Tenant: "tenant-b"} },
		"GetNotification":   func() proto.Message { return &managev1.GetNotificationRequest{Id: testB.GetNotificationId()} },

		"CreateNetCheck": func() proto.Message {
			return &managev1.CreateNetCheckRequest{Tenant: "tenant-b", Check: checkInput()}
		},
		"UpdateNetCheck":      func() proto.Message { return &managev1.UpdateNetCheckRequest{Id: checkB, Check: checkInput()} },
		"DeleteNetCheck":      func() proto.Message { return &managev1.DeleteNetCheckRequest{Id: newCheckB()} },
		"ListNetChecks":       func() proto.Message { return &managev1.ListNetChecksRequest{Tenant: "tenant-b"} },
		"GetNetCheck":         func() proto.Message { return &managev1.GetNetCheckRequest{Id: checkB} },
		"PauseNetCheck":       func() proto.Message { return &managev1.PauseNetCheckRequest{Id: checkB} },
		"ResumeNetCheck":      func() proto.Message { return &managev1.ResumeNetCheckRequest{Id: checkB} },
		"ListNetCheckHistory": func() proto.Message { return &managev1.ListNetCheckHistoryRequest{Id: checkB} },

		"ListAlertRules": func() proto.Message { return &managev1.ListAlertRulesRequest{Tenant: "tenant-b"} },
		"GetAlertRule":   func() proto.Message { return &managev1.GetAlertRuleRequest{Tenant: "tenant-b", Id: alert.DefaultCPU} },
		"CreateAlertRule": func() proto.Message {
			return &managev1.CreateAlertRuleRequest{Tenant: "tenant-b", Spec: &managev1.AlertRuleSpec{Kind: "verify_failed"}}
		},
		"UpdateAlertRule": func() proto.Message {
			return &managev1.UpdateAlertRuleRequest{Tenant: "tenant-b", Id: alert.DefaultCPU,
				Spec: &managev1.AlertRuleSpec{Threshold: 96}, UpdateFields: []string{"threshold"}}
		},
		"SetAlertRuleEnabled": func() proto.Message {
			return &managev1.SetAlertRuleEnabledRequest{Tenant: "tenant-b", Id: alert.DefaultCPU, Enabled: true}
		},
		"DeleteAlertRule": func() proto.Message { return &managev1.DeleteAlertRuleRequest{Tenant: "tenant-b", Id: newRuleB()} },
		"ListAlerts":      func() proto.Message { return &managev1.ListAlertsRequest{Tenant: "tenant-b"} },
		"GetAlert":        func() proto.Message { return &managev1.GetAlertRequest{Id: alertB} },
		"AckAlert":        func() proto.Message { return &managev1.AckAlertRequest{Id: alertB} },
		"ListMaintenance": func() proto.Message { return &managev1.ListMaintenanceRequest{Tenant: "tenant-b"} },
		"StartMaintenance": func() proto.Message {
			return &managev1.StartMaintenanceRequest{AgentId: agentB.ID, UntilUnix: time.Now().Add(time.Hour).Unix()}
		},
		"StopMaintenance": func() proto.Message { return &managev1.StopMaintenanceRequest{AgentId: agentB.ID} },
	}
	// Methods that name no object: allowed, but nothing of B may show.
	global := map[string]func() proto.Message{
		"WhoAmI":       func() proto.Message { return &managev1.WhoAmIRequest{} },
		"ListTenants":  func() proto.Message { return &managev1.ListTenantsRequest{} },
		"GetTrustRoot": func() proto.Message { return &managev1.GetTrustRootRequest{} },
		"SetTrustRoot": func() proto.Message { return &managev1.SetTrustRootRequest{Fingerprint: trust.Fingerprint} },
	}
	unscopedLists := map[string]func() proto.Message{
		"ListAgents":         func() proto.Message { return &managev1.ListAgentsRequest{} },
		"ListPrincipals":     func() proto.Message { return &managev1.ListPrincipalsRequest{} },
		"ListPatchSummaries": func() proto.Message { return &managev1.ListPatchSummariesRequest{} },
		"GetPatchCompliance": func() proto.Message { return &managev1.GetPatchComplianceRequest{} },
		"ListTasks":          func() proto.Message { return &managev1.ListTasksRequest{} },
		"ListCertificates":   func() proto.Message { return &managev1.ListCertificatesRequest{} },
		"ListContacts":       func() proto.Message { return &managev1.ListContactsRequest{} },
		"ListNotifications":  func() proto.Message { return &managev1.ListNotificationsRequest{} },
		"ListNetChecks":      func() proto.Message { return &managev1.ListNetChecksRequest{} },
		"ListAlertRules":     func() proto.Message { return &managev1.ListAlertRulesRequest{} },
		"ListAlerts":         func() proto.Message { return &managev1.ListAlertsRequest{} },
		"ListMaintenance":    func() proto.Message { return &managev1.ListMaintenanceRequest{} },
	}

	admin := dialAs(t, c, c.AdminToken)
	for _, token := range []string{viewerA, approverA} {
		conn := dialAs(t, c, token)
		for _, md := range manageMethods() {
			name := string(md.Name())
			if mk, ok := aimedAtB[name]; ok {
				_, err := invoke(ctx, conn, md, mk())
				if status.Code(err) != codes.NotFound {
					t.Errorf("%s on tenant B as a tenant-A client: got %v, want NotFound", name, err)
				}
				// The same request from the MSP side must reach the object,
				// or the NotFound above proves nothing.
				if _, err := invoke(ctx, admin, md, mk()); status.Code(err) == codes.NotFound {
					t.Errorf("%s: admin gets NotFound too; the request does not point at a tenant-B object", name)
				}
				continue
			}
			mk, ok := global[name]
			if !ok {
				t.Errorf("%s: no isolation case; add one to aimedAtB or global", name)
				continue
			}
			resp, err := invoke(ctx, conn, md, mk())
			if err != nil && status.Code(err) != codes.PermissionDenied {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if leaks(resp, agentB.ID) {
				t.Errorf("%s leaks tenant B: %s", name, protojson.Format(resp))
			}
		}
		for name, mk := range unscopedLists {
			md := methodNamed(t, name)
			resp, err := invoke(ctx, conn, md, mk())
			if err != nil && status.Code(err) != codes.PermissionDenied {
				t.Errorf("%s: %v", name, err)
			}
			if err == nil && leaks(resp, agentB.ID) {
				t.Errorf("%s leaks tenant B: %s", name, protojson.Format(resp))
			}
		}
	}
}

func leaks(m proto.Message, agentB string) bool {
	s := protojson.Format(m)
	return strings.Contains(s, "tenant-b") || strings.Contains(s, agentB) || strings.Contains(s, "viewer-b")
}

func TestRolePermissions(t *testing.T) {
	c := controllertest.Start(t)
	c.Tenant(t, "acme")
	ctx := context.Background()
	tech := c.Client(t, c.Principal(t, "tech", managev1.Role_ROLE_TECHNICIAN, ""))
	viewer := c.Client(t, c.Principal(t, "viewer", managev1.Role_ROLE_CLIENT_VIEWER, "acme"))
	cases := []struct {
		name string
		call func() error
		want codes.Code
	}{
		{"technician creates token", func() error {
			_, err := tech.CreateEnrollToken(ctx, &managev1.CreateEnrollTokenRequest{Tenant: "acme", TtlSeconds: 60, Uses: 1})
			return err
		}, codes.OK},
		{"technician cannot create tenants", func() error {
			_, err := tech.CreateTenant(ctx, &managev1.CreateTenantRequest{Id: "other"})
			return err
		}, codes.PermissionDenied},
		{"technician cannot create principals", func() error {
			_, err := tech.CreatePrincipal(ctx, &managev1.CreatePrincipalRequest{Name: "x", Role: managev1.Role_ROLE_ADMIN})
			return err
		}, codes.PermissionDenied},
		{"viewer cannot create tokens in own tenant", func() error {
			_, err := viewer.CreateEnrollToken(ctx, &managev1.CreateEnrollTokenRequest{Tenant: "acme", TtlSeconds: 60, Uses: 1})
			return err
		}, codes.PermissionDenied},
		{"viewer lists own tenant's agents", func() error {
			_, err := viewer.ListAgents(ctx, &managev1.ListAgentsRequest{Tenant: "acme"})
			return err
		}, codes.OK},
		{"bad tenant slug", func() error {
			_, err := c.Admin(t).CreateTenant(ctx, &managev1.CreateTenantRequest{Id: "Bad Name"})
			return err
		}, codes.InvalidArgument},
		{"bad time zone", func() error {
			_, err := c.Admin(t).CreateTenant(ctx, &managev1.CreateTenantRequest{Id: "tz", Timezone: "Mars/Olympus"})
			return err
		}, codes.InvalidArgument},
		{"duplicate tenant", func() error {
			_, err := c.Admin(t).CreateTenant(ctx, &managev1.CreateTenantRequest{Id: "acme"})
			return err
		}, codes.AlreadyExists},
		{"token ttl too long", func() error {
			_, err := c.Admin(t).CreateEnrollToken(ctx, &managev1.CreateEnrollTokenRequest{Tenant: "acme", TtlSeconds: 1e9, Uses: 1})
			return err
		}, codes.InvalidArgument},
		{"client role needs tenant", func() error {
			_, err := c.Admin(t).CreatePrincipal(ctx, &managev1.CreatePrincipalRequest{Name: "y", Role: managev1.Role_ROLE_CLIENT_VIEWER})
			return err
		}, codes.InvalidArgument},
		{"duplicate principal name", func() error {
			_, err := c.Admin(t).CreatePrincipal(ctx, &managev1.CreatePrincipalRequest{Name: "tech", Role: managev1.Role_ROLE_TECHNICIAN})
			return err
		}, codes.AlreadyExists},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := status.Code(tc.call()); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRevokePrincipal(t *testing.T) {
	c := controllertest.Start(t)
	c.Tenant(t, "acme")
	ctx := context.Background()
	tok := c.Principal(t, "leaky", managev1.Role_ROLE_TECHNICIAN, "")
	tech := c.Client(t, tok)
	if _, err := tech.WhoAmI(ctx, &managev1.WhoAmIRequest{}); err != nil {
		t.Fatal(err)
	}
	p, err := c.Admin(t).RevokePrincipal(ctx, &managev1.RevokePrincipalRequest{Name: "leaky"})
	if err != nil || p.GetRevokedUnix() == 0 {
		t.Fatalf("revoke: %v %v", p, err)
	}
	if _, err := tech.WhoAmI(ctx, &managev1.WhoAmIRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("revoked token still works: %v", err)
	}
	if _, err := c.Admin(t).RevokePrincipal(ctx, &managev1.RevokePrincipalRequest{Name: "admin"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("self-revocation: %v", err)
	}
	if _, err := c.Admin(t).RevokePrincipal(ctx, &managev1.RevokePrincipalRequest{Name: "nobody"}); status.Code(err) != codes.NotFound {
		t.Fatalf("unknown principal: %v", err)
	}
}
