package main

// The contact, sms and notifications commands (docs/notifications.md):
// who notifications go to, the tenant's SMS credits, and the log of every
// notification with its deliveries and attempts.

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-rmm/vigil/console/client"
	"github.com/vigil-rmm/vigil/internal/cli"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// Seams the tests replace.
var (
	// contactTestWait bounds contact test --wait.
	contactTestWait = 30 * time.Second
	// contactTestPoll is how often --wait asks.
	contactTestPoll = 250 * time.Millisecond
)

var (
	contactKindWords = map[managev1.NotifyContactKind]string{
		managev1.NotifyContactKind_NOTIFY_CONTACT_KIND_EMAIL: "email", managev1.NotifyContactKind_NOTIFY_CONTACT_KIND_SMS: "sms",
		managev1.NotifyContactKind_NOTIFY_CONTACT_KIND_WEBHOOK: "webhook",
	}
	webhookFormatWords = map[managev1.NotifyWebhookFormat]string{
		managev1.NotifyWebhookFormat_NOTIFY_WEBHOOK_FORMAT_JSON: "json", managev1.NotifyWebhookFormat_NOTIFY_WEBHOOK_FORMAT_SLACK: "slack",
		managev1.NotifyWebhookFormat_NOTIFY_WEBHOOK_FORMAT_TEAMS: "teams",
	}
	deliveryStateWords = map[managev1.NotifyDeliveryState]string{
		managev1.NotifyDeliveryState_NOTIFY_DELIVERY_STATE_QUEUED: "queued", managev1.NotifyDeliveryState_NOTIFY_DELIVERY_STATE_SENDING: "sending",
		managev1.NotifyDeliveryState_NOTIFY_DELIVERY_STATE_SENT: "sent", managev1.NotifyDeliveryState_NOTIFY_DELIVERY_STATE_FAILED: "failed",
		managev1.NotifyDeliveryState_NOTIFY_DELIVERY_STATE_REDIRECTED: "redirected", managev1.NotifyDeliveryState_NOTIFY_DELIVERY_STATE_UNKNOWN: "unknown",
	}
)

func notifyWordOf[K comparable](m map[K]string, w string) (K, bool) {
	for k, v := range m {
		if v == w {
			return k, true
		}
	}
	var zero K
	return zero, false
}

