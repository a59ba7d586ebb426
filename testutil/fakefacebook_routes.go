package testutil

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// serve records the request, plays injected failures, then routes. The lock
// is held throughout: requests are tiny and tests assert on a stable state.
func (f *FakeFacebook) serve(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	path, ver := fbSplitVersion(r.URL.Path)
	_, _, basic := r.BasicAuth()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, FakeRequest{Method: r.Method, Path: path, Version: ver, Form: r.Form, BasicAuth: basic})
	for i, ff := range f.failures {
		if strings.HasSuffix(path, ff.Path) {
			if ff.Times--; ff.Times <= 0 {
				f.failures = slices.Delete(f.failures, i, i+1)
			}
			for k, v := range ff.Headers {
				w.Header().Set(k, v)
			}
			w.Header().Set("Content-Type", "application/json; charset=UTF-8")
			w.WriteHeader(ff.Status)
			_, _ = w.Write([]byte(ff.Body))
			return
		}
	}
	switch path {
	case "/dialog/oauth":
		f.dialog(w, r)
		return
	case "/oauth/access_token":
		f.accessToken(w, r)
		return
	}
	tok, ok := f.auth(w, r)
	if !ok {
		return
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case path == "/debug_token" && r.Method == http.MethodGet:
		f.debugToken(w, r)
	case tok.kind == "APP":
		f.fail(w, 400, 2500, 0, "An active access token must be used to query information about the current user.")
	case path == "/me" && r.Method == http.MethodGet:
		id, name := f.userID, f.userName
		if tok.kind == "PAGE" {
			p := f.page(tok.pageID)
			id, name = p.ID, p.Name
		}
		f.json(w, map[string]any{"id": id, "name": name})
	case path == "/me/adaccounts" && r.Method == http.MethodGet:
		var items []map[string]any
		for _, a := range f.adAccounts {
			items = append(items, map[string]any{"id": "act_" + a.ID, "account_id": a.ID, "name": a.Name,
				"account_status": a.Status, "currency": a.Currency, "timezone_name": a.Timezone})
		}
		f.list(w, r, fbPick(items, r.Form.Get("fields"), "id"))
	case path == "/me/accounts" && r.Method == http.MethodGet:
		var items []map[string]any
		for _, p := range f.pages {
			items = append(items, map[string]any{"id": p.ID, "name": p.Name, "category": p.Category,
				"tasks": p.Tasks, "access_token": p.Token})
		}
		f.list(w, r, fbPick(items, r.Form.Get("fields"), "id"))
	case path == "/me/permissions" && r.Method == http.MethodDelete:
		for _, t := range f.tokens {
			if t.userID == tok.userID && t.kind != "APP" {
				t.dead = 458
			}
		}
		f.json(w, map[string]any{"success": true})
	case len(parts) == 2 && parts[1] == "insights":
		f.insights(w, r, parts[0])
	case len(parts) == 1 && r.Method == http.MethodGet && f.reports[parts[0]] != nil:
		f.reportStatus(w, parts[0])
	case len(parts) == 1 && r.Method == http.MethodPost:
		f.setStatus(w, r, parts[0])
	default:
		f.fail(w, 400, 100, 33, "Unsupported "+strings.ToLower(r.Method)+" request. Object with ID '"+parts[0]+"' does not exist, cannot be loaded due to missing permissions, or does not support this operation.")
	}
}

// auth checks access_token (query, form or Bearer) and appsecret_proof.
func (f *FakeFacebook) auth(w http.ResponseWriter, r *http.Request) (*fakeFBToken, bool) {
	token := r.Form.Get("access_token")
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		token = strings.TrimPrefix(h, "Bearer ")
	}
	if token == "" {
		f.fail(w, 400, 104, 0, "An access token is required to request this resource.")
		return nil, false
	}
	t := f.tokens[token]
	switch {
	case t == nil:
		f.fail(w, 400, 190, 0, "Invalid OAuth access token - Cannot parse access token")
		return nil, false
	case t.dead == 458:
		f.fail(w, 400, 190, 458, "Error validating access token: The user has not authorized application "+f.AppID+".")
		return nil, false
	case t.dead != 0:
		f.fail(w, 400, 190, t.dead, "Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.")
		return nil, false
	case !t.expires.IsZero() && time.Now().After(t.expires):
		f.fail(w, 400, 190, 463, "Error validating access token: Session has expired.")
		return nil, false
	}
	proof := r.Form.Get("appsecret_proof")
	if proof != "" && !hmac.Equal([]byte(proof), []byte(f.proof(token))) {
		f.fail(w, 400, 100, 0, "Invalid appsecret_proof provided in the API argument")
		return nil, false
	}
	if proof == "" && f.requireProof {
		f.fail(w, 400, 100, 0, "API calls from the server require an appsecret_proof argument")
		return nil, false
	}
	return t, true
}

