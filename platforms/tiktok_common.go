package platforms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Shared plumbing of the two TikTok clients (creator and ads) and their
// goth providers. Unexported names carry a "tt" prefix: other platforms
// live in the same package.

const (
	ttDefaultAuthURL     = "https://www.tiktok.com"
	ttDefaultAPIURL      = "https://open.tiktokapis.com"
	ttDefaultBusinessURL = "https://business-api.tiktok.com"
	ttMaxBody            = 16 << 20
)

// ttCaller sends requests for one TikTok client: retries through Retry.Do,
// a fresh per-try timeout, and errors scrubbed of every secret it knows.
type ttCaller struct {
	platform string
	http     HTTPDoer
	timeout  time.Duration
	retry    Retry
	secrets  []string // app secrets; tokens are added per request
	now      func() time.Time
	logger   *slog.Logger
	debug    bool
}

func newTTCaller(platform string, s Settings, secrets ...string) *ttCaller {
	timeout := s.CallTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	var doer HTTPDoer = &http.Client{Timeout: timeout}
	if s.HTTPClient != nil {
		doer = s.HTTPClient
	}
	retry := s.Retry
	if retry.Attempts == 0 && retry.Base == 0 && retry.Max == 0 {
		retry = Retry{Attempts: DefaultRetry.Attempts, Base: DefaultRetry.Base, Max: DefaultRetry.Max, Sleep: s.Retry.Sleep}
	}
	return &ttCaller{platform: platform, http: doer, timeout: timeout, retry: retry, secrets: secrets,
		now: ttNow(s), logger: s.Logger}
}

// ttRequest is rebuilt on every try because a body can be read only once.
type ttRequest struct {
	method string
	url    string
	header http.Header
	body   []byte
	token  string // scrubbed from transport errors too
	// once: a single try. Code exchanges and refresh grants consume what
	// they send (a code, a rotating refresh token): a retry after a lost
	// answer would be refused and mistaken for a dead token.
	once bool
}

// ttCheck turns one response into nil (and decodes it) or an *Error.
type ttCheck func(status int, h http.Header, body []byte) error

func (c *ttCaller) do(ctx context.Context, r ttRequest, check ttCheck) error {
	retry := c.retry
	if r.once {
		retry.Attempts = 1
	}
	return retry.Do(ctx, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, c.timeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, r.method, r.url, bytes.NewReader(r.body))
		if err != nil {
			return &Error{Platform: c.platform, Kind: KindInvalidRequest, Message: "cannot build request"}
		}
		for k, v := range r.header {
			req.Header[k] = v
		}
		req.Header.Set("Accept", "application/json")
		resp, err := c.http.Do(req)
		if err != nil {
			return c.transportError(err, r.token)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, ttMaxBody))
		if err != nil {
			return c.transportError(err, r.token)
		}
		err = check(resp.StatusCode, resp.Header, body)
		var pe *Error
		if errors.As(err, &pe) { // platforms may echo what we sent
			pe.Message = ttScrub(pe.Message, append([]string{r.token}, c.secrets...))
		}
		if err != nil && c.debug && c.logger != nil {
			c.logger.Debug("tiktok call failed", "platform", c.platform, "method", r.method,
				"url", ttRedactURL(r.url), "status", resp.StatusCode, "kind", KindOf(err).String())
		}
		return err
	})
}

// transportError is KindTransient with no Message and an Err whose text
// holds no secret: *url.Error prints the whole URL, query included.
func (c *ttCaller) transportError(err error, token string) *Error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = &url.Error{Op: ue.Op, URL: ttRedactURL(ue.URL), Err: ue.Err}
	}
	secrets := append([]string{token}, c.secrets...)
	msg := err.Error()
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			err = errors.New(ttScrub(msg, secrets)) // drops the error chain along with the secret
			break
		}
	}
	return &Error{Platform: c.platform, Kind: KindTransient, Err: err}
}

