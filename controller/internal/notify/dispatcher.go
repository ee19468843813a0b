package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Defaults of Options.
const (
	DefaultWorkers     = 4
	DefaultMaxAttempts = 10
	DefaultMaxAge      = 24 * time.Hour
	DefaultBackoffBase = 30 * time.Second
	DefaultBackoffMax  = 30 * time.Minute
	// DefaultRetention is how long a notification is kept once its last
	// delivery is final.
	DefaultRetention = 30 * 24 * time.Hour
	// sendTimeout bounds one attempt whatever the channel.
	sendTimeout = 2 * time.Minute
	// scanLimit bounds the queue entries one pass examines, so a backlog
	// blocked behind busy addresses costs a bounded scan of index keys
	// (never a notification read) per pass.
	scanLimit = 1024
	// recoverEvery is how often deliveries left SENDING by no worker are
	// settled while the dispatcher runs.
	recoverEvery = time.Minute
	// pruneEvery is how often notifications past their retention are
	// deleted, pruneBatch how many in one transaction.
	pruneEvery = time.Hour
	pruneBatch = 1000
	// finishRetryFirst and finishRetryMax bound the delays between
	// attempts to record a send's outcome.
	finishRetryFirst = time.Second
	finishRetryMax   = time.Minute
)

// Options configure a Dispatcher. Zero values mean the defaults.
type Options struct {
	Store  store.Store
	Logger *slog.Logger
	// Email, Webhook and SMS send each channel; a nil one fails its
	// deliveries permanently with ErrNotConfigured.
	Email, Webhook, SMS Sender
	// Workers bounds concurrent sends.
	Workers int
	// MaxAttempts and MaxAge bound the retries of one delivery (age counts
	// from its first attempt).
	MaxAttempts int
	MaxAge      time.Duration
	// BackoffBase is the first retry delay; each next one doubles, up to
	// BackoffMax, with ±10% jitter.
	BackoffBase, BackoffMax time.Duration
	// Retention is how long a notification is kept after its last
	// delivery became final (sent, failed, redirected or unknown); the
	// dispatcher deletes older ones every hour. Its id stays refused by
	// Enqueue for another Retention (a tombstone), so an event a producer
	// replays is never told twice.
	Retention time.Duration
	// Now is the clock, After the timer (time.After by default) and Jitter
	// a random number in [0, 1): tests replace them.
	Now    func() time.Time
	After  func(time.Duration) <-chan time.Time
	Jitter func() float64
}

// Dispatcher sends queued deliveries.
type Dispatcher struct {
	o    Options
	log  *slog.Logger
	wake chan struct{}
	done chan struct{}
	sem  chan struct{}

	mu sync.Mutex
	// inflight holds the deliveries a worker has, from launch until its
	// outcome is recorded, and busy the lanes (addresses) being sent to:
	// one send per address at a time, so a slow receiver holds one worker,
	// never all of them. Only Run's goroutine adds to them.
	inflight map[deliveryKey]bool
	busy     map[string]bool
}

// deliveryKey names one delivery whatever its due time.
type deliveryKey struct {
	notification string
	index        int
}

