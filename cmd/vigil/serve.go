package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/vigil-rpm/vigil/alerts/watch"
	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/ingest"
	"github.com/vigil-rpm/vigil/store"
)

var serveHelp = `Usage: vigil serve

Runs the production server. It is configured by environment variables:

` + settingsHelp() + `
It refuses to start while the database schema is behind this build (run "vigil migrate" first, or
set VIGIL_MIGRATE_ON_START=true). For a first look without any setup, use "vigil demo".
`

func serveCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if err := parseFlags(flag.NewFlagSet("serve", flag.ContinueOnError), args, serveHelp, stdout, stderr); err != nil {
		return err
	}
	cfg, err := loadConfig(getenv, true)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	return serve(ctx, cfg, log, nil)
}

// serve runs the production server until ctx ends. ready, if set, is called with the listening
// address once requests are accepted.
func serve(ctx context.Context, cfg config, log *slog.Logger, ready func(net.Addr)) error {
	if err := prepareSchema(ctx, cfg.DatabaseURL, cfg.MigrateOnStart, log); err != nil {
		return err
	}
	if cfg.BuiltinProvider {
		log.Warn("UNSAFE: VIGIL_INSECURE_BUILTIN_PROVIDER is on. Anyone can sign in as any demo account " +
			"(password vigil-demo), including clinicians who see patient data. Never use this with real patients.")
	}
	a, err := newApp(ctx, appOptions{
		DatabaseURL: cfg.DatabaseURL, BaseURL: cfg.BaseURL, BuiltinProvider: cfg.BuiltinProvider, Log: log,
		OIDC: auth.RelyingPartyConfig{Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID,
			ClientSecret: cfg.OIDCClientSecret, RoleClaim: cfg.OIDCRoleClaim},
		Sessions:          auth.SessionConfig{IdleTimeout: cfg.SessionIdle, Lifetime: cfg.SessionLifetime},
		TrustedProxies:    cfg.TrustedProxies,
		Intake:            ingest.Options{RatePerSecond: cfg.DeviceRate, Burst: cfg.DeviceBurst, Horizon: cfg.ReadingMaxAge},
		RejectedRetention: cfg.RejectedKeep,
		Alerts:            watch.Options{Freshness: cfg.NEWS2Freshness},
		Clock:             cfg.Clock,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		a.store.Close()
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	log.Info("serving", slog.String("addr", ln.Addr().String()), slog.String("base_url", cfg.BaseURL.String()))
	if ready != nil {
		ready(ln.Addr())
	}
	return a.run(ctx, ln, cfg.ShutdownTimeout)
}

// prepareSchema migrates when asked to, and otherwise refuses a database whose schema is behind.
func prepareSchema(ctx context.Context, databaseURL string, migrate bool, log *slog.Logger) error {
	st, err := store.Open(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if migrate {
		log.Info("applying pending migrations")
		return st.Migrate(ctx)
	}
	err = st.CheckSchema(ctx)
	if behind, ok := errors.AsType[*store.SchemaBehindError](err); ok {
		return fmt.Errorf("%w: run `vigil migrate` first, or set VIGIL_MIGRATE_ON_START=true", behind)
	}
	return err
}
