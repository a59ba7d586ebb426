// Command adpilot is a self-hosted server that automates Facebook and TikTok
// marketing: scheduled reports, alerts and data syncs delivered to Telegram,
// webhooks and email.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"
	_ "time/tzdata" // IANA zones for schedules and settings, even on hosts without them

	"github.com/labstack/echo/v4"

	"adpilot/app"
	"adpilot/config"
	"adpilot/models"
	"adpilot/vault"
)

// version is set at build time: -ldflags "-X main.version=...".
var version = "dev"

const usage = `adpilot: self-hosted Facebook and TikTok marketing automation

Usage:
  adpilot [serve]                  run the web server, jobs and bot (default)
  adpilot migrate up|down|status   apply all, roll back the last, or list migrations
  adpilot keygen                   print a fresh random secret for MASTER_SECRET_KEY
  adpilot keys rotate              re-encrypt stored tokens under MASTER_SECRET_KEY
                                   (the old key in MASTER_SECRET_KEY_PREVIOUS)
  adpilot version                  print the version
  adpilot help                     show this help

Configuration comes from the environment and an optional .env file;
README.md lists every variable.
`

// exitUsage is the exit code for a command line we do not understand.
const exitUsage = 2

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, nil))
}

// run executes one command and returns the process exit code. mount, when
// set, adds routes to the server (the shutdown test uses it).
func run(args []string, stdout, stderr io.Writer, mount func(*echo.Echo)) int {
	cmd, rest := "serve", args
	if len(args) > 0 {
		cmd, rest = args[0], args[1:]
	}
	if slices.ContainsFunc(rest, isHelpFlag) {
		cmd = "help"
	}
	switch cmd {
	case "serve":
		if !noArgs(cmd, rest, stderr) {
			return exitUsage
		}
		return serve(stderr, mount)
	case "migrate":
		if len(rest) != 1 {
			fmt.Fprintf(stderr, "adpilot migrate: expected one of up, down, status\n\n%s", usage)
			return exitUsage
		}
		return migrateCmd(rest[0], stdout, stderr)
	case "keygen":
		if !noArgs(cmd, rest, stderr) {
			return exitUsage
		}
		fmt.Fprintln(stdout, config.GenerateSecret())
		return 0
	case "keys":
		if len(rest) != 1 || rest[0] != "rotate" {
			fmt.Fprintf(stderr, "adpilot keys: expected rotate\n\n%s", usage)
			return exitUsage
		}
		return rotateKeys(stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, version)
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "adpilot: unknown command or flag %q\n\n%s", cmd, usage)
		return exitUsage
	}
}

func isHelpFlag(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

// noArgs parses a command's (empty) flag set and refuses anything with the
// usage text. (-h is answered by the caller before this.)
func noArgs(cmd string, args []string, stderr io.Writer) bool {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		what := fmt.Sprint(fs.Args())
		if err != nil {
			what = err.Error()
		}
		fmt.Fprintf(stderr, "adpilot %s: unexpected arguments: %s\n\n%s", cmd, what, usage)
		return false
	}
	return true
}

// setup loads the configuration and builds the logger. Configuration errors
// are printed whole, each naming its variable.
func setup(stderr io.Writer) (*config.Config, *slog.Logger, bool) {
	boot := slog.New(slog.NewTextHandler(stderr, nil))
	cfg, err := config.Load(boot)
	if err != nil {
		fmt.Fprintf(stderr, "adpilot: %v\n", err)
		return nil, nil, false
	}
	return cfg, app.NewLogger(cfg, stderr), true
}

func openStore(ctx context.Context, cfg *config.Config) (*models.Store, error) {
	return models.Open(ctx, cfg.DatabaseURL, models.PoolConfig{
		MaxOpenConns:    cfg.DBMaxOpenConns,
		MaxIdleConns:    cfg.DBMaxIdleConns,
		ConnMaxLifetime: cfg.DBConnMaxLifetime.Duration(),
	})
}

