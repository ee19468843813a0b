package checker

import (
	"cmp"
	"slices"
	"time"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Day is one UTC day's results from one vantage.
type Day struct {
	// Date is the UTC day, YYYY-MM-DD.
	Date    string
	Vantage string
	// OK, NG, WR and ERR count the results.
	OK, NG, WR, ERR int
}

// Uptime is OK / (OK + NG + WR) in percent. ERR results say nothing about
// the target and are left out; false when the day has no other result.
func (d Day) Uptime() (float64, bool) {
	n := d.OK + d.NG + d.WR
	if n == 0 {
		return 0, false
	}
	return float64(d.OK) * 100 / float64(n), true
}

// Tally counts results per UTC day and vantage.
type Tally struct {
	days map[[2]string]*Day
}

// Add counts one result.
func (t *Tally) Add(rec *storev1.CheckResultRecord) {
	if t.days == nil {
		t.days = map[[2]string]*Day{}
	}
	k := [2]string{time.UnixMilli(rec.GetStartUnixMs()).UTC().Format(time.DateOnly), rec.GetVantage()}
	d := t.days[k]
	if d == nil {
		d = &Day{Date: k[0], Vantage: k[1]}
		t.days[k] = d
	}
	switch rec.GetStatus() {
	case agentv1.CheckStatus_CHECK_STATUS_OK:
		d.OK++
	case agentv1.CheckStatus_CHECK_STATUS_NG:
		d.NG++
	case agentv1.CheckStatus_CHECK_STATUS_WR:
		d.WR++
	default:
		d.ERR++
	}
}

// Days returns the counts ordered by date, then vantage.
func (t *Tally) Days() []Day {
	out := make([]Day, 0, len(t.days))
	for _, d := range t.days {
		out = append(out, *d)
	}
	slices.SortFunc(out, func(a, b Day) int {
		return cmp.Or(cmp.Compare(a.Date, b.Date), cmp.Compare(a.Vantage, b.Vantage))
	})
	return out
}