// New returns a dispatcher; Run starts it.
func New(o Options) *Dispatcher {
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = DefaultBackoffBase
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = DefaultBackoffMax
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.Jitter == nil {
		o.Jitter = randFloat
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	return &Dispatcher{o: o, log: o.Logger.With("component", "notify"), wake: make(chan struct{}, 1), done: make(chan struct{}, 1),
		sem: make(chan struct{}, o.Workers), inflight: map[deliveryKey]bool{}, busy: map[string]bool{}}
}

// Wake makes the dispatcher look at its queue now. It never blocks.
func (d *Dispatcher) Wake() { signal(d.wake) }

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Backoff is the delay before retry n (from 1): base, 2×base, 4×base …
// up to max, each ±10% by jitter (in [0, 1)).
func Backoff(n int, base, maxDelay time.Duration, jitter float64) time.Duration {
	d := base
	for i := 1; i < n && d < maxDelay; i++ {
		d *= 2
	}
	d = min(d, maxDelay)
	return min(time.Duration(float64(d)*(0.9+0.2*jitter)), maxDelay)
}

// Run delivers until ctx ends, then waits for the sends under way. It
// first settles the deliveries a previous run left SENDING; then, besides
// sending, it settles every minute the SENDING deliveries no worker holds
// and prunes every hour the notifications past their retention.
func (d *Dispatcher) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer d.closeIdle()
	defer wg.Wait()
	for ctx.Err() == nil {
		if err := d.recoverSending(ctx, nil); err == nil {
			break
		} else if ctx.Err() == nil {
			d.log.ErrorContext(ctx, "recover interrupted deliveries", "err", err)
			select {
			case <-ctx.Done():
			case <-d.o.After(5 * time.Second):
			}
		}
	}
	nextRecover, nextPrune := d.o.Now().Add(recoverEvery), d.o.Now()
	for ctx.Err() == nil {
		d.logUnrouted(ctx)
		if now := d.o.Now(); !now.Before(nextPrune) {
			d.prune(ctx, now)
			nextPrune = now.Add(pruneEvery)
		}
		if now := d.o.Now(); !now.Before(nextRecover) {
			d.mu.Lock()
			held := maps.Clone(d.inflight)
			d.mu.Unlock()
			if err := d.recoverSending(ctx, held); err != nil && ctx.Err() == nil {
				d.log.ErrorContext(ctx, "settle interrupted deliveries", "err", err)
			}
			nextRecover = now.Add(recoverEvery)
		}
		wait, err := d.launchDue(ctx, &wg)
		if err != nil && ctx.Err() == nil {
			d.log.ErrorContext(ctx, "read notification queue", "err", err)
			wait = 5 * time.Second
		}
		chores := max(min(nextPrune.Sub(d.o.Now()), nextRecover.Sub(d.o.Now())), 0)
		if wait < 0 || wait > chores {
			wait = chores
		}
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-d.done:
		case <-d.o.After(wait):
		}
	}
}

// launchDue starts a worker for each due delivery while workers are free,
// and returns how long to wait before the next pass: until the next due
// time, or -1 to wait for a worker to finish (or a wake). It examines at
// most scanLimit queue entries and reads no notification for an entry
// whose lane is busy; the store is read without holding d.mu (the maps
// are copied first: only this goroutine adds to them, and an entry freed
// meanwhile is found at the pass its worker's finish brings).
func (d *Dispatcher) launchDue(ctx context.Context, wg *sync.WaitGroup) (time.Duration, error) {
	free := cap(d.sem) - len(d.sem)
	if free <= 0 {
		return -1, nil
	}
	now := d.o.Now()
	d.mu.Lock()
	inflight, busy := maps.Clone(d.inflight), maps.Clone(d.busy)
	d.mu.Unlock()
	type job struct {
		ref  schema.DeliveryRef
		lane string
	}
	var jobs []job
	blocked := false
	next, hasNext := int64(0), false
	err := d.o.Store.View(ctx, func(tx store.Tx) error {
		jobs, blocked = nil, false
		taken := map[string]bool{}
		examined := 0
		var readErr error
		err := schema.DueDeliveries(tx, now.UnixMilli(), func(r schema.DeliveryRef) bool {
			if examined++; examined > scanLimit {
				// The rest waits: workers finishing bring the next pass.
				blocked = true
				return false
			}
			if inflight[deliveryKey{r.Notification, r.Index}] {
				// Its worker has not committed the claim yet: a finishing
				// worker brings the next pass.
				blocked = true
				return true
			}
			lane := r.Lane
			if lane == "" {
				// Queued by an earlier version: the notification names
				// the address.
				n, err := schema.GetNotification(tx, r.Notification)
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					readErr = err
					return false
				}
				if err == nil && r.Index < len(n.GetDeliveries()) {
					lane = laneOf(n.GetDeliveries()[r.Index])
				}
			}
			if lane != "" && (busy[lane] || taken[lane]) {
				blocked = true
				return true
			}
			taken[lane] = true
			jobs = append(jobs, job{r, lane})
			return len(jobs) < free
		})
		if err != nil {
			return err
		}
		if readErr != nil {
			return readErr
		}
		next, hasNext, err = schema.NextDue(tx)
		return err
	})
	if err != nil {
		return 0, err
	}
	for _, j := range jobs {
		select {
		case d.sem <- struct{}{}:
		default:
			// Every worker is busy: the rest waits for one to finish.
			return -1, nil
		}
		key := deliveryKey{j.ref.Notification, j.ref.Index}
		d.mu.Lock()
		d.inflight[key] = true
		if j.lane != "" {
			d.busy[j.lane] = true
		}
		d.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				d.mu.Lock()
				delete(d.inflight, key)
				delete(d.busy, j.lane)
				d.mu.Unlock()
				<-d.sem
				signal(d.done)
			}()
			d.deliver(ctx, j.ref)
		}()
	}
	switch {
	case len(jobs) > 0 || blocked:
		// Workers finishing (d.done) or more due entries bring the next
		// pass.
		return -1, nil
	case !hasNext:
		return -1, nil
	default:
		return max(time.UnixMilli(next).Sub(now), 0), nil
	}
}