// dialog is the consent screen: it consents (or refuses) at once.
func (f *FakeFacebook) dialog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if q.Get("client_id") != f.AppID || q.Get("redirect_uri") == "" || err != nil || !redirect.IsAbs() {
		http.Error(w, "Invalid App ID or redirect_uri", http.StatusBadRequest)
		return
	}
	f.lastRedirect = q.Get("redirect_uri")
	back := redirect.Query()
	back.Set("state", q.Get("state"))
	if f.denyConsent {
		back.Set("error", "access_denied")
		back.Set("error_reason", "user_denied")
		back.Set("error_description", "Permissions error")
	} else {
		code := "AQ" + fbRandHex(24)
		scopes := strings.FieldsFunc(q.Get("scope"), func(r rune) bool { return r == ',' || r == ' ' })
		if len(scopes) == 0 {
			scopes = DefaultFakeFBScopes
		}
		f.codes[code] = &fakeFBCode{redirectURI: f.lastRedirect, scopes: scopes}
		back.Set("code", code)
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// accessToken serves the code exchange and the long-lived exchange. Client
// credentials come in the query, the form or HTTP Basic (x/oauth2 style).
func (f *FakeFacebook) accessToken(w http.ResponseWriter, r *http.Request) {
	id, secret := r.Form.Get("client_id"), r.Form.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, _ = url.QueryUnescape(u)
		secret, _ = url.QueryUnescape(p)
	}
	if id != f.AppID {
		f.fail(w, 400, 101, 0, "Error validating application. Invalid application ID.")
		return
	}
	if secret != f.AppSecret {
		f.fail(w, 400, 1, 0, "Error validating client secret.")
		return
	}
	if r.Form.Get("grant_type") == "fb_exchange_token" {
		t := f.tokens[r.Form.Get("fb_exchange_token")]
		if t == nil || t.kind != "USER" || t.dead != 0 {
			f.fail(w, 400, 190, 0, "Invalid OAuth access token - Cannot parse access token")
			return
		}
		f.json(w, map[string]any{"access_token": f.issue(t.scopes, 60*24*time.Hour), "token_type": "bearer", "expires_in": 5184000})
		return
	}
	c := f.codes[r.Form.Get("code")]
	switch {
	case c == nil:
		f.fail(w, 400, 100, 0, "Invalid verification code format.")
	case c.used:
		f.fail(w, 400, 100, 36009, "This authorization code has been used.")
	case r.Form.Get("redirect_uri") != c.redirectURI:
		f.fail(w, 400, 100, 36008, "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request")
	default:
		c.used = true
		f.json(w, map[string]any{"access_token": f.issue(c.scopes, 5183976*time.Second), "token_type": "bearer", "expires_in": 5183976})
	}
}

func (f *FakeFacebook) debugToken(w http.ResponseWriter, r *http.Request) {
	t := f.tokens[r.Form.Get("input_token")]
	data := map[string]any{"app_id": f.AppID, "application": "adpilot (fake)", "scopes": []string{}}
	switch {
	case t == nil || t.kind == "APP":
		data["is_valid"] = false
		data["error"] = map[string]any{"code": 190, "message": "Invalid OAuth access token."}
	default:
		data["type"], data["user_id"], data["scopes"] = t.kind, t.userID, t.scopes
		data["issued_at"] = time.Now().Add(-time.Hour).Unix()
		data["expires_at"] = int64(0) // Page tokens never expire
		if !t.expires.IsZero() {
			data["expires_at"] = t.expires.Unix()
		}
		data["is_valid"] = t.dead == 0 && (t.expires.IsZero() || time.Now().Before(t.expires))
		if t.dead != 0 {
			data["error"] = map[string]any{"code": 190, "subcode": t.dead,
				"message": "Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons."}
		}
	}
	f.json(w, map[string]any{"data": data})
}

func (f *FakeFacebook) page(id string) FakePage {
	for _, p := range f.pages {
		if p.ID == id {
			return p
		}
	}
	return FakePage{ID: id}
}

// list answers one page of items: `limit` (capped by the page size) and the
// `after` cursor; paging.next is an absolute URL back here, absent at the end.
func (f *FakeFacebook) list(w http.ResponseWriter, r *http.Request, items []map[string]any) {
	limit, err := strconv.Atoi(r.Form.Get("limit"))
	if err != nil || limit <= 0 {
		limit = 25
	}
	limit = min(limit, f.pageSize)
	start := 0
	if a := r.Form.Get("after"); a != "" {
		b, _ := base64.RawURLEncoding.DecodeString(a)
		n, err := strconv.Atoi(string(b))
		if err != nil {
			f.fail(w, 400, 100, 0, "Invalid cursor")
			return
		}
		start = n + 1
	}
	start = min(start, len(items))
	end := min(start+limit, len(items))
	out := map[string]any{"data": append([]map[string]any{}, items[start:end]...)}
	if end > start {
		cursor := func(i int) string { return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(i))) }
		paging := map[string]any{"cursors": map[string]any{"before": cursor(start), "after": cursor(end - 1)}}
		if end < len(items) {
			q := url.Values{}
			for k, v := range r.Form {
				q[k] = v
			}
			q.Set("after", cursor(end-1))
			q.Del("appsecret_proof") // like Facebook: the token is echoed, the proof is not
			paging["next"] = f.URL + r.URL.Path + "?" + q.Encode()
		}
		out["paging"] = paging
	}
	f.json(w, out)
}

// pick keeps the requested fields (plus always) of each item; no fields = all.
func fbPick(items []map[string]any, fields string, always ...string) []map[string]any {
	if fields == "" {
		return items
	}
	want := append(strings.Split(fields, ","), always...)
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		m := map[string]any{}
		for _, k := range want {
			if v, ok := it[strings.TrimSpace(k)]; ok {
				m[strings.TrimSpace(k)] = v
			}
		}
		out = append(out, m)
	}
	return out
}

func (f *FakeFacebook) json(w http.ResponseWriter, v any) {
	for k, h := range f.usage {
		w.Header().Set(k, h)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *FakeFacebook) fail(w http.ResponseWriter, status, code, subcode int, message string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(FakeGraphError(code, subcode, message)))
}
