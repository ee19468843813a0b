package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/textproto"
	"time"

	"github.com/wneessen/go-mail"
)

// Mailer sends email through the configured SMTP relay (go-mail). It
// opens one connection per message: notifications are few, and a broken
// connection then never outlives one attempt.
type Mailer struct {
	cfg      SMTPConfig
	password string
	tls      *tls.Config
}

var _ Sender = (*Mailer)(nil)

// smtpTimeout bounds one SMTP conversation.
const smtpTimeout = 30 * time.Second

// NewMailer checks cfg and reads its password and CA files.
func NewMailer(cfg SMTPConfig) (*Mailer, error) {
	if errs := cfg.Validate("notify.smtp"); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	m := &Mailer{cfg: cfg}
	if cfg.PasswordFile != "" {
		p, err := readSecret("notify.smtp.password_file", cfg.PasswordFile)
		if err != nil {
			return nil, err
		}
		m.password = p
	}
	pool, err := certPool("notify.smtp.ca_file", cfg.CAFile)
	if err != nil {
		return nil, err
	}
	m.tls = &tls.Config{ServerName: cfg.Host, RootCAs: pool, MinVersion: tls.VersionTLS12}
	return m, nil
}

// Send implements Sender.
func (m *Mailer) Send(ctx context.Context, msg *Message) error {
	mm := mail.NewMsg()
	if err := mm.From(m.cfg.From); err != nil {
		return Permanent(fmt.Errorf("from %q: %w", m.cfg.From, err))
	}
	if err := mm.To(msg.Delivery.GetAddress()); err != nil {
		return Permanent(fmt.Errorf("invalid address %q: %w", msg.Delivery.GetAddress(), err))
	}
	mm.Subject(EmailSubject(msg.Notification))
	mm.SetMessageIDWithValue(messageID(msg.Notification.GetId(), msg.Delivery.GetContact()))
	mm.SetDateWithValue(msg.Now)
	mm.SetGenHeader("X-Vigil-Delivery", oneLine(msg.Key()))
	mm.SetGenHeader("Auto-Submitted", "auto-generated")
	mm.SetBodyString(mail.TypeTextPlain, EmailBody(msg.Notification))

	opts := []mail.Option{mail.WithPort(m.cfg.port()), mail.WithTimeout(smtpTimeout), mail.WithTLSConfig(m.tls)}
	switch m.cfg.TLS {
	case TLSImplicit:
		opts = append(opts, mail.WithSSL())
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if m.cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(m.cfg.Username), mail.WithPassword(m.password))
	}
	c, err := mail.NewClient(m.cfg.Host, opts...)
	if err != nil {
		return Permanent(fmt.Errorf("smtp client: %w", err))
	}
	return smtpError(c.DialAndSendWithContext(ctx, mm))
}

// smtpError marks 5xx replies permanent (a bad recipient, a refused
// password); 4xx replies and network errors are retried.
func smtpError(err error) error {
	if err == nil {
		return nil
	}
	code := 0
	var se *mail.SendError
	var te *textproto.Error
	switch {
	case errors.As(err, &te):
		code = te.Code
	case errors.As(err, &se):
		code = se.ErrorCode()
	}
	err = fmt.Errorf("smtp: %w", err)
	if code >= 500 && code < 600 {
		return Permanent(err)
	}
	return err
}
