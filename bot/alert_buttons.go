package bot

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	tg "github.com/go-telegram/bot"
	tgm "github.com/go-telegram/bot/models"
	"github.com/google/uuid"

	"adpilot/models"
	"adpilot/notify"
	"adpilot/platforms"
	"adpilot/reports"
)

// Alert button actions.
const (
	actionSnooze      = "s"
	actionAcknowledge = "a"
	actionPauseEntity = "x"
)

// SnoozeFor is how long "Snooze 24h" silences an alert for an entity.
const SnoozeFor = 24 * time.Hour

// entityToken shortens an alert's entity key (connection:level:entity, too
// long for callback data) to 11 characters; a press finds the key again
// among the automation's alert states.
func entityToken(key string) string {
	sum := sha256.Sum256([]byte(key))
	return base64.RawURLEncoding.EncodeToString(sum[:8])
}

// AlertButtons builds the Pause (when allowed), Snooze 24h and Acknowledge
// buttons of one fired entity, with signed callback data (engine.Deps).
func (b *Bot) AlertButtons(automationID, entityKey string, canPause bool) [][]notify.Button {
	u, err := uuid.Parse(automationID)
	if err != nil {
		return nil
	}
	ref := base64.RawURLEncoding.EncodeToString(u[:]) + "." + entityToken(entityKey)
	button := func(text, action string) notify.Button {
		payload := action + ":" + ref
		return notify.Button{Text: text, CallbackData: payload + ":" + b.mac(payload)}
	}
	row := []notify.Button{}
	if canPause {
		row = append(row, button("Pause", actionPauseEntity))
	}
	row = append(row, button("Snooze 24h", actionSnooze), button("Acknowledge", actionAcknowledge))
	return [][]notify.Button{row}
}

// onAlertButton acts on an alert button: the member's role is checked, the
// entity's alert state changes (or the entity is paused on its platform),
// the action is audited, and the message shows the outcome.
func (b *Bot) onAlertButton(ctx context.Context, q *tgm.CallbackQuery, action, ref string, u models.User) {
	autoPart, token, ok := strings.Cut(ref, ".")
	raw, err := base64.RawURLEncoding.DecodeString(autoPart)
	if !ok || err != nil || len(raw) != 16 {
		b.answer(ctx, q.ID, "This button is not valid any more.")
		return
	}
	automationID := uuid.UUID(raw).String()
	a, err := b.store.GetAutomation(ctx, u.TenantID, automationID)
	if err != nil {
		b.answer(ctx, q.ID, "That alert is gone.")
		return
	}
	states, err := b.store.AlertStates(ctx, u.TenantID, a.ID)
	if err != nil {
		b.answer(ctx, q.ID, "Something went wrong; try again.")
		return
	}
	key := ""
	for k := range states {
		if entityToken(k) == token {
			key = k
		}
	}
	if key == "" {
		b.answer(ctx, q.ID, "That alert is no longer firing.")
		return
	}
	var st reports.State
	_ = json.Unmarshal(states[key], &st)
	now := b.now()
	var done string
	switch action {
	case actionSnooze:
		st, done = st.Snooze(now, SnoozeFor), "Snoozed for 24 hours"
	case actionAcknowledge:
		st, done = st.Acknowledge(now), "Acknowledged"
	case actionPauseEntity:
		var problem string
		if done, problem = b.pauseEntity(ctx, u, a, key); problem != "" {
			b.answer(ctx, q.ID, problem)
			return
		}
	}
	if action != actionPauseEntity {
		if err := b.store.SaveAlertState(ctx, u.TenantID, a.ID, key, st, now); err != nil {
			b.answer(ctx, q.ID, "Something went wrong; try again.")
			return
		}
	}
	b.audit(ctx, u, "alert."+map[string]string{actionSnooze: "snooze", actionAcknowledge: "acknowledge", actionPauseEntity: "pause"}[action],
		map[string]any{"automation": a.ID, "entity": key, "via": "telegram"})
	note := done + " by " + u.DisplayName()
	b.answer(ctx, q.ID, note)
	if q.Message.Message != nil {
		m := q.Message.Message
		ectx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		// The original's formatting is not given back by Telegram: the
		// edited message is its plain text plus the outcome.
		if _, err := b.api.EditMessageText(ectx, &tg.EditMessageTextParams{ChatID: m.Chat.ID, MessageID: m.ID,
			Text: esc(m.Text) + "\n\n<b>" + esc(note) + "</b>", ParseMode: tgm.ParseModeHTML}); err != nil {
			b.logger.Warn("telegram: editing the alert failed", "err", scrub(err.Error(), b.api.Token()))
		}
	}
}

// pauseEntity pauses the entity behind an alert key on its platform. It
// returns what was done, or the problem to tell the member.
func (b *Bot) pauseEntity(ctx context.Context, u models.User, a models.Automation, key string) (done, problem string) {
	parts := strings.SplitN(key, ":", 3)
	if len(parts) != 3 || parts[1] == string(platforms.LevelAccount) {
		return "", "This alert cannot pause anything."
	}
	if b.platforms == nil {
		return "", "Pausing is not available here."
	}
	conn, creds, err := b.store.ConnectionCredentials(ctx, u.TenantID, parts[0])
	if err != nil {
		return "", "That account is no longer connected."
	}
	client, ok := b.platforms.Client(conn.Platform)
	if !ok {
		return "", "That platform is not available."
	}
	cred := platforms.Credentials{AccessToken: creds.AccessToken, AccountRef: conn.AccountRef, Kind: conn.Kind}
	if err := client.SetStatus(ctx, cred, platforms.Level(parts[1]), parts[2], false); err != nil {
		b.audit(ctx, u, "alert.pause", map[string]any{"automation": a.ID, "entity": key, "ok": false, "error": err.Error()})
		return "", "Pausing failed: " + err.Error()
	}
	return "Paused", ""
}
