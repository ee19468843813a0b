package checker

import (
	"fmt"
	"strings"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/check"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// NoticeID is the stable id of a check notice: the same event (check,
// vantage, outage or suspension number and start, kind) always has the
// same id, so the queue keeps one even if the event is recorded twice.
// The start (the down or suspended notice's time, in milliseconds) keeps
// ids of different events apart when a vantage's counters start again
// from zero, as they do when a vantage is removed from a check and added
// back: "ck-x.agent:ag-1.1.down" alone would name an outage the queue
// already holds, and the new one would never be sent.
func NoticeID(checkID, vantage string, seq uint64, start time.Time, kind string) string {
	return fmt.Sprintf("%s.%s.%d.%d.%s", checkID, vantage, seq, start.UnixMilli(), kind)
}

// notification builds the queued notification of a notice.
func notification(def *storev1.Check, pn pendingNotice) *storev1.Notification {
	kind := pn.n.Kind.String()
	group := "outage"
	if pn.n.Kind == check.NoticeSuspended || pn.n.Kind == check.NoticeResumed {
		group = "suspension"
	}
	n := &storev1.Notification{
		Id:            NoticeID(def.GetId(), pn.vantage, pn.seq, pn.start, kind),
		Tenant:        def.GetTenant(),
		Source:        storev1.NotificationSource_NOTIFICATION_SOURCE_CHECK,
		Kind:          kind,
		AlertId:       fmt.Sprintf("%s.%s.%s%d.%d", def.GetId(), pn.vantage, group, pn.seq, pn.start.UnixMilli()),
		Check:         def.GetId(),
		Host:          hostOf(def.GetSpec()),
		Subject:       fmt.Sprintf("%s: %s (from %s)", strings.ToUpper(kind), Describe(def.GetSpec()), pn.vantage),
		Summary:       summary(def, pn),
		Contacts:      append([]string(nil), def.GetContacts()...),
		CreatedUnixMs: pn.n.At.UnixMilli(),
	}
	if agent, ok := strings.CutPrefix(pn.vantage, AgentVantagePrefix); ok {
		n.Agent = agent
	}
	return n
}

// summary is the notice's one-line text: what happened and the results
// that decided it.
func summary(def *storev1.Check, pn pendingNotice) string {
	what := fmt.Sprintf("%s (%s, %s)", def.GetName(), def.GetId(), Describe(def.GetSpec()))
	var b strings.Builder
	switch pn.n.Kind {
	case check.NoticeDown:
		fmt.Fprintf(&b, "%s is DOWN from %s after %d consecutive failed runs: ", what, pn.vantage, len(pn.n.Results))
	case check.NoticeUp:
		fmt.Fprintf(&b, "%s is UP again from %s after %d consecutive good runs: ", what, pn.vantage, len(pn.n.Results))
	case check.NoticeSuspended:
		fmt.Fprintf(&b, "%s is SUSPENDED from %s: %d consecutive runs could not start (ERR), which says nothing about the target: ",
			what, pn.vantage, len(pn.n.Results))
	case check.NoticeResumed:
		by := pn.n.By
		if by == "" {
			by = "someone"
		}
		fmt.Fprintf(&b, "%s was RESUMED from %s by %s; it runs again at once.", what, pn.vantage, by)
		return b.String()
	}
	for i, res := range pn.n.Results {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s at %s", res.Status, res.At.UTC().Format(time.RFC3339))
		if res.Detail != "" {
			// Short, so four results and the advice fit the summary.
			fmt.Fprintf(&b, " (%s)", clip(res.Detail, 120))
		}
	}
	b.WriteString(".")
	if pn.n.Kind == check.NoticeSuspended {
		fmt.Fprintf(&b, " The check no longer runs from this vantage. Fix the cause (a name that no longer resolves, no route), then run `vigilctl check resume %s`.", def.GetId())
	}
	return b.String()
}
