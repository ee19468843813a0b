package netcheck

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// MaxBody is how much of a response body the keyword is searched in.
const MaxBody = 1 << 20

// HTTP is an HTTP(S) check: one GET, redirects not followed.
type HTTP struct {
	// URL is an http:// or https:// URL.
	URL string
	// Status lists the expected status codes; empty means any 2xx or 3xx.
	// Redirects are not followed, so a 301 is what the server said.
	Status []int
	// Keyword, when set, must appear in the first MaxBody bytes of the
	// body (byte for byte, case-sensitive).
	Keyword string
	// MinCertDays, when positive, makes an HTTPS run NG when the
	// certificate expires in fewer whole days.
	MinCertDays int
	// TLS is the client TLS configuration; nil means the system roots.
	// Its ServerName is set from the URL when empty.
	TLS *tls.Config
	// Dialer opens connections; nil means a zero net.Dialer. Names are
	// resolved by the Dialer, as net.Dialer does.
	Dialer Dialer
}

var _ Probe = (*HTTP)(nil)

// Run makes one request on a fresh connection, never through a proxy.
func (p *HTTP) Run(ctx context.Context) Result {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	start := time.Now()
	u, err := url.Parse(p.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ended(start, ERR, fmt.Sprintf("URL %q is not an http:// or https:// URL", p.URL))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return ended(start, ERR, "request: "+err.Error())
	}
	req.Header.Set("User-Agent", "vigil-check")
	tr := &http.Transport{
		Proxy:             nil,
		DialContext:       dialerOr(p.Dialer).DialContext,
		TLSClientConfig:   p.TLS.Clone(),
		DisableKeepAlives: true,
		ForceAttemptHTTP2: true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		st, why := classifyHTTP(err)
		return ended(start, st, u.Host+": "+why)
	}
	defer resp.Body.Close()
	r := Result{Status: OK, At: start, Latency: time.Since(start)} // to the response headers
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		days := certDaysLeft(resp.TLS.PeerCertificates[0], time.Now())
		r.CertDaysLeft = &days
	}
	r.Status, r.Detail = p.judge(resp, r.CertDaysLeft)
	if r.Status == WR {
		r.Latency = time.Since(start)
	}
	return r
}

// judge checks the status code, the keyword and the certificate, in that
// order, and says what it found.
func (p *HTTP) judge(resp *http.Response, certDays *int) (Status, string) {
	if !p.statusOK(resp.StatusCode) {
		return NG, "unexpected status " + resp.Status
	}
	detail := resp.Status
	if p.Keyword != "" {
		found, err := containsLimited(resp.Body, []byte(p.Keyword), MaxBody)
		if err != nil {
			st, why := classifyHTTP(err)
			if st == OK || st == ERR {
				st = NG
			}
			return st, "reading the body: " + why
		}
		if !found {
			return NG, fmt.Sprintf("%s; keyword %q not in the first %d bytes", resp.Status, p.Keyword, MaxBody)
		}
		detail += fmt.Sprintf("; keyword %q found", p.Keyword)
	}
	if certDays != nil {
		if p.MinCertDays > 0 && *certDays < p.MinCertDays {
			return NG, fmt.Sprintf("%s; certificate expires in %d days (minimum %d)", detail, *certDays, p.MinCertDays)
		}
		detail += fmt.Sprintf("; certificate expires in %d days", *certDays)
	}
	return OK, detail
}

func (p *HTTP) statusOK(code int) bool {
	if len(p.Status) == 0 {
		return code >= 200 && code < 400
	}
	return slices.Contains(p.Status, code)
}

// containsLimited reports whether the first limit bytes of r contain
// kw. A keyword straddling two reads is found.
func containsLimited(r io.Reader, kw []byte, limit int64) (bool, error) {
	body, err := io.ReadAll(io.LimitReader(r, limit))
	if bytes.Contains(body, kw) {
		return true, nil
	}
	return false, err
}

// certDaysLeft is the whole days from now until c expires, rounded
// down; negative once it has expired.
func certDaysLeft(c *x509.Certificate, now time.Time) int {
	d := c.NotAfter.Sub(now)
	days := int(d / (24 * time.Hour))
	if d < 0 && d%(24*time.Hour) != 0 {
		days--
	}
	return days
}

// classifyHTTP is Classify with the TLS rows: a handshake the server or
// its certificate failed is a negative reply, NG.
func classifyHTTP(err error) (Status, string) {
	var (
		unknownCA x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
		hostname  x509.HostnameError
		verify    *tls.CertificateVerificationError
		alert     tls.AlertError
		recordHdr tls.RecordHeaderError
		dnsErr    *net.DNSError
	)
	switch {
	case errors.As(err, &dnsErr):
		return Classify(err)
	case errors.As(err, &unknownCA), errors.As(err, &invalid), errors.As(err, &hostname),
		errors.As(err, &verify), errors.As(err, &alert), errors.As(err, &recordHdr):
		return NG, "TLS handshake: " + unwrapURL(err).Error()
	}
	if st, why, ok := classifyKnown(err); ok {
		return st, why
	}
	// No socket error: the server answered, wrongly (it closed the
	// connection, sent a malformed response, broke the protocol).
	if !errors.As(err, new(*net.OpError)) {
		return NG, "bad response: " + unwrapURL(err).Error()
	}
	return Classify(err)
}

// unwrapURL drops the "Get "https://...": " prefix a *url.Error adds.
func unwrapURL(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}