// contactView is a contact in -o json.
type contactView struct {
	ID            string     `json:"id"`
	Tenant        string     `json:"tenant"`
	Name          string     `json:"name"`
	Kind          string     `json:"kind"`
	Address       string     `json:"address"`
	Format        string     `json:"format,omitempty"`
	Default       bool       `json:"default"`
	FallbackEmail string     `json:"fallback_email,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	CreatedBy     string     `json:"created_by"`
	UpdatedAt     *time.Time `json:"updated_at"`
	// WebhookSecret is set only by create and by update --rotate-secret.
	WebhookSecret string `json:"webhook_secret,omitempty"`
}

func contactOf(c *managev1.NotifyContact) contactView {
	return contactView{ID: c.GetId(), Tenant: c.GetTenant(), Name: c.GetName(), Kind: contactKindWords[c.GetKind()], Address: c.GetAddress(),
		Format: webhookFormatWords[c.GetFormat()], Default: c.GetDefaultContact(), FallbackEmail: c.GetFallbackEmail(),
		CreatedAt: unix(c.GetCreatedUnix()), CreatedBy: c.GetCreatedBy(), UpdatedAt: unixPtr(c.GetUpdatedUnix())}
}

func printContacts(e *env, o string, vs []contactView, single bool) error {
	if o == "json" {
		if single {
			return writeJSON(e.stdout, vs[0])
		}
		return writeJSON(e.stdout, vs)
	}
	rows := make([][]string, 0, len(vs))
	for _, v := range vs {
		kind := v.Kind
		if v.Format != "" {
			kind += " (" + v.Format + ")"
		}
		def := ""
		if v.Default {
			def = "yes"
		}
		addr := v.Address
		if v.FallbackEmail != "" {
			addr += " (else " + v.FallbackEmail + ")"
		}
		rows = append(rows, []string{v.ID, v.Tenant, dash(v.Name), kind, addr, dash(def)})
	}
	return table(e.stdout, []string{"ID", "TENANT", "NAME", "KIND", "ADDRESS", "DEFAULT"}, rows)
}

// printContactResult prints the contact that create or update returned,
// with its webhook secret the one time it is shown.
func printContactResult(e *env, o string, ct *managev1.NotifyContact, secret string) error {
	v := contactOf(ct)
	if o == "json" {
		v.WebhookSecret = secret
		return writeJSON(e.stdout, v)
	}
	if err := printContacts(e, o, []contactView{v}, true); err != nil {
		return err
	}
	if secret != "" {
		fmt.Fprintf(e.stdout, "\nwebhook secret (shown once; configure it in the receiver to check X-Vigil-Signature):\n  %s\n", secret)
	}
	return nil
}

func contactCreate(e *env, args []string) error {
	fs := flag.NewFlagSet("contact create", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "the tenant the contact belongs to (required)")
	email := fs.String("email", "", "an email address")
	sms := fs.String("sms", "", "a phone number in E.164 form, such as +33612345678")
	webhook := fs.String("webhook", "", "an http(s) URL receiving a signed POST")
	format := fs.String("format", "", "webhook body: json (default), slack or teams")
	name := fs.String("name", "", "a display name")
	id := fs.String("id", "", "the contact id, a slug such as oncall-acme (MSP staff only; default: ct- and a random suffix)")
	def := fs.Bool("default", false, "one of the tenant's default contacts: notices naming no contact go to it")
	fallback := fs.String("fallback-email", "", "for an SMS contact: where its messages go when SMS credits run out")
	_, o, err := parse(fs, args, []string{"table", "json"})
	if err != nil {
		return err
	}
	if *tenant == "" {
		return cli.Usagef("contact create: --tenant is required")
	}
	req := &managev1.CreateContactRequest{Tenant: *tenant, Id: *id, Name: *name, DefaultContact: *def, FallbackEmail: *fallback}
	given := 0
	for _, k := range []struct {
		v    string
		kind managev1.NotifyContactKind
	}{{*email, managev1.NotifyContactKind_NOTIFY_CONTACT_KIND_EMAIL}, {*sms, managev1.NotifyContactKind_NOTIFY_CONTACT_KIND_SMS},
		{*webhook, managev1.NotifyContactKind_NOTIFY_CONTACT_KIND_WEBHOOK}} {
		if k.v != "" {
			given++
			req.Kind, req.Address = k.kind, k.v
		}
	}
	if given != 1 {
		return cli.Usagef("contact create: give exactly one of --email ADDR, --sms +NUMBER, --webhook URL")
	}
	if *format != "" {
		if *webhook == "" {
			return cli.Usagef("contact create: --format is for --webhook only")
		}
		f, ok := notifyWordOf(webhookFormatWords, *format)
		if !ok {
			return cli.Usagef("contact create: --format %q: want json, slack or teams", *format)
		}
		req.Format = f
	}
	if *fallback != "" && *sms == "" {
		return cli.Usagef("contact create: --fallback-email is for --sms only")
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.CreateContact(ctx, req)
		if err != nil {
			return err
		}
		return printContactResult(e, o, r.GetContact(), r.GetWebhookSecret())
	})
}

func contactList(e *env, args []string) error {
	fs := flag.NewFlagSet("contact list", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "only this tenant's contacts")
	_, o, err := parse(fs, args, []string{"table", "json"})
	if err != nil {
		return err
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.ListContacts(ctx, &managev1.ListContactsRequest{Tenant: *tenant})
		if err != nil {
			return err
		}
		vs := make([]contactView, 0, len(r.GetContacts()))
		for _, ct := range r.GetContacts() {
			vs = append(vs, contactOf(ct))
		}
		return printContacts(e, o, vs, false)
	})
}

func contactShow(e *env, args []string) error {
	return showOne(e, args, flag.NewFlagSet("contact show", flag.ContinueOnError), "CONTACT",
		func(ctx context.Context, c *client.Client, id string) (*managev1.NotifyContact, error) {
			return c.GetContact(ctx, &managev1.GetContactRequest{Id: id})
		},
		func(o string, ct *managev1.NotifyContact) error {
			return printContacts(e, o, []contactView{contactOf(ct)}, true)
		})
}

func contactUpdate(e *env, args []string) error {
	fs := flag.NewFlagSet("contact update", flag.ContinueOnError)
	name := fs.String("name", "", "a new display name")
	def := fs.String("default", "", "true or false: whether it is one of the tenant's default contacts")
	format := fs.String("format", "", "webhook body: json, slack or teams")
	rotate := fs.Bool("rotate-secret", false, "give the webhook a new signing secret (shown once)")
	fallback := fs.String("fallback-email", "", "for an SMS contact: the fallback email (\"\" removes it)")
	pos, o, err := parse(fs, args, []string{"table", "json"}, "CONTACT")
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	req := &managev1.UpdateContactRequest{Id: pos[0], RotateSecret: *rotate}
	if set["name"] {
		req.Name = name
	}
	if set["default"] {
		b, err := strconv.ParseBool(*def)
		if err != nil {
			return cli.Usagef("contact update: --default %q: want true or false", *def)
		}
		req.DefaultContact = &b
	}
	if set["format"] {
		f, ok := notifyWordOf(webhookFormatWords, *format)
		if !ok {
			return cli.Usagef("contact update: --format %q: want json, slack or teams", *format)
		}
		req.Format = f
	}
	if set["fallback-email"] {
		req.FallbackEmail = fallback
	}
	if len(set) == 0 || (len(set) == 1 && set["o"]) {
		return cli.Usagef("contact update: nothing to change; give --name, --default, --format, --rotate-secret or --fallback-email")
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.UpdateContact(ctx, req)
		if err != nil {
			return err
		}
		return printContactResult(e, o, r.GetContact(), r.GetWebhookSecret())
	})
}

func contactDelete(e *env, args []string) error {
	fs := flag.NewFlagSet("contact delete", flag.ContinueOnError)
	pos, _, err := parse(fs, args, []string{"table"}, "CONTACT")
	if err != nil {
		return err
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		if _, err := c.DeleteContact(ctx, &managev1.DeleteContactRequest{Id: pos[0]}); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "contact %s deleted (notifications already queued to it are still delivered)\n", pos[0])
		return nil
	})
}

// contactTestView is what contact test -o json prints.
type contactTestView struct {
	Notification string        `json:"notification"`
	Delivery     *deliveryView `json:"delivery"`
	Done         bool          `json:"done"`
}

func contactTest(e *env, args []string) error {
	fs := flag.NewFlagSet("contact test", flag.ContinueOnError)
	wait := fs.Bool("wait", false, "wait up to 30s for the outcome and print it; exit 1 unless it was sent")
	pos, o, err := parse(fs, args, []string{"table", "json"}, "CONTACT")
	if err != nil {
		return err
	}
	var id string
	if err := call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.TestContact(ctx, &managev1.TestContactRequest{Id: pos[0]})
		id = r.GetNotificationId()
		return err
	}); err != nil {
		return err
	}
	v := contactTestView{Notification: id}
	if !*wait {
		if o == "json" {
			return writeJSON(e.stdout, v)
		}
		fmt.Fprintf(e.stdout, "test notification %s queued; see `vigilctl notifications show %s`\n", id, id)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), contactTestWait)
	defer cancel()
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	for {
		n, err := c.GetNotification(ctx, &managev1.GetNotificationRequest{Id: id})
		if err != nil && ctx.Err() == nil {
			return err
		}
		if err == nil && len(n.GetDeliveries()) > 0 {
			d := deliveryOf(n.GetDeliveries()[0], 0)
			v.Delivery = &d
			v.Done = d.State != "queued" && d.State != "sending"
		}
		if v.Done || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(contactTestPoll):
		}
	}
	if o == "json" {
		if err := writeJSON(e.stdout, v); err != nil {
			return err
		}
	} else {
		printTestOutcome(e, v)
	}
	if !v.Done {
		return fmt.Errorf("no outcome within %s; see `vigilctl notifications show %s`", contactTestWait, id)
	}
	if v.Delivery.State != "sent" {
		return fmt.Errorf("test notification %s: %s", id, v.Delivery.State)
	}
	return nil
}

func printTestOutcome(e *env, v contactTestView) {
	fmt.Fprintf(e.stdout, "test notification %s\n", v.Notification)
	if v.Delivery == nil {
		return
	}
	fmt.Fprintf(e.stdout, "%s to %s: %s after %d attempt(s)\n", v.Delivery.Kind, v.Delivery.Address, v.Delivery.State, v.Delivery.AttemptCount)
	if n := len(v.Delivery.Attempts); n > 0 && v.Delivery.Attempts[n-1].Error != "" {
		fmt.Fprintf(e.stdout, "last error: %s\n", v.Delivery.Attempts[n-1].Error)
	}
}

// creditsView is sms credits -o json.
type creditsView struct {
	Tenant       string             `json:"tenant"`
	Balance      int64              `json:"balance"`
	Used         int64              `json:"used"`
	LowThreshold int64              `json:"low_threshold"`
	LowWarnedAt  *time.Time         `json:"low_warned_at"`
	Changes      []creditChangeView `json:"changes"`
}

type creditChangeView struct {
	Time    time.Time `json:"time"`
	Delta   int64     `json:"delta"`
	Balance int64     `json:"balance"`
	By      string    `json:"by"`
	Note    string    `json:"note"`
}

func smsCredits(e *env, args []string) error {
	fs := flag.NewFlagSet("sms credits", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "the tenant (required)")
	add := fs.Int64("add", 0, "credits to add (admin); negative corrects, but the balance never goes below 0")
	note := fs.String("note", "", "why (kept with the change)")
	threshold := fs.Int64("threshold", 0, "set the balance at or below which a low-credit warning goes out (admin)")
	_, o, err := parse(fs, args, []string{"table", "json"})
	if err != nil {
		return err
	}
	if *tenant == "" {
		return cli.Usagef("sms credits: --tenant is required")
	}
	if *note != "" && *add == 0 {
		return cli.Usagef("sms credits: --note goes with --add N")
	}
	if *threshold < 0 {
		return cli.Usagef("sms credits: --threshold %d: want 1 or more", *threshold)
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		var (
			r   *managev1.NotifySmsCredits
			err error
		)
		if *add != 0 || *threshold != 0 {
			r, err = c.AddSmsCredits(ctx, &managev1.AddSmsCreditsRequest{Tenant: *tenant, Delta: *add, Note: *note, LowThreshold: *threshold})
		} else {
			r, err = c.GetSmsCredits(ctx, &managev1.GetSmsCreditsRequest{Tenant: *tenant})
		}
		if err != nil {
			return err
		}
		v := creditsView{Tenant: r.GetTenant(), Balance: r.GetBalance(), Used: r.GetUsed(), LowThreshold: r.GetLowThreshold(),
			LowWarnedAt: unixPtr(r.GetLowWarnedUnix()), Changes: []creditChangeView{}}
		for _, ch := range r.GetChanges() {
			v.Changes = append(v.Changes, creditChangeView{Time: unix(ch.GetTimeUnix()), Delta: ch.GetDelta(), Balance: ch.GetBalance(), By: ch.GetBy(), Note: ch.GetNote()})
		}
		if o == "json" {
			return writeJSON(e.stdout, v)
		}
		warned := "no"
		if v.LowWarnedAt != nil {
			warned = v.LowWarnedAt.Format(time.RFC3339)
		}
		if err := table(e.stdout, []string{"TENANT", "BALANCE", "USED", "WARN AT", "WARNED"},
			[][]string{{v.Tenant, strconv.FormatInt(v.Balance, 10), strconv.FormatInt(v.Used, 10), strconv.FormatInt(v.LowThreshold, 10), warned}}); err != nil {
			return err
		}
		if len(v.Changes) == 0 {
			return nil
		}
		fmt.Fprintln(e.stdout, "\nrecent changes:")
		rows := make([][]string, 0, len(v.Changes))
		for _, ch := range v.Changes {
			rows = append(rows, []string{ch.Time.Format(time.RFC3339), fmt.Sprintf("%+d", ch.Delta), strconv.FormatInt(ch.Balance, 10), ch.By, dash(ch.Note)})
		}
		return table(e.stdout, []string{"TIME", "DELTA", "BALANCE", "BY", "NOTE"}, rows)
	})
}

// deliveryAttemptView is one attempt in -o json.
type deliveryAttemptView struct {
	Start     time.Time  `json:"start"`
	End       *time.Time `json:"end"`
	OK        bool       `json:"ok"`
	Error     string     `json:"error"`
	Permanent bool       `json:"permanent"`
}

// deliveryView is one delivery in -o json.
type deliveryView struct {
	Index        int                   `json:"index"`
	Contact      string                `json:"contact"`
	Kind         string                `json:"kind"`
	Address      string                `json:"address"`
	State        string                `json:"state"`
	NextAttempt  *time.Time            `json:"next_attempt"`
	AttemptCount int32                 `json:"attempt_count"`
	RedirectOf   *int                  `json:"redirect_of"`
	Attempts     []deliveryAttemptView `json:"attempts,omitempty"`
}

// notificationView is one notification in -o json.
type notificationView struct {
	ID         string         `json:"id"`
	Tenant     string         `json:"tenant"`
	Source     string         `json:"source"`
	Kind       string         `json:"kind"`
	AlertID    string         `json:"alert_id"`
	Rule       string         `json:"rule"`
	Check      string         `json:"check"`
	Agent      string         `json:"agent"`
	Host       string         `json:"host"`
	Subject    string         `json:"subject"`
	Summary    string         `json:"summary"`
	Time       time.Time      `json:"time"`
	Deliveries []deliveryView `json:"deliveries"`
}

func deliveryOf(d *managev1.NotifyDelivery, i int) deliveryView {
	v := deliveryView{Index: i, Contact: d.GetContact(), Kind: dash(contactKindWords[d.GetKind()]), Address: d.GetAddress(),
		State: deliveryStateWords[d.GetState()], NextAttempt: unixMsPtr(d.GetNextAttemptUnixMs()), AttemptCount: d.GetAttemptCount()}
	if r := d.GetRedirectOf(); r > 0 {
		idx := int(r) - 1
		v.RedirectOf = &idx
	}
	for _, a := range d.GetAttempts() {
		v.Attempts = append(v.Attempts, deliveryAttemptView{Start: unixMs(a.GetStartUnixMs()), End: unixMsPtr(a.GetEndUnixMs()), OK: a.GetOk(),
			Error: a.GetError(), Permanent: a.GetPermanent()})
	}
	return v
}

func notificationOf(n *managev1.NotifyNotification) notificationView {
	v := notificationView{ID: n.GetId(), Tenant: n.GetTenant(), Source: n.GetSource(), Kind: n.GetKind(), AlertID: n.GetAlertId(),
		Rule: n.GetRule(), Check: n.GetCheck(), Agent: n.GetAgent(), Host: n.GetHost(), Subject: n.GetSubject(), Summary: n.GetSummary(),
		Time: unixMs(n.GetCreatedUnixMs()), Deliveries: []deliveryView{}}
	for i, d := range n.GetDeliveries() {
		v.Deliveries = append(v.Deliveries, deliveryOf(d, i))
	}
	return v
}

// notificationOutcome sums up deliveries: "2 sent, 1 queued", or "no
// contacts".
func notificationOutcome(v notificationView) string {
	if len(v.Deliveries) == 0 {
		return "no contacts"
	}
	counts := map[string]int{}
	var order []string
	for _, d := range v.Deliveries {
		if counts[d.State] == 0 {
			order = append(order, d.State)
		}
		counts[d.State]++
	}
	parts := make([]string, 0, len(order))
	for _, s := range order {
		parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
	}
	return strings.Join(parts, ", ")
}

func notificationsList(e *env, args []string) error {
	fs := flag.NewFlagSet("notifications list", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "only this tenant's notifications")
	state := fs.String("state", "", "only notifications with a delivery in this state: queued, sending, sent, failed, redirected, unknown")
	since := fs.String("since", "24h", "how far back: 90m, 24h, 7d")
	_, o, err := parse(fs, args, []string{"table", "json"})
	if err != nil {
		return err
	}
	req := &managev1.ListNotificationsRequest{Tenant: *tenant}
	if *state != "" {
		st, ok := notifyWordOf(deliveryStateWords, *state)
		if !ok {
			return cli.Usagef("notifications list: --state %q: want queued, sending, sent, failed, redirected or unknown", *state)
		}
		req.State = st
	}
	span, err := parseSpan("since", *since)
	if err != nil {
		return cli.Usagef("notifications list: %v", err)
	}
	req.SinceUnix = now().Add(-span).Unix()
	return call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.ListNotifications(ctx, req)
		if err != nil {
			return err
		}
		vs := make([]notificationView, 0, len(r.GetNotifications()))
		for _, n := range r.GetNotifications() {
			vs = append(vs, notificationOf(n))
		}
		if o == "json" {
			return writeJSON(e.stdout, vs)
		}
		rows := make([][]string, 0, len(vs))
		for _, v := range vs {
			rows = append(rows, []string{v.Time.Format(time.RFC3339), v.ID, v.Tenant, dash(v.Kind), v.Subject, notificationOutcome(v)})
		}
		if err := table(e.stdout, []string{"TIME", "ID", "TENANT", "KIND", "SUBJECT", "DELIVERIES"}, rows); err != nil {
			return err
		}
		if r.GetTruncated() {
			fmt.Fprintln(e.stderr, "vigilctl: list cut at 1000 notifications; narrow it with --tenant, --state or --since")
		}
		return nil
	})
}

func notificationsShow(e *env, args []string) error {
	return showOne(e, args, flag.NewFlagSet("notifications show", flag.ContinueOnError), "ID",
		func(ctx context.Context, c *client.Client, id string) (*managev1.NotifyNotification, error) {
			return c.GetNotification(ctx, &managev1.GetNotificationRequest{Id: id})
		},
		func(o string, n *managev1.NotifyNotification) error {
			return printNotification(e, o, notificationOf(n))
		})
}

// printNotification prints one notification with its deliveries and
// their attempts.
func printNotification(e *env, o string, v notificationView) error {
	if o == "json" {
		return writeJSON(e.stdout, v)
	}
	fmt.Fprintf(e.stdout, "notification %s (%s %s, tenant %s) at %s\n  %s\n", v.ID, dash(v.Source), dash(v.Kind), v.Tenant,
		v.Time.Format(time.RFC3339), v.Subject)
	if v.Summary != "" {
		fmt.Fprintf(e.stdout, "  %s\n", v.Summary)
	}
	if len(v.Deliveries) == 0 {
		fmt.Fprintln(e.stdout, "\nno deliveries: the notice named no contact and the tenant has no default contact")
		return nil
	}
	for _, d := range v.Deliveries {
		extra := ""
		if d.NextAttempt != nil {
			extra = ", next attempt " + d.NextAttempt.Format(time.RFC3339)
		}
		if d.RedirectOf != nil {
			extra += fmt.Sprintf(", instead of delivery %d", *d.RedirectOf)
		}
		fmt.Fprintf(e.stdout, "\n[%d] %s %s %s: %s%s\n", d.Index, d.Kind, d.Contact, dash(d.Address), d.State, extra)
		for _, a := range d.Attempts {
			res := "ok"
			if !a.OK {
				res = "error: " + dash(a.Error)
				if a.Permanent {
					res += " (permanent)"
				}
			}
			fmt.Fprintf(e.stdout, "    %s  %s\n", a.Start.Format(time.RFC3339), res)
		}
	}
	return nil
}
