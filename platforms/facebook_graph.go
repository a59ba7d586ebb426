package platforms

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// fbReq is one Graph API call.
type fbReq struct {
	method string     // GET, POST or DELETE
	path   string     // "me/adaccounts" (the version is added), or an absolute paging.next URL
	params url.Values // query for GET/DELETE, form body for POST
	token  string     // access token; "" for calls that carry none
	scope  string     // the account the call acts for (usage gate); "" = app-wide
}

// fbErrorBody is Facebook's error body.
type fbErrorBody struct {
	Error *struct {
		Message   string `json:"message"`
		Type      string `json:"type"`
		Code      int    `json:"code"`
		Subcode   int    `json:"error_subcode"`
		FBTraceID string `json:"fbtrace_id"`
	} `json:"error"`
}

// do runs one call with retries. The usage gate is checked first and outside
// the retry loop: a paused account is rescheduled by the caller, not waited for.
func (f *FacebookClient) do(ctx context.Context, r fbReq, out any) error {
	if err := f.gate.check(r.scope, f.now()); err != nil {
		return err
	}
	return f.retry.Do(ctx, func(ctx context.Context) error { return f.once(ctx, r, out) })
}

// once makes exactly one HTTP request, bounded by CallTimeout.
func (f *FacebookClient) once(ctx context.Context, r fbReq, out any) error {
	ctx, cancel := context.WithTimeout(ctx, f.s.CallTimeout)
	defer cancel()
	u, params, err := f.graphURL(r.path)
	if err != nil {
		return err
	}
	for k, v := range r.params {
		params[k] = v
	}
	if r.token != "" {
		params.Set("access_token", r.token)
		params.Set("appsecret_proof", f.proof(r.token))
	}
	var body io.Reader
	if r.method == http.MethodPost {
		body = strings.NewReader(params.Encode())
	} else {
		u.RawQuery = params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return &Error{Platform: Facebook, Kind: KindInvalidRequest, Message: "cannot build request", Err: fbRedactURL(err)}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := f.http.Do(req)
	if err != nil {
		// Network errors and timeouts; the URL (which carries the token) is redacted.
		return &Error{Platform: Facebook, Kind: KindTransient, Err: fbRedactURL(err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return &Error{Platform: Facebook, Kind: KindTransient, HTTPStatus: resp.StatusCode, Err: fbRedactURL(err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// Whatever secret the request carried must not come back in a message.
		secrets := []string{r.token, params.Get("input_token"), params.Get("fb_exchange_token"), params.Get("client_secret")}
		return fbFailure(resp.StatusCode, resp.Header, data, secrets...)
	}
	f.gate.observe(r.scope, resp.Header, f.now())
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		// A truncated or mangled 2xx body is most likely a proxy hiccup.
		return &Error{Platform: Facebook, Kind: KindTransient, HTTPStatus: resp.StatusCode, Message: "malformed response body", Err: err}
	}
	return nil
}

// graphURL builds {GraphURL}/{GraphVersion}/path, or validates an absolute
// paging URL: a token is only ever sent to the configured Graph host, and
// the token parameters Facebook echoes in paging.next are replaced by ours.
func (f *FacebookClient) graphURL(path string) (*url.URL, url.Values, error) {
	base := *f.graph
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		base.Path = strings.TrimRight(base.Path, "/") + "/" + f.s.GraphVersion + "/" + strings.TrimLeft(path, "/")
		base.RawQuery = ""
		return &base, url.Values{}, nil
	}
	u, err := url.Parse(path)
	if err != nil || u.Scheme != base.Scheme || u.Host != base.Host {
		return nil, nil, &Error{Platform: Facebook, Kind: KindInvalidRequest, Message: "paging link points outside the Graph API"}
	}
	q := u.Query()
	q.Del("access_token")
	q.Del("appsecret_proof")
	u.RawQuery = ""
	return u, q, nil
}

// proof is appsecret_proof: hex HMAC-SHA256 of the token keyed by the app secret.
func (f *FacebookClient) proof(token string) string {
	m := hmac.New(sha256.New, []byte(f.s.FacebookAppSecret))
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}

// fbFailure maps a non-2xx answer to an *Error: the one place that knows
// Facebook's error codes.
func fbFailure(status int, h http.Header, body []byte, secrets ...string) *Error {
	e := &Error{Platform: Facebook, HTTPStatus: status}
	var ge fbErrorBody
	if json.Unmarshal(body, &ge) == nil && ge.Error != nil {
		g := ge.Error
		e.Code = strconv.Itoa(g.Code)
		if g.Subcode != 0 {
			e.Subcode = strconv.Itoa(g.Subcode)
		}
		e.Message = fbRedactToken(g.Message, secrets...)
		e.TraceID = g.FBTraceID
		e.Kind = fbKind(g.Code, g.Subcode)
	} else {
		e.Message = fmt.Sprintf("unexpected HTTP status %d", status)
		switch {
		case status >= 500:
			e.Kind = KindTransient
		case status == http.StatusUnauthorized:
			e.Kind = KindTokenInvalid
		default:
			e.Kind = KindInvalidRequest
		}
	}
	if status == http.StatusTooManyRequests {
		e.Kind = KindRateLimited
	}
	if e.Kind == KindRateLimited {
		e.RetryAfter = fbRetryAfter(h)
	}
	return e
}

// fbKind classifies Graph error codes (see the reference notes).
func fbKind(code, sub int) Kind {
	switch {
	case code == 190 || code == 102:
		return KindTokenInvalid
	case code == 10 || (code >= 200 && code <= 299):
		return KindPermission
	case code == 4 || code == 17 || code == 32 || code == 613 || (code >= 80000 && code <= 80014):
		return KindRateLimited
	case (code == 100 && sub == 1504018) || (code == 2 && sub == 1504038):
		return KindTooLarge
	case code == 1 || code == 2:
		return KindTransient
	}
	return KindInvalidRequest // 100, 368 and everything else: retrying cannot help
}

// fbRetryAfter prefers the Retry-After header, then the regain times of the
// usage headers.
func fbRetryAfter(h http.Header) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(time.Until(t), 0)
		}
	}
	_, regain := fbParseUsage(h)
	return regain
}