// laneOf names the address of d for DeliveryRef.Lane: a hash, so the
// queue index never holds an address (a webhook URL is a credential).
func laneOf(d *storev1.Delivery) string {
	h := sha256.Sum256([]byte(kindName(d.GetKind()) + "\x00" + d.GetAddress()))
	return hex.EncodeToString(h[:16])
}

// queue indexes delivery idx of n under its due time.
func queue(tx store.Tx, n *storev1.Notification, idx int) error {
	dl := n.GetDeliveries()[idx]
	return schema.QueueDelivery(tx, schema.DeliveryRef{Notification: n.GetId(), Index: idx, DueMS: dl.GetNextAttemptUnixMs(), Lane: laneOf(dl)})
}

// prune deletes the notifications whose last delivery became final more
// than the retention ago, in transactions of pruneBatch.
func (d *Dispatcher) prune(ctx context.Context, now time.Time) {
	before, until := now.Add(-d.o.Retention).UnixMilli(), now.Add(d.o.Retention).UnixMilli()
	total := 0
	for ctx.Err() == nil {
		var (
			n    int
			more bool
		)
		err := d.o.Store.Update(ctx, func(tx store.Tx) error {
			var err error
			n, more, err = schema.PruneNotifications(tx, before, until, now.UnixMilli(), pruneBatch)
			return err
		})
		if err != nil {
			if ctx.Err() == nil {
				d.log.ErrorContext(ctx, "prune notifications", "err", err)
			}
			break
		}
		total += n
		if !more {
			break
		}
	}
	if total > 0 {
		d.log.InfoContext(ctx, "notifications past their retention deleted", "count", total, "retention", d.o.Retention)
	}
}

// logUnrouted logs, once each, the notifications that had no contact. It
// runs every pass, so it takes the marks in a write transaction only when
// a read finds some.
func (d *Dispatcher) logUnrouted(ctx context.Context) {
	var (
		pending bool
		ids     []string
	)
	err := d.o.Store.View(ctx, func(tx store.Tx) error {
		var err error
		pending, err = schema.HasUnrouted(tx)
		return err
	})
	if err == nil && pending {
		err = d.o.Store.Update(ctx, func(tx store.Tx) error {
			var err error
			ids, err = schema.TakeUnrouted(tx)
			return err
		})
	}
	if err != nil {
		if ctx.Err() == nil {
			d.log.ErrorContext(ctx, "read unrouted notifications", "err", err)
		}
		return
	}
	for _, id := range ids {
		d.log.WarnContext(ctx, "notification has no contact: the tenant has no default contact and the notice named none",
			"notification", id)
	}
}

// claim is what the claiming transaction hands to the send.
type claim struct {
	msg  *Message
	send Sender
}

