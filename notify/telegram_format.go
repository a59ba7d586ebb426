package notify

import (
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Telegram's size limits: a message text and a media caption.
const (
	telegramTextLimit    = 4096
	telegramCaptionLimit = 1024
)

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// EscapeHTML escapes exactly the three characters Telegram's HTML parse
// mode reserves (&, <, >); quotes need no escaping outside attributes.
func EscapeHTML(s string) string { return htmlEscaper.Replace(s) }

// telegramHTML is the text of m in Telegram's HTML parse mode.
func telegramHTML(m Message) string {
	if m.TelegramHTML != "" {
		return m.TelegramHTML
	}
	title, text := strings.TrimSpace(m.Title), strings.TrimSpace(m.Text)
	switch {
	case title == "":
		return EscapeHTML(text)
	case text == "":
		return "<b>" + EscapeHTML(title) + "</b>"
	}
	return "<b>" + EscapeHTML(title) + "</b>\n" + EscapeHTML(text)
}

// telegramCaption is the escaped title, cut to the caption limit.
func telegramCaption(title string) string {
	title = strings.TrimSpace(title)
	if utf16Len(title) > telegramCaptionLimit {
		r := []rune(title)
		for utf16Len(string(r))+1 > telegramCaptionLimit {
			r = r[:len(r)-1]
		}
		title = string(r) + "…"
	}
	return EscapeHTML(title)
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// htmlToken is an indivisible piece of HTML: a tag, an entity or one rune.
type htmlToken struct {
	s       string
	tag     string // lower-case tag name; "" for text
	closing bool
}

// tokenizeHTML cuts s into tags, entities and runes. Malformed markup (a
// '<' without '>') falls back to single runes, so nothing is lost.
func tokenizeHTML(s string) []htmlToken {
	var toks []htmlToken
	for i := 0; i < len(s); {
		switch s[i] {
		case '<':
			if end := strings.IndexByte(s[i:], '>'); end > 0 {
				raw := s[i : i+end+1]
				name := strings.TrimPrefix(raw[1:len(raw)-1], "/")
				if f := strings.FieldsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || r == '/' }); len(f) > 0 {
					toks = append(toks, htmlToken{s: raw, tag: strings.ToLower(f[0]), closing: raw[1] == '/'})
					i += len(raw)
					continue
				}
			}
		case '&':
			if end := strings.IndexByte(s[i:], ';'); end > 1 && end <= 10 {
				toks = append(toks, htmlToken{s: s[i : i+end+1]})
				i += end + 1
				continue
			}
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		toks = append(toks, htmlToken{s: s[i : i+size]})
		i += size
	}
	return toks
}

// openTag is a tag open at some point: its name and its text, to reopen it.
type openTag struct{ name, raw string }

func applyTag(stack []openTag, t htmlToken) []openTag {
	if t.tag == "" {
		return stack
	}
	if !t.closing {
		return append(stack, openTag{t.tag, t.s})
	}
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i].name == t.tag {
			return stack[:i:i] // cap forces a copy on the next push
		}
	}
	return stack
}

func closers(stack []openTag) string {
	var b strings.Builder
	for i := len(stack) - 1; i >= 0; i-- {
		b.WriteString("</" + stack[i].name + ">")
	}
	return b.String()
}

func openers(stack []openTag) string {
	var b strings.Builder
	for _, t := range stack {
		b.WriteString(t.raw)
	}
	return b.String()
}

// htmlSplitter builds parts of at most limit UTF-16 units of raw HTML. It
// counts the markup too, which is stricter than Telegram (it counts the
// text after entity parsing) but can never exceed it.
type htmlSplitter struct {
	limit int
	parts []string
	cur   strings.Builder
	n     int       // UTF-16 length of cur
	stack []openTag // tags open at the end of cur
	body  bool      // cur holds more than the reopened tags
}

// splitHTML cuts s into messages of at most limit characters, on line
// boundaries when possible, never inside a tag or entity; tags open at a
// cut are closed at the end of the part and reopened in the next one.
func splitHTML(s string, limit int) []string {
	if utf16Len(s) <= limit {
		return []string{s}
	}
	sp := &htmlSplitter{limit: limit}
	for _, line := range strings.SplitAfter(s, "\n") {
		toks := tokenizeHTML(line)
		if sp.fits(toks) {
			sp.add(toks)
			continue
		}
		if sp.body {
			sp.flush()
			if sp.fits(toks) {
				sp.add(toks)
				continue
			}
		}
		// The line alone is too long: cut it between tokens.
		for _, t := range toks {
			one := []htmlToken{t}
			if !sp.fits(one) && sp.body {
				sp.flush()
			}
			sp.add(one) // a fresh part takes one token even if oversized (pathological nesting)
		}
	}
	sp.flush()
	if len(sp.parts) == 0 {
		return []string{s}
	}
	return sp.parts
}

// fits reports whether toks can be appended with the closing tags after them.
func (sp *htmlSplitter) fits(toks []htmlToken) bool {
	n, stack := sp.n, sp.stack
	for _, t := range toks {
		n += utf16Len(t.s)
		stack = applyTag(stack, t)
	}
	return n+utf16Len(closers(stack)) <= sp.limit
}

func (sp *htmlSplitter) add(toks []htmlToken) {
	for _, t := range toks {
		sp.cur.WriteString(t.s)
		sp.n += utf16Len(t.s)
		sp.stack = applyTag(sp.stack, t)
		sp.body = true
	}
}

// flush ends the current part and starts the next with the open tags.
func (sp *htmlSplitter) flush() {
	part := sp.cur.String() + closers(sp.stack)
	if strings.TrimSpace(plainText(part)) != "" { // Telegram rejects empty texts
		sp.parts = append(sp.parts, part)
	}
	sp.cur.Reset()
	sp.cur.WriteString(openers(sp.stack))
	sp.n = utf16Len(sp.cur.String())
	sp.body = false
}

// plainText drops the tags of s (entities stay; only emptiness matters).
func plainText(s string) string {
	var b strings.Builder
	for _, t := range tokenizeHTML(s) {
		if t.tag == "" {
			b.WriteString(t.s)
		}
	}
	return b.String()
}
