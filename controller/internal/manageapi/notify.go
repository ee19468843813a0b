package manageapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/controller/internal/apierr"
	"github.com/vigil-rmm/vigil/controller/internal/auth"
	"github.com/vigil-rmm/vigil/controller/internal/notify"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Limits of the notify calls.
const (
	// MaxContactsPerTenant bounds a tenant's contacts.
	MaxContactsPerTenant = 200
	// MaxNotificationList is the default and largest ListNotifications limit.
	MaxNotificationList = 1000
	maxContactName      = 128
	maxCreditNote       = 256
	// maxCreditDelta bounds one top-up or correction.
	maxCreditDelta = 1_000_000
	// webhookSecretPrefix starts every webhook signing secret.
	webhookSecretPrefix = "vgl_whsec_"
	// MaxContactTests is how many test notifications a tenant may queue
	// in ContactTestWindow: a test sends real mail, SMS and HTTP requests
	// from the MSP's relay and provider, so a client approver must not be
	// able to turn it into an unmetered relay.
	MaxContactTests   = 10
	ContactTestWindow = 10 * time.Minute
	// MaxPendingTestDeliveries is how many deliveries of a tenant's test
	// notifications may be waiting (queued or sending) at once: a test to
	// a failing receiver is retried for hours.
	MaxPendingTestDeliveries = 5
)

// notifyRules authorizes the notify service's methods. Clients manage who
// they want told: a client approver may create, change, delete and test
// its tenant's contacts. Adding SMS credits is the MSP admin's (it is
// what the client pays for).
var notifyRules = map[string]Rule{
	managev1.NotifyService_CreateContact_FullMethodName: {Roles: approver,
		Target: byTenantField(func(r any) string { return r.(*managev1.CreateContactRequest).GetTenant() })},
	managev1.NotifyService_ListContacts_FullMethodName: {Roles: anyone,
		Target: byTenantField(func(r any) string { return r.(*managev1.ListContactsRequest).GetTenant() })},
	managev1.NotifyService_GetContact_FullMethodName: {Roles: anyone,
		Target: contactTenant(func(r any) string { return r.(*managev1.GetContactRequest).GetId() })},
	managev1.NotifyService_UpdateContact_FullMethodName: {Roles: approver,
		Target: contactTenant(func(r any) string { return r.(*managev1.UpdateContactRequest).GetId() })},
	managev1.NotifyService_DeleteContact_FullMethodName: {Roles: approver,
		Target: contactTenant(func(r any) string { return r.(*managev1.DeleteContactRequest).GetId() })},
	managev1.NotifyService_TestContact_FullMethodName: {Roles: approver,
		Target: contactTenant(func(r any) string { return r.(*managev1.TestContactRequest).GetId() })},
	managev1.NotifyService_GetSmsCredits_FullMethodName: {Roles: anyone,
		Target: byTenantField(func(r any) string { return r.(*managev1.GetSmsCreditsRequest).GetTenant() })},
	managev1.NotifyService_AddSmsCredits_FullMethodName: {Roles: admin,
		Target: byTenantField(func(r any) string { return r.(*managev1.AddSmsCreditsRequest).GetTenant() })},
	managev1.NotifyService_ListNotifications_FullMethodName: {Roles: anyone,
		Target: byTenantField(func(r any) string { return r.(*managev1.ListNotificationsRequest).GetTenant() })},
	managev1.NotifyService_GetNotification_FullMethodName: {Roles: anyone,
		Target: notificationTenant(func(r any) string { return r.(*managev1.GetNotificationRequest).GetId() })},
}

// contactTenant targets the tenant of the contact the request names.
func contactTenant(get func(req any) string) func(context.Context, store.Tx, any) (string, bool, error) {
	return byObject(schema.GetContact, get)
}

// notificationTenant targets the tenant of the notification the request
// names.
func notificationTenant(get func(req any) string) func(context.Context, store.Tx, any) (string, bool, error) {
	return byObject(schema.GetNotification, get)
}

// NotifyDeps is what the notify service's handlers need beyond the store.
type NotifyDeps struct {
	// Wake tells the dispatcher a notification was queued (nil: it finds
	// it at its next pass).
	Wake func()
}

func (s *Server) notifyWake() {
	if s.cfg.Notify.Wake != nil {
		s.cfg.Notify.Wake()
	}
}

