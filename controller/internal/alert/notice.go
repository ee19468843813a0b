package alert

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
)

// Target is what one alert is about: an agent, and for rules with one
// alert per item, the item (a volume's mount, a check's id).
type Target struct {
	// Agent is the agent id: for a check, the agent vantage point it is
	// seen from, empty for the controller.
	Agent string
	// Host is the hostname notices show; empty shows Agent.
	Host string
	// Item is the volume or check id, or empty.
	Item string
	// Label is the item as people know it (a check's name); empty shows
	// Item. Like Host it is not part of Key: a renamed check is the same
	// target.
	Label string
}

// Key identifies the target within a rule; the store keys alert state by
// rule and Key.
func (t Target) Key() string {
	if t.Item == "" {
		return t.Agent
	}
	return t.Agent + "|" + t.Item
}

// ItemLabel is the item as notices show it: Label, or Item.
func (t Target) ItemLabel() string {
	if t.Label != "" {
		return t.Label
	}
	return t.Item
}

func (t Target) host() string {
	if t.Host != "" {
		return t.Host
	}
	return t.Agent
}

// NoticeKind is why a notice is sent.
type NoticeKind string

// Notice kinds.
const (
	// NoticeFiring: the alert started (or, held outside the activation
	// times, is told for the first time).
	NoticeFiring NoticeKind = "firing"
	// NoticeRepeat: still firing, not acknowledged.
	NoticeRepeat NoticeKind = "repeat"
	// NoticeEscalation: not acknowledged in time; to the second contact.
	NoticeEscalation NoticeKind = "escalation"
	// NoticeResolved: the alert recovered.
	NoticeResolved NoticeKind = "resolved"
)

// Notice is one notification to send.
type Notice struct {
	// ID is the event id: the same for the same event however often it is
	// computed, different for every other. A durable queue keeps one
	// notice per ID.
	ID string
	// AlertID identifies the incident the notice is about (Ack names it by
	// Incident); every notice of one incident shares it.
	AlertID string
	// Tenant and Rule are the rule's.
	Tenant string
	Rule   string
	// Target is what the alert is about.
	Target Target
	// Kind is why the notice is sent.
	Kind NoticeKind
	// Incident numbers the rule's incidents on the target, from 1.
	Incident uint64
	// Repeat numbers repeats from 1; 0 for other kinds.
	Repeat int
	// At is when the notice is due (the evaluation that produced it).
	At time.Time
	// Contacts are contact ids; empty means the tenant's default contacts.
	Contacts []string
	// Summary is one line with the value and the condition.
	Summary string
}

// eventID hashes what makes an event unique: the incident (tenant, rule,
// target, number and start) and the event within it (kind and repeat
// number). Host is left out: a renamed host is the same target.
func eventID(tenant, rule string, t Target, incident uint64, since time.Time, kind NoticeKind, repeat int) string {
	h := sha256.New()
	for _, s := range []string{tenant, rule, t.Agent, t.Item, string(kind)} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	var n [24]byte
	binary.BigEndian.PutUint64(n[:8], incident)
	binary.BigEndian.PutUint64(n[8:16], uint64(since.UnixMilli()))
	binary.BigEndian.PutUint64(n[16:], uint64(repeat))
	h.Write(n[:])
	return "an-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// AlertID names incident number incident of rule on t, started at since:
// the Notice.AlertID of every notice about it. The store keys alert
// records by it, so it can be computed for an incident nobody was told
// about yet. It is the hash of the firing notice's id, with another
// prefix.
func AlertID(tenant, rule string, t Target, incident uint64, since time.Time) string {
	return "al-" + eventID(tenant, rule, t, incident, since, NoticeFiring, 0)[3:]
}

// summary writes the notice's line from an observation's value and
// detail.
func (e *Evaluator) summary(kind NoticeKind, t Target, value float64, detail string, repeat int) string {
	r := &e.rule
	var s string
	switch {
	case kind == NoticeResolved && r.Kind == KindMetric:
		s = fmt.Sprintf("resolved: %s %s on %s (rule %s)", metricLabel(r.Metric.Metric, t.Item),
			formatValue(r.Metric.Metric, value, true), t.host(), r.Condition())
	case kind == NoticeResolved:
		s = fmt.Sprintf("resolved: %s on %s (rule %s)", cmp.Or(detail, "recovered"), t.host(), r.Condition())
	case r.Kind == KindMetric:
		m := r.Metric
		s = fmt.Sprintf("%s %s %s %s", metricLabel(m.Metric, t.Item), formatValue(m.Metric, value, true), m.Op,
			formatValue(m.Metric, m.Threshold, false))
		if m.For > 0 {
			s += " for " + FormatDuration(m.For)
		}
		s += " on " + t.host()
	default:
		s = cmp.Or(detail, r.Condition()) + " on " + t.host()
	}
	switch kind {
	case NoticeRepeat:
		if n := e.rule.Repeat.Count; n > 0 {
			s = fmt.Sprintf("repeat %d/%d: %s", repeat, n, s)
		} else {
			s = fmt.Sprintf("repeat %d: %s", repeat, s)
		}
	case NoticeEscalation:
		s = fmt.Sprintf("not acknowledged after %s: %s", FormatDuration(e.rule.Escalation.After), s)
	}
	return oneLine(s)
}
