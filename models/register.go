package models

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"
)

// VerifyEmailTTL is how long an email verification link stays valid.
const VerifyEmailTTL = 48 * time.Hour

// Registration is a sign-up: a new tenant and its first admin.
type Registration struct {
	TenantName      string
	Email           string
	Username        string // optional
	PasswordHash    string
	VerifyTokenHash []byte // of the link sent in VerifyEmail
	VerifyEmail     Email
	IP              string
}

// firstUserLockKey serialises sign-ups just enough to make exactly one
// "first user of the instance" the platform operator.
const firstUserLockKey int64 = 0x6164_7069_6c6f_7446

// Register creates the tenant (with a unique slug from its name), its admin,
// the verification token and the queued verification email, in one
// transaction. The first user of the instance becomes its platform operator.
func (s *Store) Register(ctx context.Context, r Registration) (User, Tenant, error) {
	var u User
	var t Tenant
	err := s.withTx(ctx, func(tx *sqlxTx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, firstUserLockKey); err != nil {
			return err
		}
		var anyUser bool
		if err := tx.GetContext(ctx, &anyUser, `SELECT EXISTS (SELECT 1 FROM app_user)`); err != nil {
			return err
		}
		settings := fmt.Sprintf(`{"timezone":%q,"currency":%q}`, DefaultTimezone, DefaultCurrency)
		base := Slugify(r.TenantName)
		for i := 1; ; i++ {
			slug := base
			if i > 1 {
				slug = fmt.Sprintf("%s-%d", base, i)
			}
			err := tx.GetContext(ctx, &t, `INSERT INTO tenant (name, slug, settings) VALUES ($1, $2, $3)
				ON CONFLICT (slug) DO NOTHING RETURNING `+tenantColumns, strings.TrimSpace(r.TenantName), slug, settings)
			if err == nil {
				break
			}
			if err != sql.ErrNoRows {
				return err
			}
			if i >= 1000 {
				return ErrConflict
			}
		}
		err := tx.GetContext(ctx, &u, `INSERT INTO app_user (tenant_id, email, username, password_hash, role, is_platform_admin)
			VALUES ($1, $2, NULLIF($3, ''), $4, 'admin', $5) RETURNING `+userColumns,
			t.ID, strings.ToLower(r.Email), r.Username, r.PasswordHash, !anyUser)
		if err != nil {
			return err
		}
		if err := createToken(ctx, tx, u, PurposeVerifyEmail, r.VerifyTokenHash, VerifyEmailTTL); err != nil {
			return err
		}
		mail := r.VerifyEmail
		mail.TenantID, mail.To = t.ID, u.Email.String
		if err := enqueueEmail(ctx, tx, mail); err != nil {
			return err
		}
		return recordAudit(ctx, tx, AuditEntry{TenantID: t.ID, ActorID: u.ID, ActorLabel: u.DisplayName(),
			Action: "auth.register", TargetType: "tenant", TargetID: t.ID, IP: r.IP,
			After: map[string]any{"tenant": t.Name, "slug": t.Slug, "platform_admin": u.IsPlatformAdmin}})
	})
	return u, t, err
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// Slugify makes a URL-friendly identifier from a name: "Café Müller & Co"
// becomes "cafe-muller-co". A name with nothing usable gets "team".
func Slugify(name string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(name)) {
		if r < 0x80 { // drop the combining accents NFD split off
			b.WriteRune(r)
		}
	}
	slug := strings.Trim(nonSlug.ReplaceAllString(b.String(), "-"), "-")
	if len(slug) > 48 {
		slug = strings.TrimRight(slug[:48], "-")
	}
	if slug == "" {
		return "team"
	}
	return slug
}