// fbParseUsage reads the usage headers: the highest percentage of any budget
// and the longest announced wait until access is regained.
func fbParseUsage(h http.Header) (pct float64, regain time.Duration) {
	var app map[string]float64
	if json.Unmarshal([]byte(h.Get("X-App-Usage")), &app) == nil {
		for _, v := range app {
			pct = max(pct, v)
		}
	}
	var buc map[string][]map[string]any
	if json.Unmarshal([]byte(h.Get("X-Business-Use-Case-Usage")), &buc) == nil {
		for _, entries := range buc {
			for _, e := range entries {
				for _, k := range []string{"call_count", "total_cputime", "total_time"} {
					pct = max(pct, fbNum(e[k]))
				}
				regain = max(regain, time.Duration(fbNum(e["estimated_time_to_regain_access"])*float64(time.Minute)))
			}
		}
	}
	var acc map[string]any
	if json.Unmarshal([]byte(h.Get("X-Ad-Account-Usage")), &acc) == nil {
		pct = max(pct, fbNum(acc["acc_id_util_pct"]))
		regain = max(regain, time.Duration(fbNum(acc["reset_time_duration"])*float64(time.Second)))
	}
	return pct, regain
}

func fbNum(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case string:
		f, _ := strconv.ParseFloat(n, 64)
		return f
	}
	return 0
}

// fbRedactURL drops the query (access_token, client_secret, …) from the URL
// net/http puts in its error messages.
func fbRedactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		u := ue.URL
		if i := strings.IndexByte(u, '?'); i >= 0 {
			u = u[:i] + "?[redacted]"
		}
		return &url.Error{Op: ue.Op, URL: u, Err: ue.Err}
	}
	return err
}

// fbRedactToken removes tokens and secrets from a platform message, just in case.
func fbRedactToken(msg string, secrets ...string) string {
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	return msg
}

// fbPage is one page of a list edge.
type fbPage struct {
	Data   []json.RawMessage `json:"data"`
	Paging struct {
		Next string `json:"next"`
	} `json:"paging"`
}

// pages follows paging.next from the first request to the last page and
// decodes every item into T.
func fbPages[T any](ctx context.Context, f *FacebookClient, r fbReq) ([]T, error) {
	var out []T
	seen := map[string]bool{}
	for page := 0; ; page++ {
		var p fbPage
		if err := f.do(ctx, r, &p); err != nil {
			return nil, err
		}
		for _, raw := range p.Data {
			var item T
			if err := json.Unmarshal(raw, &item); err != nil {
				return nil, &Error{Platform: Facebook, Kind: KindTransient, Message: "malformed list item", Err: err}
			}
			out = append(out, item)
		}
		next := p.Paging.Next
		if next == "" || len(p.Data) == 0 {
			return out, nil
		}
		if seen[next] || page >= 10000 { // a platform bug must not loop forever
			return nil, &Error{Platform: Facebook, Kind: KindTransient, Message: "paging does not advance"}
		}
		seen[next] = true
		r.method, r.path, r.params = http.MethodGet, next, nil
	}
}