var (
	contactKinds = map[managev1.NotifyContactKind]storev1.ContactKind{
		managev1.NotifyContactKind_NOTIFY_CONTACT_KIND_EMAIL:   storev1.ContactKind_CONTACT_KIND_EMAIL,
		managev1.NotifyContactKind_NOTIFY_CONTACT_KIND_SMS:     storev1.ContactKind_CONTACT_KIND_SMS,
		managev1.NotifyContactKind_NOTIFY_CONTACT_KIND_WEBHOOK: storev1.ContactKind_CONTACT_KIND_WEBHOOK,
	}
	webhookFormats = map[managev1.NotifyWebhookFormat]storev1.WebhookFormat{
		managev1.NotifyWebhookFormat_NOTIFY_WEBHOOK_FORMAT_JSON:  storev1.WebhookFormat_WEBHOOK_FORMAT_JSON,
		managev1.NotifyWebhookFormat_NOTIFY_WEBHOOK_FORMAT_SLACK: storev1.WebhookFormat_WEBHOOK_FORMAT_SLACK,
		managev1.NotifyWebhookFormat_NOTIFY_WEBHOOK_FORMAT_TEAMS: storev1.WebhookFormat_WEBHOOK_FORMAT_TEAMS,
	}
)

func notifyReverse[K, V comparable](m map[K]V, v V) K {
	for k, x := range m {
		if x == v {
			return k
		}
	}
	var zero K
	return zero
}

// notifySeesURLs reports whether p sees tenant's webhook URLs whole. A
// webhook URL is a credential (Slack and Teams put the secret in its
// path): admins, technicians and the tenant's client approvers, who may
// create webhooks anyway, see it; client viewers see it redacted.
func notifySeesURLs(p *storev1.Principal, tenant string) bool {
	switch auth.Role(p.GetRole()) {
	case auth.RoleAdmin, auth.RoleTechnician:
		return true
	case auth.RoleClientApprover:
		return p.GetTenant() == tenant
	}
	return false
}

// notifyAddress is addr as p may see it (see notifySeesURLs).
func notifyAddress(p *storev1.Principal, tenant string, kind storev1.ContactKind, addr string) string {
	if kind != storev1.ContactKind_CONTACT_KIND_WEBHOOK || notifySeesURLs(p, tenant) {
		return addr
	}
	return notify.RedactURL(addr)
}

// contactProto converts c for p: never its secret, and its URL redacted
// unless p may see it.
func contactProto(p *storev1.Principal, c *storev1.Contact) *managev1.NotifyContact {
	return &managev1.NotifyContact{Id: c.GetId(), Tenant: c.GetTenant(), Name: c.GetName(), Kind: notifyReverse(contactKinds, c.GetKind()),
		Address: notifyAddress(p, c.GetTenant(), c.GetKind(), c.GetAddress()), Format: notifyReverse(webhookFormats, c.GetFormat()),
		DefaultContact: c.GetDefaultContact(), FallbackEmail: c.GetFallbackEmail(), CreatedUnix: c.GetCreatedUnix(), CreatedBy: c.GetCreatedBy(),
		UpdatedUnix: c.GetUpdatedUnix()}
}

func checkContactName(name string) error {
	if len(name) > maxContactName {
		return apierr.Invalid("name", "%d bytes, limit %d", len(name), maxContactName)
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return apierr.Invalid("name", "%q has control characters", name)
	}
	return nil
}

func checkFallback(kind storev1.ContactKind, fb string) error {
	if fb == "" {
		return nil
	}
	if kind != storev1.ContactKind_CONTACT_KIND_SMS {
		return apierr.Invalid("fallback_email", "only an SMS contact has one (it is where its messages go when SMS credits run out)")
	}
	if err := notify.CheckEmail(fb); err != nil {
		return apierr.Invalid("fallback_email", "%v", err)
	}
	return nil
}

// newWebhookSecret is a random signing secret.
func newWebhookSecret() (string, error) {
	secret, _, err := auth.NewSecret(webhookSecretPrefix)
	return secret, err
}

