package bot

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	tgm "github.com/go-telegram/bot/models"

	"adpilot/models"
)

// HashCode is how link codes are stored: only their SHA-256.
func HashCode(code string) []byte {
	sum := sha256.Sum256([]byte(code))
	return sum[:]
}

// status answers /status: connection health, automations, the last runs.
func (b *Bot) status(ctx context.Context, chat int64, u models.User) {
	conns, err := b.store.ListConnections(ctx, u.TenantID)
	if err != nil {
		b.fail(ctx, chat, "status", err)
		return
	}
	autos, err := b.store.ListAutomations(ctx, u.TenantID)
	if err != nil {
		b.fail(ctx, chat, "status", err)
		return
	}
	runs, err := b.store.RecentRuns(ctx, u.TenantID, 5)
	if err != nil {
		b.fail(ctx, chat, "status", err)
		return
	}
	now := b.now()
	health := map[string]int{}
	var broken []string
	for _, c := range conns {
		st := c.Status(now)
		health[st]++
		if st == models.ConnectionInvalid || st == models.ConnectionExpired {
			broken = append(broken, "• "+esc(nameOr(c.AccountName, c.AccountRef))+": "+esc(nameOr(c.InvalidReason, st)))
		}
	}
	active := 0
	for _, a := range autos {
		if a.Status == models.AutomationActive {
			active++
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "<b>Connections</b>: %d valid, %d expiring, %d invalid\n", health[models.ConnectionValid],
		health[models.ConnectionExpiring], health[models.ConnectionInvalid]+health[models.ConnectionExpired])
	for _, line := range broken {
		sb.WriteString(line + "\n")
	}
	fmt.Fprintf(&sb, "\n<b>Automations</b>: %d active of %d\n", active, len(autos))
	sb.WriteString("\n<b>Last runs</b>\n")
	if len(runs) == 0 {
		sb.WriteString("none yet\n")
	}
	for _, r := range runs {
		fmt.Fprintf(&sb, "• %s: %s, %s\n", esc(r.AutomationName), esc(r.Status), r.StartedAt.UTC().Format("Jan 2 15:04 UTC"))
	}
	if len(broken) > 0 {
		sb.WriteString("\nReconnect broken accounts: " + esc(b.baseURL+"/connections"))
	}
	b.reply(ctx, chat, sb.String(), nil)
}

// automationsText and keyboard list the automations; members who may act
// get Pause/Resume and Run now buttons.
func (b *Bot) automationsView(ctx context.Context, u models.User, note string) (string, tgm.ReplyMarkup, error) {
	autos, err := b.store.ListAutomations(ctx, u.TenantID)
	if err != nil {
		return "", nil, err
	}
	var sb strings.Builder
	if note != "" {
		sb.WriteString(note + "\n\n")
	}
	sb.WriteString("<b>Automations</b>\n")
	if len(autos) == 0 {
		sb.WriteString("None yet: create one at " + esc(b.baseURL+"/automations"))
	}
	canAct := models.RoleRank(u.Role) >= models.RoleRank(models.RoleUser)
	var rows [][]tgm.InlineKeyboardButton
	for _, a := range autos {
		fmt.Fprintf(&sb, "• %s (%s): %s", esc(a.Name), esc(strings.ReplaceAll(a.Type, "_", " ")), esc(a.Status))
		if a.NextRun != nil && a.Status == models.AutomationActive {
			fmt.Fprintf(&sb, ", next %s", a.NextRun.UTC().Format("Jan 2 15:04 UTC"))
		}
		sb.WriteString("\n")
		if !canAct || len(rows) >= 20 {
			continue
		}
		row := []tgm.InlineKeyboardButton{}
		switch a.Status {
		case models.AutomationActive:
			row = append(row, tgm.InlineKeyboardButton{Text: "Pause " + short(a.Name), CallbackData: b.sign(actionPause, a.ID)},
				tgm.InlineKeyboardButton{Text: "Run now", CallbackData: b.sign(actionRunNow, a.ID)})
		case models.AutomationPaused, models.AutomationError:
			row = append(row, tgm.InlineKeyboardButton{Text: "Resume " + short(a.Name), CallbackData: b.sign(actionResume, a.ID)})
		}
		if len(row) > 0 {
			rows = append(rows, row)
		}
	}
	if !canAct && len(autos) > 0 {
		sb.WriteString("\nYour role (" + esc(u.Role) + ") can read but not change automations.")
	}
	var markup tgm.ReplyMarkup
	if len(rows) > 0 {
		markup = &tgm.InlineKeyboardMarkup{InlineKeyboard: rows}
	}
	return sb.String(), markup, nil
}

func (b *Bot) automations(ctx context.Context, chat int64, u models.User, _ int) {
	text, markup, err := b.automationsView(ctx, u, "")
	if err != nil {
		b.fail(ctx, chat, "automations", err)
		return
	}
	b.reply(ctx, chat, text, markup)
}

// report answers /report <name>: a manual run of the report automation is
// queued and executed at once (as the API's Run now), delivering to its
// destination.
func (b *Bot) report(ctx context.Context, chat int64, u models.User, name string) {
	if name == "" {
		b.reply(ctx, chat, "Which report? Send /report followed by the automation's name, for example <code>/report Daily spend</code>.", nil)
		return
	}
	if models.RoleRank(u.Role) < models.RoleRank(models.RoleUser) {
		b.reply(ctx, chat, "Your role ("+esc(u.Role)+") can read reports but not run them.", nil)
		return
	}
	a, err := b.store.FindAutomationByName(ctx, u.TenantID, name)
	if err == models.ErrNotFound || (err == nil && a.Type != "scheduled_report") {
		b.reply(ctx, chat, "There is no report automation called “"+esc(name)+"”. /automations lists them.", nil)
		return
	}
	if err != nil {
		b.fail(ctx, chat, "report", err)
		return
	}
	if _, err := b.runNow(ctx, u, a.ID); errors.Is(err, models.ErrNotFound) {
		b.reply(ctx, chat, "“"+esc(a.Name)+"” is "+esc(a.Status)+": resume it first.", nil)
		return
	} else if err != nil {
		b.fail(ctx, chat, "report", err)
		return
	}
	b.reply(ctx, chat, "Running “"+esc(a.Name)+"” now: it will arrive at its destination shortly.", nil)
}

func short(s string) string {
	r := []rune(s)
	if len(r) > 24 {
		return string(r[:23]) + "…"
	}
	return s
}

func nameOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
