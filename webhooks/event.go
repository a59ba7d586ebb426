package webhooks

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Platforms, as stored in webhook_event.platform.
const (
	Facebook = "facebook"
	TikTok   = "tiktok"
)

// Event is one thing that happened, out of a delivery: a Facebook batch
// gives one per change (or messaging item), TikTok one per request.
type Event struct {
	Platform string
	// Type is the event's name, platform first: facebook.leadgen,
	// facebook.feed, tiktok.authorization.removed, tiktok.post.publish.failed.
	Type string
	// DedupeKey is the same for every delivery of the same event, so a
	// retried delivery is stored once (unique per platform).
	DedupeKey string
	// Object is what kind of thing ObjectID names: a Facebook webhook object
	// (page, user, …) or "user" for TikTok.
	Object string
	// ObjectID is the account the event is about: the Page id, the Facebook
	// user id, or the TikTok user's open_id.
	ObjectID string
	// OccurredAt is the platform's time of the event; zero when it gave none.
	OccurredAt time.Time
	// Payload is the event alone, as canonical JSON (sorted keys, no NUL
	// characters: PostgreSQL's jsonb refuses them).
	Payload json.RawMessage
}

// MalformedError is a delivery whose signature was valid but whose body is
// not what the platform sends; its message is safe to answer with (400).
type MalformedError struct{ Reason string }

func (e *MalformedError) Error() string { return "malformed webhook body: " + e.Reason }

func malformed(format string, args ...any) error {
	return &MalformedError{Reason: fmt.Sprintf(format, args...)}
}

// decode parses JSON keeping numbers exact (ids stay as written).
func decode(body []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return v, nil
}

// canonical is v as JSON with sorted keys and NULs replaced, so the same
// content always gives the same bytes (and jsonb accepts them).
func canonical(v any) json.RawMessage {
	b, err := json.Marshal(clean(v))
	if err != nil { // cannot happen for decoded JSON
		return json.RawMessage("null")
	}
	return b
}

// clean replaces NUL characters in strings and keys (jsonb cannot hold them).
func clean(v any) any {
	switch x := v.(type) {
	case string:
		return strings.ReplaceAll(x, "\x00", "\uFFFD")
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[strings.ReplaceAll(k, "\x00", "\uFFFD")] = clean(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = clean(val)
		}
		return out
	}
	return v
}

// hashKey is a dedupe key for events without an id of their own: a hash of
// their identifying parts, each length-prefixed so parts cannot run together.
func hashKey(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(strconv.Itoa(len(p))))
		h.Write([]byte{':'})
		h.Write(p)
	}
	return "h:" + hex.EncodeToString(h.Sum(nil))
}

// maxKeyLen bounds a dedupe key taken from the payload; longer ids are hashed.
const maxKeyLen = 200

func idKey(prefix, id string) string {
	k := prefix + ":" + id
	if len(k) > maxKeyLen || strings.ContainsRune(k, 0) {
		return hashKey([]byte(prefix), []byte(id))
	}
	return k
}

// str reads a string or a number as a string ("" otherwise).
func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	}
	return ""
}

// unixTime reads seconds (or milliseconds, as Messenger sends) since the epoch.
func unixTime(v any) time.Time {
	n, err := strconv.ParseInt(str(v), 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	if n > 1e11 { // milliseconds
		return time.UnixMilli(n).UTC()
	}
	return time.Unix(n, 0).UTC()
}

// typeName makes a platform's event or field name safe as part of a type:
// lower case letters, digits and . _ - only, at most 64 characters.
func typeName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteRune('_')
		}
	}
	out := b.String()
	if len(out) > 64 {
		out = out[:64] // ASCII only: any cut is a character boundary
	}
	if out == "" {
		return "unknown"
	}
	return out
}