func serve(stderr io.Writer, mount func(*echo.Echo)) int {
	cfg, logger, ok := setup(stderr)
	if !ok {
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C or SIGTERM now kills at once
	}()

	store, err := openStore(ctx, cfg)
	if err != nil {
		logger.Error("cannot start", "err", err)
		return 1
	}
	defer func() {
		if err := store.Close(); err != nil {
			logger.Warn("closing database", "err", err)
		}
		logger.Info("stopped")
	}()

	started := time.Now()
	n, err := store.MigrateUp(ctx)
	if err != nil {
		logger.Error("cannot start: database migrations failed", "err", err)
		return 1
	}
	logger.Info("database ready", "migrations_applied", n, "took", time.Since(started).Round(time.Millisecond))

	a, err := app.New(cfg, store, logger, version)
	if err != nil {
		logger.Error("cannot start", "err", err)
		return 1
	}
	if mount != nil {
		mount(a.Echo())
	}
	if err := a.Serve(ctx); err != nil {
		logger.Error("server stopped with an error", "err", err)
		return 1
	}
	return 0
}

// commandStore sets up a one-shot command: configuration, logger and an
// open store (the caller closes it).
func commandStore(ctx context.Context, name string, stderr io.Writer) (*config.Config, *slog.Logger, *models.Store, bool) {
	cfg, logger, ok := setup(stderr)
	if !ok {
		return nil, nil, nil, false
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		logger.Error(name, "err", err)
		return nil, nil, nil, false
	}
	return cfg, logger, store, true
}

func migrateCmd(direction string, stdout, stderr io.Writer) int {
	if direction != "up" && direction != "down" && direction != "status" {
		fmt.Fprintf(stderr, "adpilot migrate: unknown direction %q (want up, down or status)\n\n%s", direction, usage)
		return exitUsage
	}
	ctx := context.Background()
	_, logger, store, ok := commandStore(ctx, "migrate", stderr)
	if !ok {
		return 1
	}
	defer store.Close()

	switch direction {
	case "up":
		n, err := store.MigrateUp(ctx)
		if err != nil {
			logger.Error("migrate up", "err", err)
			return 1
		}
		fmt.Fprintf(stdout, "applied %d migration(s)\n", n)
	case "down":
		n, err := store.MigrateDown(ctx)
		if err != nil {
			logger.Error("migrate down", "err", err)
			return 1
		}
		fmt.Fprintf(stdout, "rolled back %d migration(s)\n", n)
	case "status":
		statuses, err := store.MigrationStatuses(ctx)
		if err != nil {
			logger.Error("migrate status", "err", err)
			return 1
		}
		for _, m := range statuses {
			state := "pending"
			if !m.AppliedAt.IsZero() {
				state = "applied " + m.AppliedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(stdout, "%-40s %s\n", m.ID, state)
		}
	}
	return 0
}

// rotateKeys re-encrypts every stored token under the current key. Run it
// after moving the old MASTER_SECRET_KEY to MASTER_SECRET_KEY_PREVIOUS and
// setting a new one; then MASTER_SECRET_KEY_PREVIOUS can be removed.
func rotateKeys(stdout, stderr io.Writer) int {
	ctx := context.Background()
	cfg, logger, store, ok := commandStore(ctx, "keys rotate", stderr)
	if !ok {
		return 1
	}
	defer store.Close()
	current, previous := cfg.VaultKeys()
	keyring, err := vault.New(current, previous...)
	if err != nil {
		logger.Error("keys rotate", "err", err)
		return 1
	}
	store.SetVault(keyring)
	n, err := store.RotateVault(ctx)
	if err != nil {
		logger.Error("keys rotate: stopped; fix the cause and run it again (finished rows are skipped)", "rotated", n, "err", err)
		return 1
	}
	fmt.Fprintf(stdout, "re-encrypted %d value(s) under the current key\n", n)
	return 0
}