// deliver runs one attempt: claim (mark SENDING, commit), send, record.
func (d *Dispatcher) deliver(ctx context.Context, ref schema.DeliveryRef) {
	// The outcome is recorded even when ctx ends during the send (the
	// controller is stopping): the store stays open until Run returns.
	rec := context.WithoutCancel(ctx)
	start := d.o.Now()
	var c *claim
	var woke bool
	err := d.o.Store.Update(rec, func(tx store.Tx) error {
		var err error
		c, woke, err = d.claim(tx, ref, start)
		return err
	})
	if err != nil {
		d.log.ErrorContext(ctx, "claim delivery", "notification", ref.Notification, "delivery", ref.Index, "err", err)
		return
	}
	if woke {
		d.Wake()
	}
	if c == nil {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, sendTimeout)
	sendErr := c.send.Send(sctx, c.msg)
	cancel()
	end := d.o.Now()
	if !d.record(ctx, ref, sendErr, end, &woke) {
		return
	}
	if woke {
		d.Wake()
	}
	attrs := []any{"notification", ref.Notification, "contact", c.msg.Delivery.GetContact(), "kind", kindName(c.msg.Delivery.GetKind())}
	if sendErr != nil {
		d.log.InfoContext(ctx, "delivery attempt failed", append(attrs, "err", oneLine(sendErr.Error()), "permanent", IsPermanent(sendErr))...)
	} else {
		d.log.InfoContext(ctx, "notification delivered", attrs...)
	}
}

// record commits the outcome of a send, retrying with backoff while ctx
// lives: a delivery left SENDING would otherwise wait for a restart (and
// an SMS would then be recorded UNKNOWN although its outcome is known).
// The worker keeps the delivery in flight meanwhile, so the periodic
// recovery leaves it alone. It reports whether the outcome was recorded;
// if ctx ends first the delivery stays SENDING and the next start
// settles it.
func (d *Dispatcher) record(ctx context.Context, ref schema.DeliveryRef, sendErr error, end time.Time, woke *bool) bool {
	rec := context.WithoutCancel(ctx)
	delay := finishRetryFirst
	for {
		err := d.o.Store.Update(rec, func(tx store.Tx) error {
			var err error
			*woke, err = d.finish(tx, ref, sendErr, end)
			return err
		})
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			d.log.ErrorContext(rec, "record delivery outcome; left for the next start to settle", "notification", ref.Notification,
				"delivery", ref.Index, "err", err)
			return false
		}
		d.log.ErrorContext(ctx, "record delivery outcome; retrying", "notification", ref.Notification, "delivery", ref.Index,
			"retry_in", delay, "err", err)
		select {
		case <-ctx.Done():
		case <-d.o.After(delay):
		}
		delay = min(delay*2, finishRetryMax)
	}
}

