package webhooks

import (
	"encoding/json"
	"strconv"
)

// ParseFacebook turns a Facebook delivery
//
//	{"object":"page","entry":[{"id","time","changes":[{"field","value"}]}]}
//
// into one event per change. Entries may carry `messaging` items
// (Messenger) instead, one event each, or a bare `changed_fields` list (the
// user object), one event per field. A leadgen change is keyed by its
// leadgen_id and a message by its mid; anything else by a hash of its
// object, entry id, time, field and value, so a retried delivery gives the
// same keys. A body that is not such a batch is a *MalformedError.
func ParseFacebook(body []byte) ([]Event, error) {
	v, err := decode(body)
	if err != nil {
		return nil, malformed("not JSON: %v", err)
	}
	root, ok := v.(map[string]any)
	if !ok {
		return nil, malformed("the body is not a JSON object")
	}
	object, ok := root["object"].(string)
	if !ok || object == "" {
		return nil, malformed(`"object" is missing or not a string`)
	}
	entries, ok := root["entry"].([]any)
	if !ok {
		return nil, malformed(`"entry" is missing or not an array`)
	}
	var out []Event
	for i, raw := range entries {
		entry, ok := raw.(map[string]any)
		if !ok {
			return nil, malformed("entry[%d] is not an object", i)
		}
		evs, err := facebookEntry(object, entry, i)
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
	}
	return out, nil
}

func facebookEntry(object string, entry map[string]any, i int) ([]Event, error) {
	id, ts := str(entry["id"]), str(entry["time"])
	at := unixTime(entry["time"])
	base := func(field string) map[string]any {
		m := map[string]any{"object": object, "entry_id": id, "time": entry["time"]}
		if field != "" {
			m["field"] = field
		}
		return m
	}
	var out []Event
	seen := false
	if v, present := entry["changes"]; present {
		changes, ok := v.([]any)
		if !ok {
			return nil, malformed("entry[%d].changes is not an array", i)
		}
		seen = true
		for j, rc := range changes {
			change, ok := rc.(map[string]any)
			if !ok {
				return nil, malformed("entry[%d].changes[%d] is not an object", i, j)
			}
			field := str(change["field"])
			payload := base(field)
			payload["value"] = change["value"]
			ev := Event{Platform: Facebook, Type: "facebook." + typeName(field), Object: object, ObjectID: id,
				OccurredAt: at, Payload: canonical(payload)}
			value, _ := change["value"].(map[string]any)
			if lead := str(value["leadgen_id"]); field == "leadgen" && lead != "" {
				ev.DedupeKey = idKey("leadgen", lead)
				if page := str(value["page_id"]); page != "" {
					ev.ObjectID = page
				}
			} else {
				valueJSON, _ := json.Marshal(clean(change["value"]))
				ev.DedupeKey = hashKey([]byte(object), []byte(id), []byte(ts), []byte(field), valueJSON)
			}
			out = append(out, ev)
		}
	}
	if v, present := entry["messaging"]; present {
		items, ok := v.([]any)
		if !ok {
			return nil, malformed("entry[%d].messaging is not an array", i)
		}
		seen = true
		for j, ri := range items {
			item, ok := ri.(map[string]any)
			if !ok {
				return nil, malformed("entry[%d].messaging[%d] is not an object", i, j)
			}
			payload := base("")
			payload["messaging"] = item
			ev := Event{Platform: Facebook, Type: "facebook.messaging", Object: object, ObjectID: id,
				OccurredAt: at, Payload: canonical(payload)}
			if t := unixTime(item["timestamp"]); !t.IsZero() {
				ev.OccurredAt = t
			}
			msg, _ := item["message"].(map[string]any)
			if mid := str(msg["mid"]); mid != "" {
				ev.DedupeKey = idKey("mid", mid)
			} else {
				itemJSON, _ := json.Marshal(clean(item))
				ev.DedupeKey = hashKey([]byte(object), []byte(id), []byte("messaging"), itemJSON)
			}
			out = append(out, ev)
		}
	}
	if v, present := entry["changed_fields"]; present {
		fields, ok := v.([]any)
		if !ok {
			return nil, malformed("entry[%d].changed_fields is not an array", i)
		}
		seen = true
		for _, rf := range fields {
			field := str(rf)
			out = append(out, Event{Platform: Facebook, Type: "facebook." + typeName(field), Object: object, ObjectID: id,
				OccurredAt: at, Payload: canonical(base(field)),
				DedupeKey: hashKey([]byte(object), []byte(id), []byte(ts), []byte(field))})
		}
	}
	if !seen {
		// Nothing this parser knows: kept whole rather than dropped.
		payload := base("")
		payload["entry"] = entry
		whole, _ := json.Marshal(clean(entry))
		out = append(out, Event{Platform: Facebook, Type: "facebook.unknown", Object: object, ObjectID: id,
			OccurredAt: at, Payload: canonical(payload),
			DedupeKey: hashKey([]byte(object), []byte(id), []byte(ts), []byte("entry"), whole)})
	}
	return out, nil
}

// Leadgen is a leadgen change's value: which lead, from which Page, form and ad.
type Leadgen struct {
	LeadgenID   string
	PageID      string
	FormID      string
	AdID        string
	AdgroupID   string
	CreatedTime int64
}

// LeadgenOf reads a stored facebook.leadgen payload (as ParseFacebook made
// it); ok is false when it holds no leadgen_id.
func LeadgenOf(payload []byte) (Leadgen, bool) {
	v, err := decode(payload)
	if err != nil {
		return Leadgen{}, false
	}
	root, _ := v.(map[string]any)
	value, _ := root["value"].(map[string]any)
	l := Leadgen{LeadgenID: str(value["leadgen_id"]), PageID: str(value["page_id"]), FormID: str(value["form_id"]),
		AdID: str(value["ad_id"]), AdgroupID: str(value["adgroup_id"])}
	l.CreatedTime, _ = strconv.ParseInt(str(value["created_time"]), 10, 64)
	if l.PageID == "" {
		l.PageID = str(root["entry_id"])
	}
	return l, l.LeadgenID != ""
}