// CreateContact implements managev1.NotifyServiceServer.
func (s *Server) CreateContact(ctx context.Context, req *managev1.CreateContactRequest) (*managev1.CreateContactResponse, error) {
	caller := auth.PrincipalFrom(ctx)
	kind, ok := contactKinds[req.GetKind()]
	if !ok {
		return nil, apierr.Invalid("kind", "want email, sms or webhook")
	}
	if err := notify.CheckAddress(kind, req.GetAddress()); err != nil {
		return nil, apierr.Invalid("address", "%v", err)
	}
	format := storev1.WebhookFormat_WEBHOOK_FORMAT_UNSPECIFIED
	if kind == storev1.ContactKind_CONTACT_KIND_WEBHOOK {
		format = storev1.WebhookFormat_WEBHOOK_FORMAT_JSON
		if req.GetFormat() != managev1.NotifyWebhookFormat_NOTIFY_WEBHOOK_FORMAT_UNSPECIFIED {
			if format, ok = webhookFormats[req.GetFormat()]; !ok {
				return nil, apierr.Invalid("format", "want json, slack or teams")
			}
		}
	} else if req.GetFormat() != managev1.NotifyWebhookFormat_NOTIFY_WEBHOOK_FORMAT_UNSPECIFIED {
		return nil, apierr.Invalid("format", "only a webhook has a format")
	}
	name := strings.TrimSpace(req.GetName())
	if err := checkContactName(name); err != nil {
		return nil, err
	}
	if err := checkFallback(kind, req.GetFallbackEmail()); err != nil {
		return nil, err
	}
	id := req.GetId()
	if id != "" && auth.Role(caller.GetRole()).TenantScoped() {
		// Contact ids are unique across tenants: answering "taken" would
		// tell a client that another tenant has a contact by that name.
		return nil, apierr.Invalid("id", "only the MSP's staff choose contact ids; leave it out and one is generated")
	}
	if id == "" {
		var err error
		if id, err = auth.NewID("ct"); err != nil {
			return nil, err
		}
	} else if !slugRE.MatchString(id) {
		return nil, apierr.Invalid("id", "%q: use 1-63 lower-case letters, digits and dashes, starting and ending with a letter or digit", id)
	}
	c := &storev1.Contact{Id: id, Tenant: req.GetTenant(), Name: name, Kind: kind, Address: req.GetAddress(), Format: format,
		DefaultContact: req.GetDefaultContact(), FallbackEmail: req.GetFallbackEmail(), CreatedUnix: s.cfg.Now().Unix(),
		CreatedBy: caller.GetName()}
	var secret string
	if kind == storev1.ContactKind_CONTACT_KIND_WEBHOOK {
		var err error
		if secret, err = newWebhookSecret(); err != nil {
			return nil, err
		}
		c.WebhookSecret = secret
	}
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := schema.GetTenant(tx, c.Tenant); errors.Is(err, store.ErrNotFound) {
			return apierr.NotFound("tenant", c.Tenant)
		} else if err != nil {
			return err
		}
		if _, err := schema.GetContact(tx, c.Id); err == nil {
			return fmt.Errorf("%w: contact %q (contact ids are unique across tenants; pick another --id)", apierr.ErrExists, c.Id)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		ids, err := schema.ContactIDs(tx, c.Tenant)
		if err != nil {
			return err
		}
		if len(ids) >= MaxContactsPerTenant {
			return apierr.Invalid("tenant", "%s has %d contacts, the limit; delete one first", c.Tenant, len(ids))
		}
		return schema.PutContact(tx, c)
	})
	if err != nil {
		return nil, err
	}
	s.cfg.Logger.InfoContext(ctx, "contact created", "contact", c.Id, "tenant", c.Tenant, "kind", contactKindWord(c.Kind),
		"default", c.DefaultContact, "by", caller.GetName())
	return &managev1.CreateContactResponse{Contact: contactProto(caller, c), WebhookSecret: secret}, nil
}

func contactKindWord(k storev1.ContactKind) string {
	return strings.ToLower(strings.TrimPrefix(k.String(), "CONTACT_KIND_"))
}

// ListContacts implements managev1.NotifyServiceServer.
func (s *Server) ListContacts(ctx context.Context, req *managev1.ListContactsRequest) (*managev1.ListContactsResponse, error) {
	p := auth.PrincipalFrom(ctx)
	tenant := req.GetTenant()
	if tenant == "" && auth.Role(p.GetRole()).TenantScoped() {
		tenant = p.GetTenant()
	}
	var cs []*storev1.Contact
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		if err := checkTenant(tx, tenant); err != nil {
			return err
		}
		var err error
		cs, err = schema.ListContacts(tx, tenant)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &managev1.ListContactsResponse{}
	for _, c := range cs {
		if auth.CanSeeTenant(p, c.GetTenant()) {
			out.Contacts = append(out.Contacts, contactProto(p, c))
		}
	}
	sort.SliceStable(out.Contacts, func(i, j int) bool {
		a, b := out.Contacts[i], out.Contacts[j]
		if a.Tenant != b.Tenant {
			return a.Tenant < b.Tenant
		}
		return a.Id < b.Id
	})
	return out, nil
}