// claim marks the delivery SENDING with a new attempt, or settles it
// without a send (an SMS with no credit left is redirected to email). It
// returns nil when there is nothing to send, and whether it queued new
// work the dispatcher should look at.
func (d *Dispatcher) claim(tx store.Tx, ref schema.DeliveryRef, now time.Time) (*claim, bool, error) {
	n, err := schema.GetNotification(tx, ref.Notification)
	if errors.Is(err, store.ErrNotFound) || (err == nil && ref.Index >= len(n.GetDeliveries())) {
		return nil, false, schema.UnqueueDelivery(tx, ref)
	}
	if err != nil {
		return nil, false, err
	}
	dl := n.GetDeliveries()[ref.Index]
	if dl.GetState() != storev1.DeliveryState_DELIVERY_STATE_QUEUED || dl.GetNextAttemptUnixMs() != ref.DueMS {
		// A stale index entry: the record moved on.
		return nil, false, schema.UnqueueDelivery(tx, ref)
	}
	if err := schema.UnqueueDelivery(tx, ref); err != nil {
		return nil, false, err
	}
	send := d.sender(dl.GetKind())
	if send == nil {
		dl.State = storev1.DeliveryState_DELIVERY_STATE_FAILED
		dl.Attempts = append(dl.Attempts, &storev1.Attempt{StartUnixMs: now.UnixMilli(), EndUnixMs: now.UnixMilli(), Permanent: true,
			Error: fmt.Sprintf("%s: %v (notify.%s in the controller config)", kindName(dl.GetKind()), ErrNotConfigured, configSection(dl.GetKind()))})
		return nil, false, schema.PutNotification(tx, n)
	}
	woke := false
	a := &storev1.Attempt{StartUnixMs: now.UnixMilli()}
	if dl.GetKind() == storev1.ContactKind_CONTACT_KIND_SMS {
		took, warned, err := takeCredit(tx, n.GetTenant(), a, now)
		if err != nil {
			return nil, false, err
		}
		woke = warned
		if !took {
			dl.State = storev1.DeliveryState_DELIVERY_STATE_REDIRECTED
			to, err := d.redirect(tx, n, ref.Index, now)
			if err != nil {
				return nil, false, err
			}
			a.EndUnixMs, a.Permanent, a.Error = now.UnixMilli(), true, "no SMS credit left: "+to
			dl.Attempts = append(dl.Attempts, a)
			return nil, true, schema.PutNotification(tx, n)
		}
	}
	dl.State = storev1.DeliveryState_DELIVERY_STATE_SENDING
	dl.Attempts = append(dl.Attempts, a)
	if err := schema.MarkSending(tx, ref); err != nil {
		return nil, false, err
	}
	if err := schema.PutNotification(tx, n); err != nil {
		return nil, false, err
	}
	msg := &Message{Notification: proto.CloneOf(n), Delivery: proto.CloneOf(dl), Now: now}
	msg.Notification.Deliveries = nil
	if dl.GetKind() == storev1.ContactKind_CONTACT_KIND_WEBHOOK {
		msg.Secret = dl.GetWebhookSecret()
		// The contact's current secret signs, so a rotation applies to
		// deliveries already queued; the copy serves a deleted contact.
		if ct, err := schema.GetContact(tx, dl.GetContact()); err == nil && ct.GetTenant() == n.GetTenant() && ct.GetWebhookSecret() != "" {
			msg.Secret = ct.GetWebhookSecret()
		}
	}
	return &claim{msg: msg, send: send}, woke, nil
}

// finish records the outcome of the attempt claim started.
func (d *Dispatcher) finish(tx store.Tx, ref schema.DeliveryRef, sendErr error, now time.Time) (bool, error) {
	n, err := schema.GetNotification(tx, ref.Notification)
	if errors.Is(err, store.ErrNotFound) || (err == nil && ref.Index >= len(n.GetDeliveries())) {
		return false, schema.ClearSending(tx, ref)
	}
	if err != nil {
		return false, err
	}
	dl := n.GetDeliveries()[ref.Index]
	if dl.GetState() != storev1.DeliveryState_DELIVERY_STATE_SENDING || len(dl.GetAttempts()) == 0 {
		return false, schema.ClearSending(tx, ref)
	}
	if err := schema.ClearSending(tx, ref); err != nil {
		return false, err
	}
	a := dl.Attempts[len(dl.Attempts)-1]
	a.EndUnixMs = now.UnixMilli()
	woke := false
	sms := dl.GetKind() == storev1.ContactKind_CONTACT_KIND_SMS
	switch {
	case sendErr == nil:
		a.Ok = true
		dl.State = storev1.DeliveryState_DELIVERY_STATE_SENT
	case sms && errors.Is(sendErr, ErrOutcomeUnknown):
		// The credit stays taken: the provider may have sent it.
		a.Error = truncateBytes(oneLine(sendErr.Error()), 500)
		dl.State = storev1.DeliveryState_DELIVERY_STATE_UNKNOWN
		to, err := d.redirect(tx, n, ref.Index, now)
		if err != nil {
			return false, err
		}
		a.Error += "; not retried (an SMS is never sent twice): " + to
		woke = true
	default:
		a.Error = truncateBytes(oneLine(sendErr.Error()), 500)
		a.Permanent = IsPermanent(sendErr)
		if sms {
			// The provider refused it (a 3xx or 4xx answer, or no
			// request sent): the message was not sent, and the next
			// attempt takes a credit again.
			if err := refundCredit(tx, n.GetTenant(), a); err != nil {
				return false, err
			}
		}
		d.retryOrFail(n, ref.Index, now)
		if dl.GetState() == storev1.DeliveryState_DELIVERY_STATE_QUEUED {
			if err := queue(tx, n, ref.Index); err != nil {
				return false, err
			}
		}
	}
	return woke, schema.PutNotification(tx, n)
}

