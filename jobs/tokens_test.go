package jobs_test

import (
	"context"
	"database/sql"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"adpilot/config"
	"adpilot/jobs"
	"adpilot/models"
	"adpilot/testutil"
)

// tokenFixture is one replica's jobs on a fake clock, with fake TikTok and
// Facebook platforms, and a tenant whose admin receives notices.
type tokenFixture struct {
	clock  *clockwork.FakeClock
	store  *models.Store
	db     *sql.DB
	tiktok *testutil.FakeTikTok
	fb     *testutil.FakeFacebook
	admin  models.User
	logs   *testutil.LogBuffer
}

func newTokenFixture(t *testing.T) *tokenFixture {
	t.Helper()
	f := &tokenFixture{tiktok: testutil.NewFakeTikTok(t), fb: testutil.NewFakeFacebook(t), logs: &testutil.LogBuffer{},
		clock: clockwork.NewFakeClockAt(time.Now())}
	store, dbURL := testutil.NewStore(t)
	f.store = store
	vars := map[string]string{"ENV": "test", "DATABASE_URL": dbURL, "TOKEN_REFRESH_INTERVAL": "1h"}
	maps.Copy(vars, f.tiktok.Env())
	maps.Copy(vars, f.fb.Env())
	cfg, err := config.FromMap(vars, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newScheduler(t, cfg, store, slog.New(slog.NewTextHandler(f.logs, nil)), jobs.WithClock(f.clock))
	if err != nil {
		t.Fatal(err)
	}
	f.db, err = sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.db.Close() })
	var tenant, user string
	if err := f.db.QueryRow(`INSERT INTO tenant (name, slug) VALUES ('Acme', 'acme') RETURNING id`).Scan(&tenant); err != nil {
		t.Fatal(err)
	}
	if err := f.db.QueryRow(`INSERT INTO app_user (tenant_id, email, role) VALUES ($1, 'boss@acme.test', 'admin') RETURNING id`, tenant).Scan(&user); err != nil {
		t.Fatal(err)
	}
	if f.admin, err = store.GetUser(context.Background(), tenant, user); err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return f
}

func (f *tokenFixture) connect(t *testing.T, in models.ConnectionInput) models.Connection {
	t.Helper()
	c, err := f.store.ConnectAccounts(context.Background(), f.admin, "", []models.ConnectionInput{in})
	if err != nil {
		t.Fatal(err)
	}
	return c[0]
}

