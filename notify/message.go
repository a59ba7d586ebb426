// Package notify delivers adpilot's output to destinations: Telegram chats
// (through the Bot API), signed webhooks, and email (through the outbox).
// One Message is rendered per channel; every sender classifies its failures
// so the delivery queue knows whether to retry, when, or to give up.
package notify

import (
	"errors"
	"fmt"
	"time"
)

// Message is one piece of output, channel-neutral.
type Message struct {
	Event string `json:"event"` // e.g. "test", "report", "alert", "alert.resolved"
	Title string `json:"title"`
	// Text is the plain-text body (email text part, webhook "text",
	// Telegram when TelegramHTML is empty: escaped under a bold title).
	Text string `json:"text"`
	// HTML is the email HTML body (a fragment; the email layout wraps it).
	HTML string `json:"html,omitempty"`
	// TelegramHTML, when set, is sent as is in Telegram's HTML parse mode
	// (only its tags: b, i, u, s, a, code, pre, blockquote), already escaped.
	TelegramHTML string `json:"telegram_html,omitempty"`
	// Data is the structured payload of webhooks ({"event","title","text","data"}).
	Data any `json:"data,omitempty"`
	// Images (PNG charts) go to Telegram as photos, to email inline.
	Images []Attachment `json:"images,omitempty"`
	// Files (CSV exports) go to Telegram as documents, to email as attachments.
	Files []Attachment `json:"files,omitempty"`
	// Buttons are Telegram inline keyboard rows (alert actions).
	Buttons [][]Button `json:"buttons,omitempty"`
}

// Attachment is a file carried by a message.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"data"` // base64 in JSON
}

// Button is one inline keyboard button: callback data (signed by the bot,
// at most 64 bytes) or a URL.
type Button struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data,omitempty"`
	URL          string `json:"url,omitempty"`
}

// Outcome kinds of a failed attempt.
type FailureKind int

const (
	// Retry: a network error, a timeout, a 5xx, 408 or 429. Try again later
	// (after RetryAfter when set).
	Retry FailureKind = iota + 1
	// Permanent: the receiver refused this message (another 4xx, a message
	// Telegram cannot take). Retrying cannot help; the destination is fine.
	Permanent
	// Gone: the destination itself is dead (the bot was blocked or removed
	// from the chat). Deactivate it and tell the admins.
	Gone
	// Migrated: the Telegram group became a supergroup with a new chat id.
	// Update the destination and resend at once.
	Migrated
)

// Error is a failed delivery attempt.
type Error struct {
	Kind       FailureKind
	StatusCode int           // HTTP status or Telegram error_code; 0 when none arrived
	RetryAfter time.Duration // the receiver's requested wait (429 Retry-After, retry_after)
	NewChatID  int64         // Migrated: the chat's new id
	Message    string        // what went wrong, never a secret
	Err        error
}

func (e *Error) Error() string {
	s := e.Message
	if e.StatusCode != 0 {
		s = fmt.Sprintf("status %d: %s", e.StatusCode, s)
	}
	if e.Err != nil && e.Message == "" {
		s = e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the failure kind of err; errors that are not *Error count
// as Retry (an unexpected failure is assumed transient).
func KindOf(err error) FailureKind {
	var ne *Error
	if errors.As(err, &ne) {
		return ne.Kind
	}
	return Retry
}
