package server

import (
	"fmt"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/alerting"
	"github.com/vigil-rmm/vigil/controller/internal/manageapi"
	"github.com/vigil-rmm/vigil/internal/duration"
)

// AlertsConfig is the "alerts" section of the controller config. Zero
// values mean the defaults.
type AlertsConfig struct {
	// Interval is the time between alert evaluations (default 1m, 10s to
	// 10m). Every evaluation reads every sample since the previous one, so
	// a longer interval delays notices but misses nothing.
	Interval duration.Duration `json:"interval"`
	// VerifyGrace is how long after a maintenance ends its verification
	// waits for the agent to be back before it fails (default 15m, 1m to
	// 24h).
	VerifyGrace duration.Duration `json:"verify_grace"`
	// Retention is how long closed alerts are kept (default 400 days, 30
	// days to 10 years); open alerts are never deleted.
	Retention duration.Duration `json:"retention"`
}

// validate names every bad field.
func (c AlertsConfig) validate() []error {
	var errs []error
	if d := time.Duration(c.Interval); outside(d, 10*time.Second, 10*time.Minute) {
		errs = append(errs, fmt.Errorf("alerts.interval: %s: want 10s to 10m (default 1m)", d))
	}
	if d := time.Duration(c.VerifyGrace); outside(d, time.Minute, 24*time.Hour) {
		errs = append(errs, fmt.Errorf("alerts.verify_grace: %s: want 1m to 24h (default 15m)", d))
	}
	if d := time.Duration(c.Retention); outside(d, 30*24*time.Hour, alertsMaxRetention) {
		errs = append(errs, fmt.Errorf("alerts.retention: %s: want 720h (30 days) to 87600h (10 years) (default 9600h, 400 days)", d))
	}
	return errs
}

const alertsMaxRetention = 10 * 365 * 24 * time.Hour

// wireAlerts builds the alert engine, adds it to s.runners and gives the
// manage API a way to nudge it.
func (s *Server) wireAlerts(cfg *manageapi.Config) error {
	eng := alerting.New(alerting.Config{
		Store: s.store, Metrics: s.metrics, Presence: s.fleet, Wake: s.wakeNotify, Logger: s.logger,
		Interval: time.Duration(s.cfg.Alerts.Interval), VerifyGrace: time.Duration(s.cfg.Alerts.VerifyGrace),
		Retention: time.Duration(s.cfg.Alerts.Retention),
	})
	s.runners = append(s.runners, eng.Run)
	cfg.Alerts = manageapi.AlertDeps{Nudge: eng.Nudge}
	return nil
}
