package report

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// alertSection lists the tenant's alerts open at any time in the period:
// started before its end and not ended before its start. Only the latest
// MaxAlerts are kept, and truncated says so.
func (g *Generator) alertSection(ctx context.Context, tenant string, p period) (alerts []*managev1.ReportAlert, truncated bool, err error) {
	var recs []*storev1.AlertRecord
	since, until := p.since.UnixMilli(), p.until.UnixMilli()
	err = g.opts.Store.View(ctx, func(tx store.Tx) error {
		// Only the tenant's records are read, and only those of the
		// period are kept.
		return schema.VisitAlertRecords(tx, tenant, func(r *storev1.AlertRecord) error {
			end := r.GetEndUnixMs()
			if r.GetTenant() == tenant && r.GetStartUnixMs() < until && (end == 0 || end >= since) {
				recs = append(recs, r)
			}
			return nil
		})
	})
	if err != nil {
		return nil, false, fmt.Errorf("report: alerts: %w", err)
	}
	slices.SortFunc(recs, func(a, b *storev1.AlertRecord) int {
		return cmp.Or(cmp.Compare(a.GetStartUnixMs(), b.GetStartUnixMs()), strings.Compare(a.GetId(), b.GetId()))
	})
	if len(recs) > MaxAlerts {
		recs, truncated = recs[len(recs)-MaxAlerts:], true
	}
	alerts = make([]*managev1.ReportAlert, 0, len(recs))
	for _, r := range recs {
		end := r.GetEndUnixMs()
		if end == 0 {
			end = until
		}
		alerts = append(alerts, &managev1.ReportAlert{
			Id: r.GetId(), Rule: r.GetRule(), Kind: r.GetRuleKind(), AgentId: r.GetAgent(), Host: r.GetHost(),
			// A check's alert is about its id; the report shows its name.
			Item:    cmp.Or(r.GetItemLabel(), r.GetItem()),
			Summary: r.GetSummary(), StartUnixMs: r.GetStartUnixMs(), EndUnixMs: r.GetEndUnixMs(),
			DurationSeconds: max(end-r.GetStartUnixMs(), 0) / 1000,
			AckedBy:         r.GetAckedBy(), AckedUnixMs: r.GetAckedUnixMs(), Notified: r.GetNotified(),
		})
	}
	return alerts, truncated, nil
}
