package server

import (
	"fmt"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/manageapi"
	"github.com/vigil-rmm/vigil/controller/internal/notify"
	"github.com/vigil-rmm/vigil/internal/duration"
)

// NotifyConfig is the "notify" section of the controller config
// (docs/notifications.md). Zero values mean the defaults.
type NotifyConfig struct {
	// Workers bounds concurrent sends (default 4).
	Workers int `json:"workers"`
	// MaxAttempts bounds the attempts of one delivery (default 10).
	MaxAttempts int `json:"max_attempts"`
	// MaxAge is how long after its first attempt a delivery is retried
	// (default 24h).
	MaxAge duration.Duration `json:"max_age"`
	// RetryBase is the delay before the first retry of a failed delivery
	// (default 30s, 1s to 10m); each next one doubles, up to 30m.
	RetryBase duration.Duration `json:"retry_base"`
	// Retention is how long a notification is kept after its last delivery
	// is final (default 30 days, 1h to 365 days).
	Retention duration.Duration `json:"retention"`
	// SMTP is the relay email goes through; without it email deliveries
	// fail ("not configured").
	SMTP *notify.SMTPConfig `json:"smtp"`
	// SMS is the Twilio-compatible provider; without it SMS deliveries
	// fail ("not configured").
	SMS *notify.SMSConfig `json:"sms"`
	// Webhook adjusts webhook delivery.
	Webhook notify.WebhookConfig `json:"webhook"`
}

// validate names every bad field.
func (c NotifyConfig) validate() []error {
	var errs []error
	if outside(c.Workers, 1, 64) {
		errs = append(errs, fmt.Errorf("notify.workers: %d: want 1 to 64 (0: %d)", c.Workers, notify.DefaultWorkers))
	}
	if outside(c.MaxAttempts, 1, 100) {
		errs = append(errs, fmt.Errorf("notify.max_attempts: %d: want 1 to 100 (0: %d)", c.MaxAttempts, notify.DefaultMaxAttempts))
	}
	if d := time.Duration(c.MaxAge); outside(d, time.Minute, 7*24*time.Hour) {
		errs = append(errs, fmt.Errorf("notify.max_age: %s: want 1m to 168h (0: %s)", d, notify.DefaultMaxAge))
	}
	if d := time.Duration(c.RetryBase); outside(d, time.Second, 10*time.Minute) {
		errs = append(errs, fmt.Errorf("notify.retry_base: %s: want 1s to 10m (0: %s)", d, notify.DefaultBackoffBase))
	}
	if d := time.Duration(c.Retention); outside(d, time.Hour, 365*24*time.Hour) {
		errs = append(errs, fmt.Errorf("notify.retention: %s: want 1h to 8760h (0: %s)", d, notify.DefaultRetention))
	}
	if c.SMTP != nil {
		errs = append(errs, c.SMTP.Validate("notify.smtp")...)
	}
	if c.SMS != nil {
		errs = append(errs, c.SMS.Validate("notify.sms")...)
	}
	return errs
}

// wireNotify builds the notification dispatcher (reading the SMTP password
// and SMS token files), adds its loop to s.runners and its wake function
// to the server and the manage API.
func (s *Server) wireNotify(mcfg *manageapi.Config) error {
	c := s.cfg.Notify
	o := notify.Options{Store: s.store, Logger: s.logger, Workers: c.Workers, MaxAttempts: c.MaxAttempts, MaxAge: time.Duration(c.MaxAge),
		BackoffBase: time.Duration(c.RetryBase), Retention: time.Duration(c.Retention)}
	if c.SMTP != nil {
		m, err := notify.NewMailer(*c.SMTP)
		if err != nil {
			return err
		}
		o.Email = m
	}
	if c.SMS != nil {
		sms, err := notify.NewSMS(*c.SMS)
		if err != nil {
			return err
		}
		o.SMS = sms
	}
	wh, err := notify.NewWebhooks(c.Webhook)
	if err != nil {
		return err
	}
	o.Webhook = wh
	d := notify.New(o)
	s.runners = append(s.runners, d.Run)
	s.notifyWake = d.Wake
	mcfg.Notify = manageapi.NotifyDeps{Wake: d.Wake}
	return nil
}