// retryOrFail moves a delivery whose last attempt failed to QUEUED with
// its next due time, or to FAILED when the error is permanent or retries
// are exhausted (the last attempt's error then says so).
func (d *Dispatcher) retryOrFail(n *storev1.Notification, idx int, now time.Time) {
	dl := n.GetDeliveries()[idx]
	a := dl.Attempts[len(dl.Attempts)-1]
	age := now.Sub(time.UnixMilli(dl.Attempts[0].GetStartUnixMs()))
	switch {
	case a.GetPermanent():
		dl.State = storev1.DeliveryState_DELIVERY_STATE_FAILED
	case len(dl.GetAttempts()) >= d.o.MaxAttempts:
		dl.State = storev1.DeliveryState_DELIVERY_STATE_FAILED
		a.Error += fmt.Sprintf(" (gave up after %d attempts)", len(dl.GetAttempts()))
	case age >= d.o.MaxAge:
		dl.State = storev1.DeliveryState_DELIVERY_STATE_FAILED
		a.Error += fmt.Sprintf(" (gave up after %s)", age.Round(time.Minute))
	default:
		dl.State = storev1.DeliveryState_DELIVERY_STATE_QUEUED
		dl.NextAttemptUnixMs = now.Add(Backoff(len(dl.GetAttempts()), d.o.BackoffBase, d.o.BackoffMax, d.o.Jitter())).UnixMilli()
	}
}

// recoverSending settles the deliveries a previous run left SENDING: the
// controller stopped during their send, so their outcome is unknown.
// Email and webhooks are queued again (their idempotency key lets the
// receiver drop a duplicate); an SMS is not (it cannot be recalled and it
// costs a credit): it is recorded UNKNOWN and goes by email instead.
//
// At start held is nil; later it holds the deliveries workers have, which
// are left alone: their worker knows the outcome and records it. The
// others were left SENDING by a worker that could not record its outcome.
func (d *Dispatcher) recoverSending(ctx context.Context, held map[deliveryKey]bool) error {
	now := d.o.Now()
	settled := 0
	err := d.o.Store.Update(ctx, func(tx store.Tx) error {
		settled = 0
		refs, err := schema.SendingDeliveries(tx)
		if err != nil {
			return err
		}
		for _, ref := range refs {
			if held[deliveryKey{ref.Notification, ref.Index}] {
				continue
			}
			if err := d.recoverOne(tx, ref, now); err != nil {
				return fmt.Errorf("%s delivery %d: %w", ref.Notification, ref.Index, err)
			}
			settled++
		}
		return nil
	})
	if err == nil && settled > 0 {
		d.log.InfoContext(ctx, "interrupted deliveries settled", "count", settled)
		d.Wake()
	}
	return err
}

const interrupted = "outcome unknown: the controller stopped during this attempt"

func (d *Dispatcher) recoverOne(tx store.Tx, ref schema.DeliveryRef, now time.Time) error {
	if err := schema.ClearSending(tx, ref); err != nil {
		return err
	}
	n, err := schema.GetNotification(tx, ref.Notification)
	if errors.Is(err, store.ErrNotFound) || (err == nil && ref.Index >= len(n.GetDeliveries())) {
		return nil
	}
	if err != nil {
		return err
	}
	dl := n.GetDeliveries()[ref.Index]
	if dl.GetState() != storev1.DeliveryState_DELIVERY_STATE_SENDING {
		return nil
	}
	if len(dl.GetAttempts()) == 0 {
		dl.Attempts = append(dl.Attempts, &storev1.Attempt{StartUnixMs: now.UnixMilli()})
	}
	a := dl.Attempts[len(dl.Attempts)-1]
	a.EndUnixMs = now.UnixMilli()
	if dl.GetKind() == storev1.ContactKind_CONTACT_KIND_SMS {
		dl.State = storev1.DeliveryState_DELIVERY_STATE_UNKNOWN
		to, err := d.redirect(tx, n, ref.Index, now)
		if err != nil {
			return err
		}
		a.Error = interrupted + "; not retried (an SMS is never sent twice): " + to
		return schema.PutNotification(tx, n)
	}
	a.Error = interrupted + "; retried with the same idempotency key"
	// A retry the limits still allow is due at once; the interrupted
	// attempt counts.
	d.retryOrFail(n, ref.Index, now)
	if dl.GetState() == storev1.DeliveryState_DELIVERY_STATE_QUEUED {
		dl.NextAttemptUnixMs = now.UnixMilli()
		if err := queue(tx, n, ref.Index); err != nil {
			return err
		}
	}
	return schema.PutNotification(tx, n)
}