func (s *Server) loadContact(ctx context.Context, id string) (*storev1.Contact, error) {
	var c *storev1.Contact
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		c, err = schema.GetContact(tx, id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, apierr.NotFound("contact", id)
	}
	return c, err
}

// GetContact implements managev1.NotifyServiceServer.
func (s *Server) GetContact(ctx context.Context, req *managev1.GetContactRequest) (*managev1.NotifyContact, error) {
	c, err := s.loadContact(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	return contactProto(auth.PrincipalFrom(ctx), c), nil
}

// UpdateContact implements managev1.NotifyServiceServer.
func (s *Server) UpdateContact(ctx context.Context, req *managev1.UpdateContactRequest) (*managev1.UpdateContactResponse, error) {
	caller := auth.PrincipalFrom(ctx)
	if req.Name != nil {
		if err := checkContactName(strings.TrimSpace(req.GetName())); err != nil {
			return nil, err
		}
	}
	var (
		c      *storev1.Contact
		secret string
	)
	if req.GetRotateSecret() {
		var err error
		if secret, err = newWebhookSecret(); err != nil {
			return nil, err
		}
	}
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		if c, err = schema.GetContact(tx, req.GetId()); errors.Is(err, store.ErrNotFound) {
			return apierr.NotFound("contact", req.GetId())
		} else if err != nil {
			return err
		}
		webhook := c.GetKind() == storev1.ContactKind_CONTACT_KIND_WEBHOOK
		if req.Name != nil {
			c.Name = strings.TrimSpace(req.GetName())
		}
		if req.DefaultContact != nil {
			c.DefaultContact = req.GetDefaultContact()
		}
		if req.GetFormat() != managev1.NotifyWebhookFormat_NOTIFY_WEBHOOK_FORMAT_UNSPECIFIED {
			f, ok := webhookFormats[req.GetFormat()]
			if !webhook || !ok {
				return apierr.Invalid("format", "want json, slack or teams, for a webhook contact only")
			}
			c.Format = f
		}
		if req.FallbackEmail != nil {
			if err := checkFallback(c.GetKind(), req.GetFallbackEmail()); err != nil {
				return err
			}
			c.FallbackEmail = req.GetFallbackEmail()
		}
		if secret != "" {
			if !webhook {
				return apierr.Invalid("rotate_secret", "only a webhook contact has a secret")
			}
			c.WebhookSecret = secret
		}
		c.UpdatedUnix = s.cfg.Now().Unix()
		return schema.PutContact(tx, c)
	})
	if err != nil {
		return nil, err
	}
	s.cfg.Logger.InfoContext(ctx, "contact updated", "contact", c.Id, "tenant", c.Tenant, "secret_rotated", secret != "",
		"by", caller.GetName())
	return &managev1.UpdateContactResponse{Contact: contactProto(caller, c), WebhookSecret: secret}, nil
}

// DeleteContact implements managev1.NotifyServiceServer. Deliveries
// already queued keep the address they copied; rules and checks naming
// the contact get a "no such contact" delivery from then on.
func (s *Server) DeleteContact(ctx context.Context, req *managev1.DeleteContactRequest) (*managev1.DeleteContactResponse, error) {
	var c *storev1.Contact
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		if c, err = schema.GetContact(tx, req.GetId()); errors.Is(err, store.ErrNotFound) {
			return apierr.NotFound("contact", req.GetId())
		} else if err != nil {
			return err
		}
		return schema.DeleteContact(tx, c)
	})
	if err != nil {
		return nil, err
	}
	s.cfg.Logger.InfoContext(ctx, "contact deleted", "contact", c.Id, "tenant", c.Tenant, "by", auth.PrincipalFrom(ctx).GetName())
	return &managev1.DeleteContactResponse{}, nil
}

