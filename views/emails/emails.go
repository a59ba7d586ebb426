// Package emails renders adpilot's outgoing emails with templ: each message
// has a subject, an HTML part (a small document with inline styles, which
// email clients keep) and a plain-text part rendered from its own component.
// Like the other views, it takes plain data and never touches the database.
package emails

import (
	"bytes"
	"context"
	"html"
	"strings"

	"github.com/a-h/templ"
)

// Product is the name emails sign with.
const Product = "adpilot"

// Message is a rendered email, ready for the outbox.
type Message struct {
	Subject string
	Text    string
	HTML    string
}

// VerifyData fills the email-verification message. Link is the one-time
// verification URL, valid for 48 hours.
type VerifyData struct {
	Name       string
	TenantName string
	Link       string
}

// ResetData fills the password-reset message. Link is the one-time reset URL,
// valid for 1 hour.
type ResetData struct {
	Name string
	Link string
}

// InvitationData fills the invitation message. Role is admin, user or
// viewer; Link is the one-time invitation URL, valid for 7 days.
type InvitationData struct {
	InviterName string
	TenantName  string
	Role        string
	Link        string
}

// Verify renders the message that confirms a new user's email address.
func Verify(d VerifyData) (Message, error) {
	subject := "Confirm your email address for " + Product
	if d.TenantName != "" {
		subject = "Confirm your email address for " + d.TenantName + " on " + Product
	}
	return render(subject, verifyHTML(d), verifyText(d))
}

// ResetPassword renders the message with a password-reset link.
func ResetPassword(d ResetData) (Message, error) {
	return render("Reset your "+Product+" password", resetHTML(d), resetText(d))
}

// Invitation renders the message that invites someone to join a tenant.
func Invitation(d InvitationData) (Message, error) {
	subject := "You are invited to join " + d.TenantName + " on " + Product
	if d.InviterName != "" {
		subject = d.InviterName + " invited you to join " + d.TenantName + " on " + Product
	}
	return render(subject, invitationHTML(d), invitationText(d))
}

// render renders both parts. The subject is folded onto one line, so no
// name can smuggle a header in.
func render(subject string, htmlPart, textPart templ.Component) (Message, error) {
	subject = strings.Join(strings.Fields(subject), " ")
	ctx := context.Background()
	var h, t bytes.Buffer
	if err := layout(subject, htmlPart).Render(ctx, &h); err != nil {
		return Message{}, err
	}
	if err := textPart.Render(ctx, &t); err != nil {
		return Message{}, err
	}
	return Message{Subject: subject, HTML: h.String(), Text: plainText(t.String())}, nil
}

// plainText turns a rendered text component into plain text: templ escapes
// HTML characters and joins lines with spaces, so unescape, trim each line,
// and keep at most one blank line between paragraphs.
func plainText(rendered string) string {
	var out []string
	blank := false
	for line := range strings.SplitSeq(html.UnescapeString(rendered), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			blank = len(out) > 0
			continue
		}
		if blank {
			out = append(out, "")
			blank = false
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n") + "\n"
}

// roleDescription says what a role may do, for the invitation.
func roleDescription(role string) string {
	switch role {
	case "admin":
		return "an admin, who manages members and settings as well as connections and automations"
	case "user":
		return "a user, who manages connections, destinations and automations"
	case "viewer":
		return "a viewer, who reads reports, connections and automations"
	default:
		return role
	}
}

// splitLines splits plain text into paragraphs for the HTML part.
func splitLines(s string) []string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if strings.TrimSpace(line) != "" {
			out = append(out, line)
		}
	}
	return out
}
