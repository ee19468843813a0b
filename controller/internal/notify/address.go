package notify

import (
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strings"

	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Limits of contact addresses.
const (
	MaxEmail = 254
	MaxURL   = 2048
)

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// CheckEmail checks a bare email address such as ops@example.com.
func CheckEmail(addr string) error {
	if len(addr) > MaxEmail {
		return fmt.Errorf("%d bytes, at most %d", len(addr), MaxEmail)
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Address != addr || a.Name != "" {
		return fmt.Errorf("%q is not a bare email address such as ops@example.com", addr)
	}
	return nil
}

// CheckPhone checks an E.164 phone number: + then 7 to 15 digits.
func CheckPhone(number string) error {
	if !e164.MatchString(number) {
		return fmt.Errorf("%q is not an E.164 number: + then the country code and number, 7 to 15 digits, such as +33612345678", number)
	}
	return nil
}

// CheckURL checks a webhook URL: http or https, with a host, no user
// name or password (put credentials in the path as chat services do).
func CheckURL(raw string) error {
	if len(raw) > MaxURL {
		return fmt.Errorf("%d bytes, at most %d", len(raw), MaxURL)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a URL: %v", raw, err)
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("%q: want an http or https URL", raw)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("%q has no host", raw)
	case u.User != nil:
		return fmt.Errorf("%q has a user name or password; they would show in every listing", raw)
	case strings.ContainsAny(raw, " \t\r\n"):
		return fmt.Errorf("%q has spaces", raw)
	}
	return nil
}

// CheckAddress checks addr for a contact of kind k.
func CheckAddress(k storev1.ContactKind, addr string) error {
	switch k {
	case storev1.ContactKind_CONTACT_KIND_EMAIL:
		return CheckEmail(addr)
	case storev1.ContactKind_CONTACT_KIND_SMS:
		return CheckPhone(addr)
	case storev1.ContactKind_CONTACT_KIND_WEBHOOK:
		return CheckURL(addr)
	}
	return fmt.Errorf("contact kind %d unknown", k)
}