// TestContact implements managev1.NotifyServiceServer.
func (s *Server) TestContact(ctx context.Context, req *managev1.TestContactRequest) (*managev1.TestContactResponse, error) {
	caller := auth.PrincipalFrom(ctx)
	suffix, err := auth.NewID("test")
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	var n *storev1.Notification
	err = s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		c, err := schema.GetContact(tx, req.GetId())
		if errors.Is(err, store.ErrNotFound) {
			return apierr.NotFound("contact", req.GetId())
		} else if err != nil {
			return err
		}
		if err := notifyTestAllowed(tx, c.GetTenant(), now); err != nil {
			return err
		}
		n = &storev1.Notification{Id: suffix + "-" + c.GetId(), Tenant: c.GetTenant(), Source: storev1.NotificationSource_NOTIFICATION_SOURCE_SYSTEM,
			Kind: "test", Subject: "test notification to " + cmp.Or(c.GetName(), c.GetId()),
			Summary:  fmt.Sprintf("This is a test of contact %s, asked by %s. If you read it, vigil can reach you.", c.GetId(), caller.GetName()),
			Contacts: []string{c.GetId()}, CreatedUnixMs: now.UnixMilli()}
		if ok, err := notify.Enqueue(tx, n); err != nil || !ok {
			return err
		}
		return schema.MarkTestNotification(tx, n)
	})
	if err != nil {
		return nil, err
	}
	s.notifyWake()
	s.cfg.Logger.InfoContext(ctx, "contact test queued", "contact", req.GetId(), "notification", n.GetId(), "by", caller.GetName())
	return &managev1.TestContactResponse{NotificationId: n.GetId()}, nil
}

