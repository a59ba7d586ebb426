// Package mailer delivers email over SMTP with wneessen/go-mail. It knows
// nothing of the outbox or of templates: the outbox job in package jobs hands
// it rendered messages one by one.
package mailer

import (
	"context"
	"errors"
	"net/textproto"
	"strings"

	gomail "github.com/wneessen/go-mail"
)

// Message is one email to deliver, with a plain-text and an HTML part,
// and optional attachments.
type Message struct {
	To          string
	Subject     string
	Text        string
	HTML        string
	Attachments []Attachment
}

// Attachment is a file of a message. An Inline one (a chart) is embedded
// and referenced from the HTML as cid:<Name>.
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
	Inline      bool
}

// Sender delivers messages. Implementations are safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Error is a failed delivery. Its text names the SMTP status and the
// server's answer, never the SMTP password or the recipient's address, so
// it may be logged and stored.
type Error struct {
	Code      int  // SMTP reply code (such as 550), 0 when there was none (a network error)
	Temporary bool // a 4xx reply or a network error: trying again later may work
	text      string
}

func (e *Error) Error() string { return e.text }

// newError describes err without the secrets given (password, recipient).
func newError(err error, hide ...string) *Error {
	e := &Error{Temporary: true}
	var se *gomail.SendError
	var pe *textproto.Error
	switch {
	case errors.As(err, &se):
		e.Code = se.ErrorCode()
		e.Temporary = se.IsTemp() || e.Code == 0 || e.Code/100 == 4
	case errors.As(err, &pe):
		e.Code = pe.Code
	}
	if e.Code >= 500 {
		e.Temporary = false
	}
	text := err.Error()
	for _, h := range hide {
		if h != "" {
			text = strings.ReplaceAll(text, h, "[redacted]")
		}
	}
	e.text = "smtp: " + text
	return e
}
