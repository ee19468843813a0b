package notify

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"strings"
)

// SMTPConfig is the "notify.smtp" section: the relay email goes through.
type SMTPConfig struct {
	// Host is the relay's host name (required).
	Host string `json:"host"`
	// Port defaults to 587, or 465 with TLS "tls".
	Port int `json:"port"`
	// Username, if set, authenticates with AUTH PLAIN (over TLS only).
	Username string `json:"username"`
	// PasswordFile holds the password, read at start. The password itself
	// never appears in the configuration file nor in a log line.
	PasswordFile string `json:"password_file"`
	// From is the sender address (required).
	From string `json:"from"`
	// TLS is "starttls" (the default; STARTTLS is required), "tls"
	// (implicit TLS, port 465) or "none" (plain text, loopback hosts only).
	TLS string `json:"tls"`
	// CAFile is a PEM bundle of CAs to trust besides the system's (a
	// private relay's CA).
	CAFile string `json:"ca_file"`
}

// TLS modes of SMTPConfig.TLS.
const (
	TLSStartTLS = "starttls"
	TLSImplicit = "tls"
	TLSNone     = "none"
)

// Validate names every bad field, under prefix (e.g. "notify.smtp").
func (c *SMTPConfig) Validate(prefix string) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, field, fmt.Sprintf(format, args...)))
	}
	if c.Host == "" || strings.ContainsAny(c.Host, " /:") {
		bad("host", "%q: want the relay's host name, such as smtp.example.com", c.Host)
	}
	if c.Port < 0 || c.Port > 65535 {
		bad("port", "%d: want 1 to 65535 (0: 587, or 465 with tls \"tls\")", c.Port)
	}
	if c.From == "" {
		bad("from", "required: the sender address, such as vigil@msp.example")
	} else if _, err := mail.ParseAddress(c.From); err != nil {
		bad("from", "%q is not an email address: %v", c.From, err)
	}
	switch c.TLS {
	case "", TLSStartTLS, TLSImplicit:
	case TLSNone:
		if !isLoopbackHost(c.Host) {
			bad("tls", "\"none\" sends the password and the mail in clear: allowed only for a loopback host, %q is not one", c.Host)
		}
	default:
		bad("tls", "%q: want starttls, tls or none", c.TLS)
	}
	if c.Username != "" && c.PasswordFile == "" {
		bad("password_file", "required with username: a file holding the password")
	}
	return errs
}

// port is the port to dial.
func (c *SMTPConfig) port() int {
	switch {
	case c.Port != 0:
		return c.Port
	case c.TLS == TLSImplicit:
		return 465
	default:
		return 587
	}
}

// SMSConfig is the "notify.sms" section: a Twilio-compatible provider.
type SMSConfig struct {
	// URL is the API's base URL (default https://api.twilio.com).
	URL string `json:"url"`
	// AccountSID is the account id (required).
	AccountSID string `json:"account_sid"`
	// AuthTokenFile holds the auth token, read at start (required).
	AuthTokenFile string `json:"auth_token_file"`
	// From is the sender number or messaging service id (required).
	From string `json:"from"`
	// CAFile is a PEM bundle of CAs to trust besides the system's.
	CAFile string `json:"ca_file"`
}

// DefaultSMSURL is Twilio's API.
const DefaultSMSURL = "https://api.twilio.com"

// Validate names every bad field, under prefix (e.g. "notify.sms").
func (c *SMSConfig) Validate(prefix string) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, field, fmt.Sprintf(format, args...)))
	}
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			bad("url", "%q: want an http(s) URL such as %s", c.URL, DefaultSMSURL)
		case u.Scheme == "http" && !isLoopbackHost(u.Hostname()):
			bad("url", "%q: plain http is allowed only for a loopback host; use https", c.URL)
		}
	}
	if c.AccountSID == "" || strings.ContainsAny(c.AccountSID, "/?#% ") {
		bad("account_sid", "%q: want the provider's account id", c.AccountSID)
	}
	if c.AuthTokenFile == "" {
		bad("auth_token_file", "required: a file holding the auth token")
	}
	if c.From == "" {
		bad("from", "required: the sender number (+E.164) or messaging service id")
	}
	return errs
}

// WebhookConfig is the "notify.webhook" section.
type WebhookConfig struct {
	// CAFile is a PEM bundle of CAs to trust besides the system's (for
	// receivers behind a private CA).
	CAFile string `json:"ca_file"`
	// AllowPrivateNetworks lets webhooks reach loopback, private and
	// link-local addresses. Off by default: client approvers create
	// webhooks, and the controller must not become their way into the
	// MSP's own network.
	AllowPrivateNetworks bool `json:"allow_private_networks"`
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// readSecret reads a password or token file: one line, whitespace trimmed.
func readSecret(field, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", field, err)
	}
	if len(b) > 4096 {
		return "", fmt.Errorf("%s: %s: %d bytes; want one line holding the secret", field, path, len(b))
	}
	s := strings.TrimSpace(string(b))
	if s == "" || strings.ContainsAny(s, "\r\n") {
		return "", fmt.Errorf("%s: %s: want one non-empty line holding the secret", field, path)
	}
	return s, nil
}

// certPool is the system pool plus the PEM certificates in caFile.
func certPool(field, caFile string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if caFile == "" {
		return pool, nil
	}
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: %s: %w", field, caFile, errors.New("no PEM certificate found"))
	}
	return pool, nil
}
