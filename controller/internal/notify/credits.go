package notify

import (
	"fmt"
	"slices"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// SMS credit settings.
const (
	// DefaultLowThreshold is the balance at or below which a low-credit
	// warning goes out, unless the tenant set another.
	DefaultLowThreshold = 10
	// maxCreditChanges is how many top-ups and corrections are kept.
	maxCreditChanges = 50
	// LowCreditKind is the kind of the low-credit warning.
	LowCreditKind = "low_credit"
)

// Threshold is c's low-credit threshold.
func Threshold(c *storev1.SmsCredits) int64 {
	if c.GetLowThreshold() > 0 {
		return c.GetLowThreshold()
	}
	return DefaultLowThreshold
}

// AddCredits adds delta (negative: a correction) to tenant's SMS balance,
// which never goes below 0, and records the change. A top-up re-arms the
// low-credit warning. threshold, if above 0, replaces the tenant's
// low-credit threshold.
func AddCredits(tx store.Tx, tenant string, delta int64, threshold int64, by, note string, now time.Time) (*storev1.SmsCredits, error) {
	c, err := schema.GetSmsCredits(tx, tenant)
	if err != nil {
		return nil, err
	}
	if c.GetBalance()+delta < 0 {
		// The correction is cut at 0: it absorbed every credit, the ones
		// SMS under way took included, so their refunds must not bring
		// any back (refundCredit).
		c.Clamps++
	}
	c.Balance = max(c.GetBalance()+delta, 0)
	if delta > 0 {
		c.LowWarnedUnix = 0
		c.LowRun++
	}
	if threshold > 0 {
		c.LowThreshold = threshold
	}
	if delta != 0 || note != "" {
		c.Changes = append(c.Changes, &storev1.CreditChange{TimeUnix: now.Unix(), Delta: delta, By: by, Note: note, Balance: c.Balance})
		if len(c.Changes) > maxCreditChanges {
			c.Changes = slices.Clone(c.Changes[len(c.Changes)-maxCreditChanges:])
		}
	}
	return c, schema.PutSmsCredits(tx, c)
}

// takeCredit takes one SMS credit of tenant, in the transaction that marks
// the SMS SENDING, and reports whether there was one; a taken credit is
// recorded in the attempt a (with the tenant's count of cut corrections,
// for refundCredit). It queues the low-credit warning when the balance is
// (or falls) at or below the threshold and the tenant was not warned in
// this run of low balance, and reports whether it did.
func takeCredit(tx store.Tx, tenant string, a *storev1.Attempt, now time.Time) (took, warned bool, err error) {
	c, err := schema.GetSmsCredits(tx, tenant)
	if err != nil {
		return false, false, err
	}
	took = c.GetBalance() > 0
	if took {
		c.Balance--
		c.Used++
		a.CreditTaken, a.CreditClamps = true, c.GetClamps()
	}
	if c.GetBalance() <= Threshold(c) && c.GetLowWarnedUnix() == 0 {
		c.LowWarnedUnix = now.Unix()
		if warned, err = lowCreditWarning(tx, c, now); err != nil {
			return false, false, err
		}
	}
	return took, warned, schema.PutSmsCredits(tx, c)
}

// refundCredit gives back the credit attempt a took for an SMS the
// provider refused. The balance ends where it would be had the SMS never
// been charged: if a correction was cut at 0 since the charge, that
// correction already took this credit away, so it is not given back (and
// the balance never exceeds what the history allows).
func refundCredit(tx store.Tx, tenant string, a *storev1.Attempt) error {
	if !a.GetCreditTaken() {
		return nil
	}
	c, err := schema.GetSmsCredits(tx, tenant)
	if err != nil {
		return err
	}
	if c.GetClamps() == a.GetCreditClamps() {
		c.Balance++
	}
	c.Used = max(c.GetUsed()-1, 0)
	a.CreditTaken = false
	return schema.PutSmsCredits(tx, c)
}

// lowCreditWarning queues the SYSTEM notification telling the tenant's
// default email contacts that SMS credits are low. Its id names the run
// of low balance, so each run warns once however many SMS hit it. It
// reports whether it queued the warning.
func lowCreditWarning(tx store.Tx, c *storev1.SmsCredits, now time.Time) (bool, error) {
	n := &storev1.Notification{
		Id: fmt.Sprintf("sms-low-%s-%d", c.GetTenant(), c.GetLowRun()), Tenant: c.GetTenant(),
		Source: storev1.NotificationSource_NOTIFICATION_SOURCE_SYSTEM, Kind: LowCreditKind,
		Subject: fmt.Sprintf("SMS credits low for %s: %d left", c.GetTenant(), c.GetBalance()),
		Summary: fmt.Sprintf("Tenant %s has %d SMS credits left (warning at %d). SMS notices go by email while none is left. Top up with: vigilctl sms credits --tenant %s --add N",
			c.GetTenant(), c.GetBalance(), Threshold(c), c.GetTenant()),
		CreatedUnixMs: now.UnixMilli(),
	}
	if err := normalize(n); err != nil {
		return false, err
	}
	if known, err := schema.NotificationKnown(tx, n.GetId()); err != nil || known {
		return false, err
	}
	// Default email contacts only: an SMS about running out of SMS would
	// spend what is left, or go nowhere.
	ds, err := expand(tx, n.GetTenant(), nil, []storev1.ContactKind{storev1.ContactKind_CONTACT_KIND_EMAIL})
	if err != nil {
		return false, err
	}
	n.Deliveries = ds
	return put(tx, n)
}
