package server

import (
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/manageapi"
	"github.com/vigil-rmm/vigil/controller/internal/report"
)

// wireReport builds the report generator. Reports are built on request
// and have no background loop; a period may reach back as far as the
// metrics retention (the "retention" key), so the generator is told it.
func (s *Server) wireReport(cfg *manageapi.Config) error {
	cfg.Report = manageapi.ReportDeps{Reports: report.New(report.Options{
		Store:     s.store,
		Metrics:   s.metrics,
		Retention: time.Duration(s.cfg.Retention),
		Logger:    s.logger,
	})}
	return nil
}
