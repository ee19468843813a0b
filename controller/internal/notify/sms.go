package notify

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
)

// SMS sends text messages through a Twilio-compatible Messages API.
type SMS struct {
	endpoint string
	sid      string
	token    string
	from     string
	client   *http.Client
}

var _ Sender = (*SMS)(nil)

// NewSMS checks cfg and reads its token and CA files.
func NewSMS(cfg SMSConfig) (*SMS, error) {
	if errs := cfg.Validate("notify.sms"); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	token, err := readSecret("notify.sms.auth_token_file", cfg.AuthTokenFile)
	if err != nil {
		return nil, err
	}
	pool, err := certPool("notify.sms.ca_file", cfg.CAFile)
	if err != nil {
		return nil, err
	}
	base := strings.TrimRight(cfg.URL, "/")
	if base == "" {
		base = DefaultSMSURL
	}
	tr := &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: WebhookTimeout, MaxIdleConns: 4}
	return &SMS{
		endpoint: base + "/2010-04-01/Accounts/" + url.PathEscape(cfg.AccountSID) + "/Messages.json",
		sid:      cfg.AccountSID, token: token, from: cfg.From,
		client: &http.Client{Transport: tr, Timeout: WebhookTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}, nil
}

// CloseIdleConnections closes kept-alive connections.
func (s *SMS) CloseIdleConnections() { s.client.CloseIdleConnections() }

// twilioError is the provider's error document.
type twilioError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Send implements Sender. An error after the request left (a timeout
// waiting for the answer) and a 5xx answer wrap ErrOutcomeUnknown: the
// provider may have taken the message (a gateway failing after its
// upstream accepted it answers 5xx too), and an SMS is never sent twice.
// Only a 3xx or 4xx answer is a clear refusal: the message was not sent.
func (s *SMS) Send(ctx context.Context, m *Message) error {
	form := url.Values{"To": {m.Delivery.GetAddress()}, "From": {s.from}, "Body": {SMSBody(m.Notification)}}
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) }})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return Permanent(fmt.Errorf("sms: %w", err))
	}
	req.SetBasicAuth(s.sid, s.token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		// The URL carries no secret (basic auth is a header), but the
		// provider's host says nothing useful either: keep the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if wrote.Load() {
			return fmt.Errorf("sms: %w: %w", ErrOutcomeUnknown, err)
		}
		return fmt.Errorf("sms: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	err = httpStatus("sms", resp)
	if err == nil {
		// A 2xx: the provider took the message.
		return nil
	}
	if resp.StatusCode >= 500 {
		err = fmt.Errorf("sms: %w: HTTP %d after the message was sent", ErrOutcomeUnknown, resp.StatusCode)
	}
	var te twilioError
	if json.Unmarshal(b, &te) == nil && (te.Code != 0 || te.Message != "") {
		err = fmt.Errorf("%w: provider error %d: %s", err, te.Code, truncateBytes(oneLine(te.Message), 300))
	}
	return err
}