// redirect adds to n an email delivery replacing its SMS delivery idx:
// to the SMS contact's fallback email, else to the tenant's default email
// contacts (skipping addresses n already emails). It says where the
// message went, for the attempt record.
func (d *Dispatcher) redirect(tx store.Tx, n *storev1.Notification, idx int, now time.Time) (string, error) {
	sms := n.GetDeliveries()[idx]
	var add []*storev1.Delivery
	if fb := sms.GetFallbackEmail(); fb != "" {
		add = append(add, &storev1.Delivery{Contact: sms.GetContact(), Kind: storev1.ContactKind_CONTACT_KIND_EMAIL, Address: fb})
	} else {
		ds, err := expand(tx, n.GetTenant(), nil, []storev1.ContactKind{storev1.ContactKind_CONTACT_KIND_EMAIL})
		if err != nil {
			return "", err
		}
		add = ds
	}
	emailed := map[string]bool{}
	for _, x := range n.GetDeliveries() {
		if x.GetKind() == storev1.ContactKind_CONTACT_KIND_EMAIL {
			emailed[x.GetAddress()] = true
		}
	}
	var sent []string
	for _, x := range add {
		if emailed[x.GetAddress()] || len(n.GetDeliveries()) >= schema.MaxDeliveries {
			continue
		}
		emailed[x.GetAddress()] = true
		x.State = storev1.DeliveryState_DELIVERY_STATE_QUEUED
		x.NextAttemptUnixMs = now.UnixMilli()
		x.RedirectOf = int32(idx + 1)
		x.WebhookSecret, x.FallbackEmail = "", ""
		n.Deliveries = append(n.Deliveries, x)
		if err := queue(tx, n, len(n.Deliveries)-1); err != nil {
			return "", err
		}
		sent = append(sent, x.GetAddress())
	}
	if len(sent) == 0 {
		return "no fallback email and no other default email contact: not delivered", nil
	}
	return fmt.Sprintf("sent by email to %d address(es) instead", len(sent)), nil
}

// closeIdle closes the senders' idle connections once Run is done.
func (d *Dispatcher) closeIdle() {
	for _, s := range []Sender{d.o.Email, d.o.Webhook, d.o.SMS} {
		if c, ok := s.(interface{ CloseIdleConnections() }); ok {
			c.CloseIdleConnections()
		}
	}
}

func (d *Dispatcher) sender(k storev1.ContactKind) Sender {
	switch k {
	case storev1.ContactKind_CONTACT_KIND_EMAIL:
		return d.o.Email
	case storev1.ContactKind_CONTACT_KIND_WEBHOOK:
		return d.o.Webhook
	case storev1.ContactKind_CONTACT_KIND_SMS:
		return d.o.SMS
	}
	return nil
}

func kindName(k storev1.ContactKind) string {
	switch k {
	case storev1.ContactKind_CONTACT_KIND_EMAIL:
		return "email"
	case storev1.ContactKind_CONTACT_KIND_SMS:
		return "sms"
	case storev1.ContactKind_CONTACT_KIND_WEBHOOK:
		return "webhook"
	}
	return "unknown"
}

func configSection(k storev1.ContactKind) string {
	if k == storev1.ContactKind_CONTACT_KIND_EMAIL {
		return "smtp"
	}
	return kindName(k)
}
