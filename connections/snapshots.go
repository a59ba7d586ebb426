package connections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"adpilot/models"
	"adpilot/platforms"
)

// Account-level daily snapshots feed the dashboard's chart.
const (
	// SnapshotDays is how far back a connection's first fetch goes.
	SnapshotDays = 30
	// snapshotLookback: days fetched again each time, for late conversions.
	snapshotLookback = 2
	// SnapshotStale: a connection whose snapshots are older is fetched again.
	SnapshotStale = time.Hour
)

// RefreshSnapshots fetches an ad connection's account-level daily rows, from
// SnapshotDays ago the first time, else from its newest stored day minus a
// short lookback, up to today in the account's zone, and stores them. It
// returns how many days were new or changed. Creators and Pages have no
// daily insights: nothing to do.
func (s *Service) RefreshSnapshots(ctx context.Context, tenantID, connectionID string, now time.Time) (int, error) {
	conn, creds, err := s.store.ConnectionCredentials(ctx, tenantID, connectionID)
	if err != nil {
		return 0, err
	}
	if conn.Kind != platforms.KindAdAccount && conn.Kind != platforms.KindAdvertiser {
		return 0, nil
	}
	if !conn.IsValid {
		return 0, errors.New("the connection is invalid: reconnect it")
	}
	client, ok := s.platforms.Client(conn.Platform)
	if !ok || client == nil {
		return 0, fmt.Errorf("no client for platform %q", conn.Platform)
	}
	loc := s.accountZone(ctx, conn)
	y, m, d := now.In(loc).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	since := today.AddDate(0, 0, 1-SnapshotDays)
	last, err := s.store.LastSnapshotDay(ctx, tenantID, conn.ID)
	if err != nil {
		return 0, err
	}
	if last != nil {
		if from := last.UTC().AddDate(0, 0, -snapshotLookback); from.After(since) {
			since = from
		}
	}
	rows, err := client.Insights(ctx, platforms.Credentials{AccessToken: creds.AccessToken, AccountRef: conn.AccountRef, Kind: conn.Kind},
		InsightsQuery(conn, platforms.LevelAccount, since, today))
	if err != nil {
		_ = s.ReportCallError(ctx, conn, err)
		return 0, err
	}
	snaps := make([]models.Snapshot, 0, len(rows))
	for _, r := range rows {
		snaps = append(snaps, models.Snapshot{ConnectionID: conn.ID, Level: string(platforms.LevelAccount), EntityID: conn.AccountRef,
			EntityName: conn.AccountName, Day: r.Date.UTC().Truncate(24 * time.Hour), Currency: r.Currency, Spend: r.Spend,
			Impressions: r.Impressions, Clicks: r.Clicks, Conversions: r.Conversions, Revenue: r.Revenue})
	}
	if len(snaps) == 0 {
		// Nothing spent in the range: one empty row for today records the
		// fetch, so the sweep does not ask again within the hour.
		snaps = append(snaps, models.Snapshot{ConnectionID: conn.ID, Level: string(platforms.LevelAccount), EntityID: conn.AccountRef,
			EntityName: conn.AccountName, Day: today})
	}
	changed, err := s.store.SaveSnapshots(ctx, tenantID, snaps)
	return len(changed), err
}

// accountZone is where the account counts its days: its own zone, else the
// tenant's, else UTC.
func (s *Service) accountZone(ctx context.Context, conn models.Connection) *time.Location {
	if name, _ := conn.MetaMap()["timezone_name"].(string); name != "" {
		if loc, err := time.LoadLocation(name); err == nil && name != "Local" {
			return loc
		}
	}
	if t, err := s.store.GetTenant(ctx, conn.TenantID); err == nil {
		if name := t.ParsedSettings().Timezone; name != "" && name != "Local" {
			if loc, err := time.LoadLocation(name); err == nil {
				return loc
			}
		}
	}
	return time.UTC
}

// RefreshDueSnapshots refreshes the snapshots of up to limit connections not
// fetched within SnapshotStale (a leader job's sweep; it also catches up
// connections whose backfill at connect time was cut short).
func (s *Service) RefreshDueSnapshots(ctx context.Context, now time.Time, limit int) (refreshed int, err error) {
	due, err := s.store.SnapshotsDue(ctx, now.Add(-SnapshotStale), limit)
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, d := range due {
		if ctx.Err() != nil {
			break
		}
		if _, err := s.RefreshSnapshots(ctx, d.TenantID, d.ID, now); err != nil {
			errs = append(errs, fmt.Errorf("connection %s: %w", d.ID, err))
			continue
		}
		refreshed++
	}
	return refreshed, errors.Join(errs...)
}
