package notify_test

import (
	"strings"
	"testing"

	"github.com/vigil-rmm/vigil/controller/internal/notify"
)

// fieldsOf lists, in order, the "prefix.field" each of errs starts with.
func fieldsOf(errs []error) string {
	var out []string
	for _, err := range errs {
		f, _, _ := strings.Cut(err.Error(), ":")
		out = append(out, f)
	}
	return strings.Join(out, ",")
}

// TestSMTPConfigValidate: every bad field of notify.smtp is named, and
// plain text is refused unless the relay is on loopback.
func TestSMTPConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  notify.SMTPConfig
		want string
	}{
		{notify.SMTPConfig{Host: "smtp.example.com", From: "vigil@msp.example"}, ""},
		{notify.SMTPConfig{Host: "127.0.0.1", From: "vigil@msp.example", TLS: notify.TLSNone}, ""},
		{notify.SMTPConfig{Host: "localhost", Port: 2525, From: "vigil@msp.example", TLS: notify.TLSNone, Username: "u", PasswordFile: "/pw"}, ""},
		{notify.SMTPConfig{}, "notify.smtp.host,notify.smtp.from"},
		{notify.SMTPConfig{Host: "smtp.example.com:587", Port: 70000, From: "not an address"}, "notify.smtp.host,notify.smtp.port,notify.smtp.from"},
		{notify.SMTPConfig{Host: "smtp.example.com", From: "vigil@msp.example", TLS: notify.TLSNone}, "notify.smtp.tls"},
		{notify.SMTPConfig{Host: "smtp.example.com", From: "vigil@msp.example", TLS: "ssl"}, "notify.smtp.tls"},
		{notify.SMTPConfig{Host: "smtp.example.com", From: "vigil@msp.example", Username: "u"}, "notify.smtp.password_file"},
	} {
		if got := fieldsOf(tc.cfg.Validate("notify.smtp")); got != tc.want {
			t.Errorf("%+v: errors on %q, want %q", tc.cfg, got, tc.want)
		}
	}
}

// TestSMSConfigValidate: every bad field of notify.sms is named, and
// plain http is refused unless the provider is on loopback.
func TestSMSConfigValidate(t *testing.T) {
	good := notify.SMSConfig{AccountSID: "AC0123", AuthTokenFile: "/token", From: "+15005550006"}
	with := func(f func(*notify.SMSConfig)) notify.SMSConfig {
		c := good
		f(&c)
		return c
	}
	for _, tc := range []struct {
		cfg  notify.SMSConfig
		want string
	}{
		{good, ""},
		{with(func(c *notify.SMSConfig) { c.URL = notify.DefaultSMSURL }), ""},
		{with(func(c *notify.SMSConfig) { c.URL = "http://127.0.0.1:8080" }), ""},
		{with(func(c *notify.SMSConfig) { c.URL = "http://sms.example.com" }), "notify.sms.url"},
		{with(func(c *notify.SMSConfig) { c.URL = "ftp://sms.example.com" }), "notify.sms.url"},
		{with(func(c *notify.SMSConfig) { c.AccountSID = "AC/../x" }), "notify.sms.account_sid"},
		{notify.SMSConfig{}, "notify.sms.account_sid,notify.sms.auth_token_file,notify.sms.from"},
	} {
		if got := fieldsOf(tc.cfg.Validate("notify.sms")); got != tc.want {
			t.Errorf("%+v: errors on %q, want %q", tc.cfg, got, tc.want)
		}
	}
}
