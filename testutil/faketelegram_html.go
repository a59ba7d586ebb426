package testutil

import (
	"encoding/json"
	"fmt"
	"html"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf16"
)

var tgSecretRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// tgAllowedTags are the tags of Telegram's HTML parse mode.
var tgAllowedTags = map[string]bool{"b": true, "strong": true, "i": true, "em": true, "u": true, "ins": true,
	"s": true, "strike": true, "del": true, "a": true, "code": true, "pre": true, "blockquote": true,
	"tg-spoiler": true, "span": true, "tg-emoji": true}

var tgMethodNames = map[string]string{"sendmessage": "sendMessage", "sendphoto": "sendPhoto", "senddocument": "sendDocument"}

// tgRequest holds a call's parameters, whatever their encoding.
type tgRequest struct {
	v     map[string]string
	files map[string]tgFile
}

type tgFile struct {
	name string
	size int64
}

func (tgRequest) method(key string) string { return tgMethodNames[key] }

// tgParams reads multipart/form-data (go-telegram/bot), urlencoded or JSON
// parameters, plus the query string. Non-string JSON values keep their JSON
// text, as Telegram reads them.
func tgParams(r *http.Request) tgRequest {
	p := tgRequest{v: map[string]string{}, files: map[string]tgFile{}}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "multipart/form-data":
		// An empty body (getMe) is no multipart at all: ignore the error.
		if err := r.ParseMultipartForm(64 << 20); err == nil {
			for k, fhs := range r.MultipartForm.File {
				p.files[k] = tgFile{name: fhs[0].Filename, size: fhs[0].Size}
			}
		}
	case "application/json":
		var m map[string]json.RawMessage
		if json.NewDecoder(r.Body).Decode(&m) == nil {
			for k, raw := range m {
				var s string
				if json.Unmarshal(raw, &s) == nil {
					p.v[k] = s
				} else {
					p.v[k] = string(raw)
				}
			}
		}
	default:
		_ = r.ParseForm()
	}
	for k, vs := range r.Form { // Form holds the query, urlencoded and multipart values
		if _, ok := p.v[k]; !ok && len(vs) > 0 {
			p.v[k] = vs[0]
		}
	}
	for k, vs := range r.URL.Query() {
		if _, ok := p.v[k]; !ok && len(vs) > 0 {
			p.v[k] = vs[0]
		}
	}
	return p
}

func tgOK(w http.ResponseWriter, result any) { tgOKDesc(w, result, "") }

func tgOKDesc(w http.ResponseWriter, result any, desc string) {
	body := map[string]any{"ok": true, "result": result}
	if desc != "" {
		body["description"] = desc
	}
	tgWrite(w, http.StatusOK, body)
}

func tgError(w http.ResponseWriter, code int, desc string, params map[string]any) {
	body := map[string]any{"ok": false, "error_code": code, "description": desc}
	if len(params) > 0 {
		body["parameters"] = params
	}
	tgWrite(w, code, body)
}

func tgWrite(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// tgParseHTML returns what Telegram would display for s in HTML parse
// mode, or the "can't parse entities" description. Stricter than Telegram
// on one point: a bare '&' is refused, so escaping bugs surface.
func tgParseHTML(s string) (string, string) {
	var out strings.Builder
	var stack []string
	for i := 0; i < len(s); {
		switch s[i] {
		case '<':
			end := strings.IndexByte(s[i:], '>')
			if end < 0 {
				return "", fmt.Sprintf("Bad Request: can't parse entities: unclosed start tag at byte offset %d", i)
			}
			inner := s[i+1 : i+end]
			closing := strings.HasPrefix(inner, "/")
			fields := strings.Fields(strings.TrimPrefix(inner, "/"))
			name := ""
			if len(fields) > 0 {
				name = strings.ToLower(fields[0])
			}
			switch {
			case !tgAllowedTags[name]:
				return "", fmt.Sprintf("Bad Request: can't parse entities: unsupported start tag %q at byte offset %d", name, i)
			case !closing:
				stack = append(stack, name)
			case len(stack) == 0:
				return "", fmt.Sprintf("Bad Request: can't parse entities: unexpected end tag at byte offset %d", i)
			case stack[len(stack)-1] != name:
				return "", fmt.Sprintf("Bad Request: can't parse entities: unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", i, stack[len(stack)-1], name)
			default:
				stack = stack[:len(stack)-1]
			}
			i += end + 1
		case '&':
			end := strings.IndexByte(s[i:], ';')
			ent := ""
			if end > 1 {
				ent = s[i : i+end+1]
			}
			dec := html.UnescapeString(ent)
			if ent == "" || dec == ent || !tgEntityRe.MatchString(ent) {
				return "", fmt.Sprintf("Bad Request: can't parse entities: unsupported entity or unescaped '&' at byte offset %d", i)
			}
			out.WriteString(dec)
			i += end + 1
		default:
			out.WriteByte(s[i])
			i++
		}
	}
	if len(stack) > 0 {
		return "", fmt.Sprintf("Bad Request: can't parse entities: can't find end tag corresponding to start tag %q", stack[len(stack)-1])
	}
	return out.String(), ""
}

var tgEntityRe = regexp.MustCompile(`^&(lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});$`)

// tgCheckText checks a text or caption: it must parse (HTML mode), and
// its displayed length in UTF-16 units must be within limit. It returns
// Telegram's 400 description, "" when fine.
func tgCheckText(text, parseMode string, limit int, emptyDesc, longDesc string) string {
	plain := text
	if strings.EqualFold(parseMode, "HTML") {
		var desc string
		if plain, desc = tgParseHTML(text); desc != "" {
			return desc
		}
	}
	if emptyDesc != "" && strings.TrimSpace(plain) == "" {
		return "Bad Request: " + emptyDesc
	}
	if len(utf16.Encode([]rune(plain))) > limit {
		return "Bad Request: " + longDesc
	}
	return ""
}

func tgPlainOrRaw(text, parseMode string) string {
	if strings.EqualFold(parseMode, "HTML") {
		if plain, desc := tgParseHTML(text); desc == "" {
			return plain
		}
	}
	return text
}

// tgCheckMarkup checks an inline keyboard: callback_data is 1-64 bytes.
func tgCheckMarkup(raw string) string {
	if raw == "" {
		return ""
	}
	var kb struct {
		InlineKeyboard [][]struct {
			Text         string  `json:"text"`
			CallbackData *string `json:"callback_data"`
		} `json:"inline_keyboard"`
	}
	if json.Unmarshal([]byte(raw), &kb) != nil {
		return "Bad Request: can't parse reply keyboard markup JSON object"
	}
	for _, row := range kb.InlineKeyboard {
		for _, b := range row {
			if b.Text == "" {
				return "Bad Request: text buttons are unallowed in the inline keyboard"
			}
			if b.CallbackData != nil && (len(*b.CallbackData) == 0 || len(*b.CallbackData) > 64) {
				return "Bad Request: BUTTON_DATA_INVALID"
			}
		}
	}
	return ""
}

func tgInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case float64:
		return int64(n), true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}
