package webhooks

import (
	"strconv"
)

// ParseTikTok turns a TikTok delivery
//
//	{"client_key","event","create_time","user_openid","content":"<JSON string>"}
//
// into its event (typed tiktok.<event>, about the user's open_id). TikTok
// gives events no id, so the key is a hash of every field: a retry sends
// the same body. A body without an event name is a *MalformedError.
func ParseTikTok(body []byte) (Event, error) {
	v, err := decode(body)
	if err != nil {
		return Event{}, malformed("not JSON: %v", err)
	}
	root, ok := v.(map[string]any)
	if !ok {
		return Event{}, malformed("the body is not a JSON object")
	}
	name, ok := root["event"].(string)
	if !ok || name == "" {
		return Event{}, malformed(`"event" is missing or not a string`)
	}
	if c, present := root["content"]; present && c != nil {
		if _, ok := c.(string); !ok {
			return Event{}, malformed(`"content" is not a string (TikTok sends serialized JSON)`)
		}
	}
	openID := str(root["user_openid"])
	created := str(root["create_time"])
	return Event{
		Platform: TikTok, Type: "tiktok." + typeName(name), Object: "user", ObjectID: openID,
		OccurredAt: unixTime(root["create_time"]), Payload: canonical(root),
		DedupeKey: hashKey([]byte(str(root["client_key"])), []byte(name), []byte(created), []byte(openID),
			[]byte(str(root["content"]))),
	}, nil
}

// TikTokContent is the decoded content of a stored TikTok event: the
// fields the events carry (authorization.removed's reason, post.publish.*'s
// publish_id, publish_type, reason and post_id), all optional.
type TikTokContent struct {
	Reason      string // authorization.removed: 0-5; post.publish.failed: TikTok's words
	PublishID   string
	PublishType string
	PostID      string
	Fields      map[string]any // everything, as decoded
}

// TikTokContentOf decodes the content string of a stored TikTok payload.
func TikTokContentOf(payload []byte) TikTokContent {
	out := TikTokContent{Fields: map[string]any{}}
	v, err := decode(payload)
	if err != nil {
		return out
	}
	root, _ := v.(map[string]any)
	s, _ := root["content"].(string)
	if s == "" {
		return out
	}
	c, err := decode([]byte(s))
	if err != nil {
		return out
	}
	m, ok := c.(map[string]any)
	if !ok {
		return out
	}
	out.Fields = m
	out.Reason, out.PublishID, out.PublishType, out.PostID = str(m["reason"]), str(m["publish_id"]), str(m["publish_type"]), str(m["post_id"])
	return out
}

// AuthorizationRemovedReason words TikTok's authorization.removed reason code.
func AuthorizationRemovedReason(code string) string {
	reasons := map[int]string{
		0: "TikTok removed the authorization (reason unknown)",
		1: "the user disconnected adpilot in the TikTok app",
		2: "the user's TikTok account was deleted",
		3: "the user's age changed",
		4: "the user's TikTok account was banned",
		5: "the app's developer revoked the authorization",
	}
	if n, err := strconv.Atoi(code); err == nil {
		if r, ok := reasons[n]; ok {
			return r
		}
	}
	return reasons[0]
}
