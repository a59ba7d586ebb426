package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Outbox statuses.
const (
	OutboxPending = "pending"
	OutboxSent    = "sent"
	OutboxFailed  = "failed"
)

// maxErrorLen bounds the last_error kept for an email.
const maxErrorLen = 1000

// Email is a message to queue. TenantID is "" for mail that belongs to no
// tenant (such as an operator's).
type Email struct {
	TenantID    string
	To          string
	Subject     string
	Text        string
	HTML        string
	Attachments []EmailAttachment
}

// EmailAttachment is a file sent with an email; Inline ones (images) are
// referenced from the HTML as cid:<Name>.
type EmailAttachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"data"`
	Inline      bool   `json:"inline,omitempty"`
}

// Attachments is the attachments column (JSON).
type Attachments []EmailAttachment

// Scan reads the jsonb column.
func (a *Attachments) Scan(src any) error {
	switch v := src.(type) {
	case []byte:
		return json.Unmarshal(v, a)
	case string:
		return json.Unmarshal([]byte(v), a)
	case nil:
		*a = nil
		return nil
	}
	return errors.New("models: cannot scan attachments")
}

// OutboxEmail is one row of the durable email outbox.
type OutboxEmail struct {
	ID            string      `db:"id"`
	TenantID      string      `db:"tenant_id"` // "" = no tenant
	To            string      `db:"to_address"`
	Subject       string      `db:"subject"`
	Text          string      `db:"text_body"`
	HTML          string      `db:"html_body"`
	Status        string      `db:"status"` // pending, sent or failed
	Attempts      int         `db:"attempts"`
	NextAttemptAt time.Time   `db:"next_attempt_at"`
	LastError     string      `db:"last_error"` // "" = none
	CreatedAt     time.Time   `db:"created_at"`
	SentAt        *time.Time  `db:"sent_at"`
	Attachments   Attachments `db:"attachments"`
}

// outboxColumns selects an OutboxEmail, NULLs as empty strings.
const outboxColumns = `id, COALESCE(tenant_id::text, '') AS tenant_id, to_address, subject, text_body, html_body,
	status, attempts, next_attempt_at, COALESCE(last_error, '') AS last_error, created_at, sent_at, attachments`

// enqueueEmail queues e through q, so a store method can queue mail in the
// same transaction as the action it reports (pass its *sqlx.Tx): the email
// exists exactly when the action committed.
func enqueueEmail(ctx context.Context, q querier, e Email) error {
	const insert = `INSERT INTO email_outbox (tenant_id, to_address, subject, text_body, html_body, attachments)
		VALUES (NULLIF($1, '')::uuid, $2, $3, $4, $5, $6)`
	if strings.TrimSpace(e.To) == "" {
		return errors.New("models: email without a recipient")
	}
	att := []byte("[]")
	if len(e.Attachments) > 0 {
		var err error
		if att, err = json.Marshal(e.Attachments); err != nil {
			return err
		}
	}
	_, err := q.ExecContext(ctx, insert, e.TenantID, e.To, e.Subject, e.Text, e.HTML, att)
	return err
}

// EnqueueEmail queues e on its own; the outbox job sends it.
func (s *Store) EnqueueEmail(ctx context.Context, e Email) error {
	return enqueueEmail(ctx, s.db, e)
}

// The sender's methods below work across every tenant: the outbox is
// drained instance-wide by the outbox job.

// ClaimDueEmails takes up to limit pending emails that are due, oldest due
// first, and leases them: their next_attempt_at moves lease ahead, so no
// other replica claims them meanwhile (rows another transaction is claiming
// are skipped, not waited for). A sender that crashes leaves its claims to
// expire, and the emails become due again.
func (s *Store) ClaimDueEmails(ctx context.Context, limit int, lease time.Duration) ([]OutboxEmail, error) {
	const claim = `WITH due AS (
			SELECT id FROM email_outbox
			WHERE status = 'pending' AND next_attempt_at <= now()
			ORDER BY next_attempt_at
			LIMIT $1
			FOR UPDATE SKIP LOCKED
		), claimed AS (
			UPDATE email_outbox o SET next_attempt_at = now() + make_interval(secs => $2)
			FROM due WHERE o.id = due.id
			RETURNING o.*
		)
		SELECT ` + outboxColumns + ` FROM claimed ORDER BY created_at, id`
	if limit <= 0 {
		return nil, nil
	}
	var out []OutboxEmail
	if err := s.db.SelectContext(ctx, &out, claim, limit, lease.Seconds()); err != nil {
		return nil, err
	}
	return out, nil
}

// MarkEmailSent records a successful delivery of a pending email.
//
// The one-time links of a sent email (verification, reset, invitation) are
// redacted from the stored bodies: the tokens are kept only as hashes, and
// neither a database reader nor an operator should find live ones here.
func (s *Store) MarkEmailSent(ctx context.Context, id string) error {
	const update = `UPDATE email_outbox
		SET status = 'sent', sent_at = now(), attempts = attempts + 1,
			text_body = regexp_replace(text_body, 'token=[A-Za-z0-9_-]+', 'token=[redacted]', 'g'),
			html_body = regexp_replace(html_body, 'token=[A-Za-z0-9_-]+', 'token=[redacted]', 'g')
		WHERE id = $1 AND status = 'pending'`
	return s.updateOutbox(ctx, update, id)
}

// MarkEmailFailed records a failed delivery attempt of a pending email:
// attempts grows by one and errText is kept. With retryAt the email is
// tried again from then; with nil it is given up (status failed).
func (s *Store) MarkEmailFailed(ctx context.Context, id, errText string, retryAt *time.Time) error {
	const update = `UPDATE email_outbox
		SET attempts = attempts + 1, last_error = $2,
		    status = CASE WHEN $3::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
		    next_attempt_at = COALESCE($3::timestamptz, next_attempt_at)
		WHERE id = $1 AND status = 'pending'`
	if len(errText) > maxErrorLen {
		errText = strings.ToValidUTF8(errText[:maxErrorLen], "") + "…"
	}
	return s.updateOutbox(ctx, update, id, errText, retryAt)
}

// updateOutbox runs an update of one email, ErrNotFound when no pending
// email has that id.
func (s *Store) updateOutbox(ctx context.Context, update, id string, args ...any) error {
	if !outboxIDValid(id) {
		return ErrNotFound
	}
	res, err := s.db.ExecContext(ctx, update, append([]any{id}, args...)...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrNotFound
	}
	return nil
}

// OutboxFilter selects emails for the operator's outbox page.
type OutboxFilter struct {
	Status string // "" = every status; pending, sent or failed otherwise
	Search string // substring of the recipient or the subject, case-insensitive
	Limit  int    // 50 when 0 or less, at most 500
	Offset int
}

// ListOutbox returns a page of emails, newest first, and how many match in
// all. It is an operator query across every tenant, so it takes no tenant
// ID: only platform operators may reach it.
func (s *Store) ListOutbox(ctx context.Context, f OutboxFilter) ([]OutboxEmail, int, error) {
	const where = ` WHERE ($1 = '' OR status = $1)
		AND ($2 = '' OR to_address ILIKE $2 ESCAPE '\' OR subject ILIKE $2 ESCAPE '\')`
	const count = `SELECT count(*) FROM email_outbox` + where
	const list = `SELECT ` + outboxColumns + ` FROM email_outbox` + where + `
		ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4`
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = 50
	case limit > 500:
		limit = 500
	}
	offset := max(f.Offset, 0)
	pattern := ""
	if search := strings.TrimSpace(f.Search); search != "" {
		pattern = "%" + likeEscaper.Replace(search) + "%"
	}
	var total int
	if err := s.db.GetContext(ctx, &total, count, f.Status, pattern); err != nil {
		return nil, 0, err
	}
	out := []OutboxEmail{}
	if total > offset {
		if err := s.db.SelectContext(ctx, &out, list, f.Status, pattern, limit, offset); err != nil {
			return nil, 0, err
		}
	}
	return out, total, nil
}

// likeEscaper makes user input match literally in LIKE patterns.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// GetOutboxEmail returns one email by id, ErrNotFound when there is none
// (a malformed id included). Like ListOutbox it is an operator query
// across every tenant.
func (s *Store) GetOutboxEmail(ctx context.Context, id string) (OutboxEmail, error) {
	const get = `SELECT ` + outboxColumns + ` FROM email_outbox WHERE id = $1`
	var e OutboxEmail
	if !outboxIDValid(id) {
		return e, ErrNotFound
	}
	if err := s.db.GetContext(ctx, &e, get, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return e, ErrNotFound
		}
		return e, err
	}
	return e, nil
}

// outboxIDValid reports whether id is a UUID in the canonical 36-character
// form, so a malformed id from a URL is a plain ErrNotFound rather than a
// PostgreSQL error (uuid.Parse alone also takes forms PostgreSQL refuses).
func outboxIDValid(id string) bool {
	_, err := uuid.Parse(id)
	return err == nil && len(id) == 36
}