func ttScrub(s string, secrets []string) string {
	for _, v := range secrets {
		if v != "" {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	return s
}

// ttRedactURL drops the query: advertiser/get carries the app secret there.
func ttRedactURL(raw string) string {
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		return raw[:i] + "?[redacted]"
	}
	return raw
}

// ttRetryAfter reads Retry-After as seconds or an HTTP date.
func ttRetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// ttStatusKind classifies an HTTP status when the body names no known code.
func ttStatusKind(status int) Kind {
	switch {
	case status == http.StatusTooManyRequests:
		return KindRateLimited
	case status >= 500:
		return KindTransient
	case status == http.StatusUnauthorized:
		return KindTokenInvalid
	case status == http.StatusForbidden:
		return KindPermission
	}
	return KindInvalidRequest
}

// ttString reads a JSON string or number as a string (TikTok sends ids and
// metrics as strings, but not always).
func ttString(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	v := strings.TrimSpace(string(raw))
	if v == "null" {
		return ""
	}
	return v
}

func ttBase(v, def string) string {
	if v == "" {
		v = def
	}
	return strings.TrimRight(v, "/")
}

func ttNow(s Settings) func() time.Time {
	if s.Now != nil {
		return s.Now
	}
	return time.Now
}

func ttSplitScopes(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

func ttMissing(pairs ...string) []string {
	var out []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.TrimSpace(pairs[i+1]) == "" {
			out = append(out, pairs[i])
		}
	}
	return out
}

// ttDisplayCheck reads the Display API envelope {"data":…,"error":{code,
// message,log_id}}. The code decides, not only the HTTP status; an absent
// error object with a 2xx status (revoke answers {}) is success.
func (c *ttCaller) displayCheck(out any) ttCheck {
	return func(status int, h http.Header, body []byte) error {
		var env struct {
			Data  json.RawMessage `json:"data"`
			Error *struct {
				Code    string `json:"code"`
				Message string `json:"message"`
				LogID   string `json:"log_id"`
			} `json:"error"`
		}
		jerr := json.Unmarshal(body, &env)
		code, msg, logID := "", "", ""
		if env.Error != nil {
			code, msg, logID = env.Error.Code, env.Error.Message, env.Error.LogID
		}
		if jerr == nil && status < 300 && (code == "" || code == "ok") {
			if out != nil && len(env.Data) > 0 {
				if err := json.Unmarshal(env.Data, out); err != nil {
					return &Error{Platform: c.platform, Kind: KindInvalidRequest, HTTPStatus: status, TraceID: logID, Message: "unreadable response data"}
				}
			}
			return nil
		}
		if code == "ok" {
			code = ""
		}
		kind := ttStatusKind(status)
		switch code {
		case "access_token_invalid":
			kind = KindTokenInvalid
		case "scope_not_authorized", "scope_permission_missed":
			kind = KindPermission
		case "invalid_params":
			kind = KindInvalidRequest
		case "rate_limit_exceeded":
			kind = KindRateLimited
		case "internal_error":
			kind = KindTransient
		}
		if jerr != nil && status < 300 {
			kind, msg = KindInvalidRequest, "unreadable response"
		}
		return c.newError(kind, code, msg, logID, status, h)
	}
}

// oauthCheck reads the Login Kit token endpoint: a flat success object or
// {"error","error_description","log_id"} (HTTP 200 or 4xx). invalid_grant
// means a bad code on exchange but a dead refresh token on refresh, so the
// caller says which Kind it is.
func (c *ttCaller) oauthCheck(out any, invalidGrant Kind) ttCheck {
	return func(status int, h http.Header, body []byte) error {
		var e struct {
			Error            json.RawMessage `json:"error"`
			ErrorDescription string          `json:"error_description"`
			LogID            string          `json:"log_id"`
		}
		jerr := json.Unmarshal(body, &e)
		if len(e.Error) > 0 && e.Error[0] == '{' { // Display API shape
			return c.displayCheck(nil)(status, h, body)
		}
		code := ttString(e.Error)
		if jerr == nil && status < 300 && code == "" {
			if out != nil {
				if err := json.Unmarshal(body, out); err != nil {
					return c.newError(KindInvalidRequest, "", "unreadable response", e.LogID, status, h)
				}
			}
			return nil
		}
		kind := ttStatusKind(status)
		if status == http.StatusUnauthorized {
			kind = KindInvalidRequest // 401 here means bad client credentials, not a user token
		}
		switch code {
		case "invalid_grant":
			kind = invalidGrant
		case "rate_limit_exceeded":
			kind = KindRateLimited
		case "server_error", "temporarily_unavailable", "internal_error":
			kind = KindTransient
		case "access_denied", "invalid_client", "invalid_request", "invalid_scope", "unauthorized_client", "unsupported_grant_type":
			kind = KindInvalidRequest
		}
		if jerr != nil && status < 300 {
			kind = KindInvalidRequest
		}
		return c.newError(kind, code, e.ErrorDescription, e.LogID, status, h)
	}
}

// adsCheck reads the Marketing API envelope {code,message,request_id,data};
// HTTP is usually 200 even on errors. Mapping (codes past 40105/40100 are
// unverified): 40104, 40105 token dead; 40100 or HTTP 429 throttled;
// 40001, 40002 permission; 50000 and up, or 5xx, transient; any other
// non-zero code is a bad request.
func (c *ttCaller) adsCheck(out any) ttCheck {
	return func(status int, h http.Header, body []byte) error {
		var env struct {
			Code      *int64          `json:"code"`
			Message   string          `json:"message"`
			RequestID string          `json:"request_id"`
			Data      json.RawMessage `json:"data"`
		}
		jerr := json.Unmarshal(body, &env)
		if jerr == nil && env.Code != nil && *env.Code == 0 && status < 300 {
			if out != nil && len(env.Data) > 0 && string(env.Data) != "null" {
				if err := json.Unmarshal(env.Data, out); err != nil {
					return c.newError(KindInvalidRequest, "", "unreadable response data", env.RequestID, status, h)
				}
			}
			return nil
		}
		kind, code := ttStatusKind(status), ""
		if jerr == nil && env.Code != nil && *env.Code != 0 {
			n := *env.Code
			code = strconv.FormatInt(n, 10)
			switch {
			case status == http.StatusTooManyRequests || n == 40100:
				kind = KindRateLimited
			case n == 40104 || n == 40105:
				kind = KindTokenInvalid
			case n == 40001 || n == 40002:
				kind = KindPermission
			case n >= 50000:
				kind = KindTransient
			default:
				kind = KindInvalidRequest
			}
		} else if status < 300 {
			kind, env.Message = KindInvalidRequest, "unreadable response"
		}
		return c.newError(kind, code, env.Message, env.RequestID, status, h)
	}
}

func (c *ttCaller) newError(kind Kind, code, msg, trace string, status int, h http.Header) *Error {
	if msg == "" && status >= 300 {
		msg = "HTTP " + strconv.Itoa(status)
	}
	e := &Error{Platform: c.platform, Kind: kind, Code: code, Message: msg, HTTPStatus: status, TraceID: trace}
	if kind == KindRateLimited {
		e.RetryAfter = ttRetryAfter(h, c.now())
	}
	return e
}

// ttDate is the calendar date of t as midnight UTC.
func ttDate(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// ttDecimal reads a metric string; "-" and "" (TikTok's "no value") are zero.
func ttDecimal(raw json.RawMessage) (decimal.Decimal, bool) {
	s := strings.TrimSpace(ttString(raw))
	if s == "" || s == "-" {
		return decimal.Zero, true
	}
	d, err := decimal.NewFromString(strings.ReplaceAll(s, ",", ""))
	return d, err == nil
}