// runJob moves the clock one TOKEN_REFRESH_INTERVAL and waits for the run.
func (f *tokenFixture) runJob(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	runs := strings.Count(f.logs.String(), "token health done")
	if err := f.clock.BlockUntilContext(ctx, 2); err != nil {
		t.Fatalf("timers never armed: %v", err)
	}
	f.clock.Advance(time.Hour + time.Second)
	for strings.Count(f.logs.String(), "token health done") == runs {
		if ctx.Err() != nil {
			t.Fatalf("the token job did not run:\n%s", f.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (f *tokenFixture) mails(t *testing.T, subjectPart string) int {
	t.Helper()
	var n int
	if err := f.db.QueryRow(`SELECT count(*) FROM email_outbox WHERE subject LIKE '%' || $1 || '%'`, subjectPart).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTokenJobRotatesTikTokRefreshTokens(t *testing.T) {
	f := newTokenFixture(t)
	access, refresh := f.tiktok.IssueToken("user.info.basic", "user.info.stats", "video.list")
	c := f.connect(t, models.ConnectionInput{Platform: "tiktok", Kind: "creator", AccountRef: "open-1", AccountName: "Creator",
		AccessToken: access, RefreshToken: refresh, ExpiresAt: f.clock.Now().Add(2 * time.Hour)})

	f.runJob(t) // the clock is now 1 h further: the token expires within 6 h
	if n := f.tiktok.RefreshCount(); n != 1 {
		t.Fatalf("refreshed %d times, want 1\n%s", n, f.logs.String())
	}
	after, creds, err := f.store.ConnectionCredentials(context.Background(), f.admin.TenantID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessToken == access || creds.RefreshToken == refresh || creds.RefreshToken == "" {
		t.Fatalf("tokens not rotated: %+v", creds)
	}
	if !after.IsValid || after.ExpiresAt == nil || !after.ExpiresAt.After(c.ExpiresAt.Add(time.Hour)) {
		t.Fatalf("connection after refresh: %+v", after)
	}

	// The new refresh token works for the next rotation; the old one was
	// retired by TikTok, so storing the new one was essential.
	if _, err := f.db.Exec(`UPDATE ad_token SET expires_at = now() + interval '1 hour' WHERE id = $1`, c.ID); err != nil {
		t.Fatal(err)
	}
	f.runJob(t)
	if n := f.tiktok.RefreshCount(); n != 2 {
		t.Fatalf("second rotation: %d refreshes, want 2\n%s", n, f.logs.String())
	}
	if after, _ := f.store.GetConnection(context.Background(), f.admin.TenantID, c.ID); !after.IsValid {
		t.Fatalf("second rotation invalidated the connection: %+v", after)
	}
}

func TestTokenJobInvalidatesARefusedTokenAndTellsAdminsOnce(t *testing.T) {
	f := newTokenFixture(t)
	access, refresh := f.tiktok.IssueToken("user.info.basic")
	c := f.connect(t, models.ConnectionInput{Platform: "tiktok", Kind: "creator", AccountRef: "open-2", AccountName: "Gone Creator",
		AccessToken: access, RefreshToken: refresh, ExpiresAt: f.clock.Now().Add(2 * time.Hour)})
	f.tiktok.RevokeRefreshTokens()

	f.runJob(t)
	after, err := f.store.GetConnection(context.Background(), f.admin.TenantID, c.ID)
	if err != nil || after.IsValid || after.InvalidReason == "" {
		t.Fatalf("connection after a refused refresh: %+v, %v", after, err)
	}
	f.runJob(t)
	if n := f.mails(t, "Gone Creator needs to be reconnected"); n != 1 {
		t.Fatalf("%d notices, want exactly 1 across two runs", n)
	}
}

func TestTokenJobChecksFacebookAndWarnsBeforeExpiry(t *testing.T) {
	f := newTokenFixture(t)
	good := f.fb.IssueToken("ads_read")
	dead := f.fb.IssueToken("ads_read")
	expiring := f.connect(t, models.ConnectionInput{Platform: "facebook", Kind: "ad_account", AccountRef: "act_1", AccountName: "Main Ads",
		AccessToken: good, ExpiresAt: f.clock.Now().Add(5 * 24 * time.Hour)})
	broken := f.connect(t, models.ConnectionInput{Platform: "facebook", Kind: "ad_account", AccountRef: "act_2", AccountName: "Old Ads",
		AccessToken: dead, ExpiresAt: f.clock.Now().Add(50 * 24 * time.Hour)})
	// Only the second token dies; checks happen for rows not checked for a
	// day (the first was checked when connected, so it keeps its expiry).
	if _, err := f.db.Exec(`UPDATE ad_token SET last_validated = now() - interval '2 days' WHERE id = $1`, broken.ID); err != nil {
		t.Fatal(err)
	}
	f.fb.InvalidateToken(dead)

	f.runJob(t)
	if c, _ := f.store.GetConnection(context.Background(), f.admin.TenantID, broken.ID); c.IsValid {
		t.Fatalf("debug_token said invalid, the connection is still valid: %+v", c)
	}
	if c, _ := f.store.GetConnection(context.Background(), f.admin.TenantID, expiring.ID); !c.IsValid {
		t.Fatalf("the good token was invalidated: %+v", c)
	}
	f.runJob(t)
	if n := f.mails(t, "Main Ads expires on"); n != 1 {
		t.Fatalf("%d expiry warnings, want 1 across two runs", n)
	}
	if n := f.mails(t, "Old Ads needs to be reconnected"); n != 1 {
		t.Fatalf("%d invalid notices, want 1", n)
	}
}
