package jobs_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"adpilot/bot"
	"adpilot/config"
	"adpilot/jobs"
	"adpilot/testutil"
)

// Two replicas share a database and a bot token: exactly one long-polls
// (Telegram answers 409 to a second poller), and updates reach the bot.
func TestTelegramPollingRunsOnOneReplica(t *testing.T) {
	tg := testutil.NewFakeTelegram(t)
	dbURL := testutil.NewMigratedDatabase(t)
	cfg, err := config.FromMap(map[string]string{"ENV": "test", "DATABASE_URL": dbURL,
		"TELEGRAM_BOT_TOKEN": tg.Token, "TELEGRAM_API_URL": tg.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var bots [2]*bot.Bot
	for i := range bots {
		logger := slog.New(slog.NewTextHandler(io.Discard, nil))
		store := testutil.OpenStore(t, dbURL)
		if bots[i], err = bot.New(cfg, store, logger, bot.Options{}); err != nil {
			t.Fatal(err)
		}
		s, err := newScheduler(t, cfg, store, logger, jobs.WithBot(bots[i]))
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	}
	deadline := time.Now().Add(10 * time.Second)
	for tg.PollCount() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("nobody polled (%d getUpdates)", tg.PollCount())
		}
		time.Sleep(20 * time.Millisecond)
	}
	polling := 0
	for _, b := range bots {
		if b.Polling() {
			polling++
		}
	}
	if polling != 1 || tg.Conflicts() != 0 {
		t.Fatalf("%d replicas poll, %d conflicts; want exactly one poller and no 409", polling, tg.Conflicts())
	}
	tg.QueueMessage(42, "", "private", 42, "someone", "/help")
	for len(tg.SentTo(42)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a polled update got no answer")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(tg.SentTo(42)[0].Text, "/status") {
		t.Fatalf("answer = %q", tg.SentTo(42)[0].Text)
	}
}
