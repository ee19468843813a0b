package server

import (
	"fmt"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/checker"
	"github.com/vigil-rmm/vigil/controller/internal/manageapi"
	"github.com/vigil-rmm/vigil/internal/duration"
)

// ChecksConfig is the "checks" section of the controller config. Zero
// values mean the defaults.
type ChecksConfig struct {
	// Workers is how many checks run at once (default 16). When the
	// checks need more, intervals stretch; `vigilctl check list` shows
	// it.
	Workers int `json:"workers"`
	// Retention is how long check results are kept (default 10d); a
	// check's own retention_days overrides it.
	Retention duration.Duration `json:"retention"`
	// MaxChecks caps each tenant's checks (default 1000).
	MaxChecks int `json:"max_checks"`
}

// Limits of ChecksConfig.
const (
	maxCheckWorkers = 1024
	maxChecksLimit  = 100000
)

// validate names every bad field.
func (c ChecksConfig) validate() []error {
	var errs []error
	if outside(c.Workers, 1, maxCheckWorkers) {
		errs = append(errs, fmt.Errorf("checks.workers: %d: want 1 to %d (0: %d)", c.Workers, maxCheckWorkers, checker.DefaultWorkers))
	}
	if r := time.Duration(c.Retention); outside(r, 24*time.Hour, checker.MaxRetentionDays*24*time.Hour) {
		errs = append(errs, fmt.Errorf("checks.retention: %s: want 1d to %dd", r, checker.MaxRetentionDays))
	}
	if outside(c.MaxChecks, 1, maxChecksLimit) {
		errs = append(errs, fmt.Errorf("checks.max_checks: %d: want 1 to %d (0: %d)", c.MaxChecks, maxChecksLimit, manageapi.DefaultMaxChecks))
	}
	return errs
}

// wireChecks builds the checks components, adds their background loops to
// s.runners and their dependencies to the manage API's config.
func (s *Server) wireChecks(mcfg *manageapi.Config) error {
	r := checker.New(checker.Config{
		Store:     s.store,
		Agents:    s.agentProbe,
		Workers:   s.cfg.Checks.Workers,
		Retention: time.Duration(s.cfg.Checks.Retention),
		Wake:      s.wakeNotify,
		Logger:    s.logger,
	})
	s.runners = append(s.runners, r.Run)
	mcfg.Checks = manageapi.CheckDeps{Runner: r, MaxPerTenant: s.cfg.Checks.MaxChecks, Retention: r.Retention()}
	return nil
}