// notifyTestAllowed refuses a test notification for tenant beyond
// MaxContactTests in ContactTestWindow, or while MaxPendingTestDeliveries
// of its tests are still waiting. It reads the tenant's test marks and
// deletes those no limit needs any more (finished and out of the window,
// or pruned), so they stay few.
func notifyTestAllowed(tx store.Tx, tenant string, now time.Time) error {
	windowStart := now.Add(-ContactTestWindow).UnixMilli()
	recent, pending := 0, 0
	oldest := int64(0)
	type mark struct {
		id string
		ms int64
	}
	var drop []mark
	err := schema.TestNotifications(tx, tenant, func(id string, ms int64) error {
		n, err := schema.GetNotification(tx, id)
		if errors.Is(err, store.ErrNotFound) {
			drop = append(drop, mark{id, ms})
			return nil
		}
		if err != nil {
			return err
		}
		_, final := schema.NotificationFinal(n)
		if ms >= windowStart {
			if recent == 0 {
				oldest = ms
			}
			recent++
		} else if final {
			drop = append(drop, mark{id, ms})
		}
		for _, d := range n.GetDeliveries() {
			if st := d.GetState(); st == storev1.DeliveryState_DELIVERY_STATE_QUEUED || st == storev1.DeliveryState_DELIVERY_STATE_SENDING {
				pending++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, m := range drop {
		if err := schema.UnmarkTestNotification(tx, tenant, m.ms, m.id); err != nil {
			return err
		}
	}
	if recent >= MaxContactTests {
		wait := time.UnixMilli(oldest).Add(ContactTestWindow).Sub(now).Round(time.Second)
		return status.Errorf(codes.ResourceExhausted, "tenant %s queued %d test notifications in the last %s, the limit; try again in %s",
			tenant, recent, ContactTestWindow, max(wait, time.Second))
	}
	if pending >= MaxPendingTestDeliveries {
		return status.Errorf(codes.ResourceExhausted,
			"tenant %s has %d test deliveries still waiting (at most %d); let them finish or fail first (vigilctl notifications list --tenant %s --state queued)",
			tenant, pending, MaxPendingTestDeliveries, tenant)
	}
	return nil
}

func smsCreditsProto(c *storev1.SmsCredits) *managev1.NotifySmsCredits {
	out := &managev1.NotifySmsCredits{Tenant: c.GetTenant(), Balance: c.GetBalance(), Used: c.GetUsed(), LowThreshold: notify.Threshold(c),
		LowWarnedUnix: c.GetLowWarnedUnix()}
	for _, ch := range c.GetChanges() {
		out.Changes = append(out.Changes, &managev1.NotifyCreditChange{TimeUnix: ch.GetTimeUnix(), Delta: ch.GetDelta(), By: ch.GetBy(),
			Note: ch.GetNote(), Balance: ch.GetBalance()})
	}
	return out
}

// notifyRequireTenant refuses an empty tenant and returns NotFound for
// one that does not exist.
func notifyRequireTenant(tx store.Tx, tenant string) error {
	if tenant == "" {
		return apierr.Invalid("tenant", "required")
	}
	return checkTenant(tx, tenant)
}

// GetSmsCredits implements managev1.NotifyServiceServer.
func (s *Server) GetSmsCredits(ctx context.Context, req *managev1.GetSmsCreditsRequest) (*managev1.NotifySmsCredits, error) {
	var c *storev1.SmsCredits
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		if err := notifyRequireTenant(tx, req.GetTenant()); err != nil {
			return err
		}
		var err error
		c, err = schema.GetSmsCredits(tx, req.GetTenant())
		return err
	})
	if err != nil {
		return nil, err
	}
	return smsCreditsProto(c), nil
}

// AddSmsCredits implements managev1.NotifyServiceServer.
func (s *Server) AddSmsCredits(ctx context.Context, req *managev1.AddSmsCreditsRequest) (*managev1.NotifySmsCredits, error) {
	caller := auth.PrincipalFrom(ctx)
	switch {
	case req.GetDelta() == 0 && req.GetLowThreshold() == 0:
		return nil, apierr.Invalid("delta", "0: give the number of credits to add (negative to correct), or a new threshold")
	case req.GetDelta() > maxCreditDelta || req.GetDelta() < -maxCreditDelta:
		return nil, apierr.Invalid("delta", "%d: at most %d either way", req.GetDelta(), maxCreditDelta)
	case req.GetLowThreshold() < 0 || req.GetLowThreshold() > maxCreditDelta:
		return nil, apierr.Invalid("low_threshold", "%d: want 1 to %d (0: unchanged)", req.GetLowThreshold(), maxCreditDelta)
	case len(req.GetNote()) > maxCreditNote:
		return nil, apierr.Invalid("note", "%d bytes, limit %d", len(req.GetNote()), maxCreditNote)
	case strings.ContainsFunc(req.GetNote(), func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return nil, apierr.Invalid("note", "one line, without control characters")
	}
	var c *storev1.SmsCredits
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		if err := notifyRequireTenant(tx, req.GetTenant()); err != nil {
			return err
		}
		var err error
		c, err = notify.AddCredits(tx, req.GetTenant(), req.GetDelta(), req.GetLowThreshold(), caller.GetName(), req.GetNote(), s.cfg.Now())
		return err
	})
	if err != nil {
		return nil, err
	}
	// A top-up may let redirected work go by SMS again only for notices
	// queued from now on; nothing already queued needs a wake.
	s.cfg.Logger.InfoContext(ctx, "sms credits changed", "tenant", c.GetTenant(), "delta", req.GetDelta(), "balance", c.GetBalance(),
		"by", caller.GetName())
	return smsCreditsProto(c), nil
}

var notifyDeliveryStates = map[storev1.DeliveryState]managev1.NotifyDeliveryState{
	storev1.DeliveryState_DELIVERY_STATE_QUEUED:     managev1.NotifyDeliveryState_NOTIFY_DELIVERY_STATE_QUEUED,
	storev1.DeliveryState_DELIVERY_STATE_SENDING:    managev1.NotifyDeliveryState_NOTIFY_DELIVERY_STATE_SENDING,
	storev1.DeliveryState_DELIVERY_STATE_SENT:       managev1.NotifyDeliveryState_NOTIFY_DELIVERY_STATE_SENT,
	storev1.DeliveryState_DELIVERY_STATE_FAILED:     managev1.NotifyDeliveryState_NOTIFY_DELIVERY_STATE_FAILED,
	storev1.DeliveryState_DELIVERY_STATE_REDIRECTED: managev1.NotifyDeliveryState_NOTIFY_DELIVERY_STATE_REDIRECTED,
	storev1.DeliveryState_DELIVERY_STATE_UNKNOWN:    managev1.NotifyDeliveryState_NOTIFY_DELIVERY_STATE_UNKNOWN,
}

// notificationProto converts n for p; the webhook secrets deliveries
// copied are never part of it, and webhook URLs are redacted unless p may
// see them (in attempt errors too: a record written by an earlier version
// may name the URL).
func notificationProto(p *storev1.Principal, n *storev1.Notification, attempts bool) *managev1.NotifyNotification {
	out := &managev1.NotifyNotification{Id: n.GetId(), Tenant: n.GetTenant(), Source: notify.SourceName(n.GetSource()), Kind: n.GetKind(),
		AlertId: n.GetAlertId(), Rule: n.GetRule(), Check: n.GetCheck(), Agent: n.GetAgent(), Host: n.GetHost(), Subject: n.GetSubject(),
		Summary: n.GetSummary(), CreatedUnixMs: n.GetCreatedUnixMs()}
	for _, d := range n.GetDeliveries() {
		addr := notifyAddress(p, n.GetTenant(), d.GetKind(), d.GetAddress())
		pd := &managev1.NotifyDelivery{Contact: d.GetContact(), Kind: notifyReverse(contactKinds, d.GetKind()), Address: addr,
			State: notifyDeliveryStates[d.GetState()], NextAttemptUnixMs: d.GetNextAttemptUnixMs(), AttemptCount: int32(len(d.GetAttempts())),
			RedirectOf: d.GetRedirectOf()}
		if d.GetState() != storev1.DeliveryState_DELIVERY_STATE_QUEUED {
			pd.NextAttemptUnixMs = 0
		}
		if attempts {
			for _, a := range d.GetAttempts() {
				msg := a.GetError()
				if addr != d.GetAddress() && d.GetAddress() != "" {
					msg = strings.ReplaceAll(msg, d.GetAddress(), addr)
				}
				pd.Attempts = append(pd.Attempts, &managev1.NotifyAttempt{StartUnixMs: a.GetStartUnixMs(), EndUnixMs: a.GetEndUnixMs(),
					Ok: a.GetOk(), Error: msg, Permanent: a.GetPermanent()})
			}
		}
		out.Deliveries = append(out.Deliveries, pd)
	}
	return out
}

// ListNotifications implements managev1.NotifyServiceServer.
func (s *Server) ListNotifications(ctx context.Context, req *managev1.ListNotificationsRequest) (*managev1.ListNotificationsResponse, error) {
	p := auth.PrincipalFrom(ctx)
	if managev1.NotifyDeliveryState_name[int32(req.GetState())] == "" {
		return nil, apierr.Invalid("state", "%d is not a delivery state", req.GetState())
	}
	limit := int(req.GetLimit())
	if limit <= 0 || limit > MaxNotificationList {
		limit = MaxNotificationList
	}
	since := req.GetSinceUnix()
	if since <= 0 {
		since = s.cfg.Now().Add(-24 * time.Hour).Unix()
	}
	tenant := req.GetTenant()
	if tenant == "" && auth.Role(p.GetRole()).TenantScoped() {
		tenant = p.GetTenant()
	}
	out := &managev1.ListNotificationsResponse{}
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		if err := checkTenant(tx, tenant); err != nil {
			return err
		}
		type notifyEntry struct {
			id string
			ms int64
		}
		var es []notifyEntry
		if err := schema.NotificationIDs(tx, tenant, since*1000, func(id string, ms int64) error {
			es = append(es, notifyEntry{id, ms})
			return nil
		}); err != nil {
			return err
		}
		slices.SortStableFunc(es, func(a, b notifyEntry) int {
			return cmp.Or(cmp.Compare(b.ms, a.ms), strings.Compare(a.id, b.id))
		})
		for _, e := range es {
			n, err := schema.GetNotification(tx, e.id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if !auth.CanSeeTenant(p, n.GetTenant()) || !notificationHasState(n, req.GetState()) {
				continue
			}
			if len(out.Notifications) == limit {
				out.Truncated = true
				return nil
			}
			out.Notifications = append(out.Notifications, notificationProto(p, n, false))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func notificationHasState(n *storev1.Notification, st managev1.NotifyDeliveryState) bool {
	if st == managev1.NotifyDeliveryState_NOTIFY_DELIVERY_STATE_UNSPECIFIED {
		return true
	}
	for _, d := range n.GetDeliveries() {
		if notifyDeliveryStates[d.GetState()] == st {
			return true
		}
	}
	return false
}

// GetNotification implements managev1.NotifyServiceServer.
func (s *Server) GetNotification(ctx context.Context, req *managev1.GetNotificationRequest) (*managev1.NotifyNotification, error) {
	var n *storev1.Notification
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		n, err = schema.GetNotification(tx, req.GetId())
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, apierr.NotFound("notification", req.GetId())
	}
	if err != nil {
		return nil, err
	}
	return notificationProto(auth.PrincipalFrom(ctx), n, true), nil
}
