package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/vigil-rpm/vigil/alerts/watch"
	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/auth/provider"
	"github.com/vigil-rpm/vigil/demo"
	"github.com/vigil-rpm/vigil/handlers"
	"github.com/vigil-rpm/vigil/ingest"
	"github.com/vigil-rpm/vigil/live"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/static"
	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/web"
)

// sweepInterval is how often expired sessions and old rejected readings are deleted.
const sweepInterval = 10 * time.Minute

// defaultRejectedRetention is how long rejected readings are kept for data-quality review.
const defaultRejectedRetention = 30 * 24 * time.Hour

// app is Vigil wired together for serving: the store, sign-in, the handlers and the HTTP server.
type app struct {
	log       *slog.Logger
	store     *store.Store
	sessions  *auth.Sessions
	intake    *ingest.Service
	relay     *live.Relay
	hub       *live.Hub
	alerts    *watch.Engine
	server    *web.Server
	retention time.Duration
}

// appOptions are what an app is built from.
type appOptions struct {
	DatabaseURL string
	BaseURL     *url.URL
	// OIDC is the identity provider; ignored when BuiltinProvider is set.
	OIDC auth.RelyingPartyConfig
	// BuiltinProvider serves the built-in OpenID provider with the demo accounts at BaseURL/oidc
	// and signs users in through it.
	BuiltinProvider bool
	Sessions        auth.SessionConfig
	Demo            *demo.Hospital // set on a demo instance
	TrustedProxies  []*net.IPNet
	LiveRecheck     time.Duration
	// Intake tunes device intake; RejectedRetention is how long rejected readings are kept.
	Intake            ingest.Options
	RejectedRetention time.Duration
	// Alerts tunes the alert engine.
	Alerts watch.Options
	// Clock is the hospital's: the time zone pages (for users who chose none), alert notes and
	// webhook texts show times in.
	Clock rpm.Clock
	Log   *slog.Logger
}

// newApp connects to the database and builds the server. The schema must already be current.
func newApp(ctx context.Context, opts appOptions) (*app, error) {
	st, err := store.Open(ctx, opts.DatabaseURL)
	if err != nil {
		return nil, err
	}
	assets, err := static.New()
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("load static assets: %w", err)
	}
	base := opts.BaseURL.String()
	rpConfig := opts.OIDC
	var op http.Handler
	if opts.BuiltinProvider {
		users := demo.New().Users
		if opts.Demo != nil {
			users = opts.Demo.Users // the bench's hospital adds its own clinicians
		}
		if op, rpConfig, err = builtinProvider(base, assets.URL("css/vigil.css"), users, opts.Log); err != nil {
			st.Close()
			return nil, err
		}
	}
	rpConfig.RedirectURL, rpConfig.PostLogoutURL = base+"/auth/callback", base+"/"
	opts.Sessions.Secure = opts.BaseURL.Scheme == "https"
	sessions := auth.NewSessions(st, opts.Sessions, opts.Log)
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	hub := live.NewHub()
	opts.Alerts.Log = opts.Log
	opts.Alerts.Clock = opts.Clock
	engine := watch.New(st, opts.Alerts)
	relay := live.NewRelay(hub, live.PGBus{Store: st}, st, engine, opts.Log)
	opts.Intake.Log = opts.Log
	opts.Intake.Consumers = append(opts.Intake.Consumers, relay)
	opts.Intake.Evaluator = engine
	intake := ingest.New(st, opts.Intake)
	h := handlers.New(st, handlers.Options{
		Sessions: sessions, RelyingParty: auth.NewRelyingParty(rpConfig), Intake: intake, Hub: hub, Alerts: engine,
		LiveRecheck: opts.LiveRecheck, Demo: opts.Demo, Clock: opts.Clock,
		AssetURL: assets.URL, Modules: assets.ImportMap(), Log: opts.Log,
	})
	server := web.New(web.Config{
		Handlers: h, Sessions: sessions, Provider: op, Assets: assets, Log: opts.Log, Registry: registry,
		Secure: opts.Sessions.Secure, TrustedProxies: opts.TrustedProxies, OnShutdown: hub.CloseAll,
	})
	if opts.RejectedRetention == 0 {
		opts.RejectedRetention = defaultRejectedRetention
	}
	return &app{log: opts.Log, store: st, sessions: sessions, intake: intake, relay: relay, hub: hub, alerts: engine, server: server, retention: opts.RejectedRetention}, nil
}

// builtinProvider makes the built-in OpenID provider with the given demo accounts, and the
// relying-party settings that sign in through it with a client secret made for this process.
func builtinProvider(base, stylesheet string, accounts []demo.User, log *slog.Logger) (http.Handler, auth.RelyingPartyConfig, error) {
	issuer, secret := base+"/oidc", randomSecret()
	users := make([]provider.User, len(accounts))
	for i, u := range accounts {
		roles := make([]string, len(u.Roles))
		for j, r := range u.Roles {
			roles[j] = string(r)
		}
		users[i] = provider.User{Subject: demo.Subject(u.Username), Username: u.Username, Password: demo.Password,
			Name: u.DisplayName, Email: u.Username + "@demo.vigil.invalid", Roles: roles}
	}
	op, err := provider.New(provider.Config{
		Issuer: issuer, Users: users, RoleClaim: "roles", Log: log, Stylesheet: stylesheet,
		Clients: []provider.Client{{ID: "vigil", Secret: secret,
			RedirectURIs: []string{base + "/auth/callback"}, PostLogoutRedirectURIs: []string{base + "/"}}},
	})
	if err != nil {
		return nil, auth.RelyingPartyConfig{}, fmt.Errorf("start the built-in OpenID provider: %w", err)
	}
	return op, auth.RelyingPartyConfig{Issuer: issuer, ClientID: "vigil", ClientSecret: secret, RoleClaim: "roles"}, nil
}

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// run serves on ln until ctx ends, then shuts down in dependency order: stop taking requests and
// finish those in flight (up to timeout), stop background work, then close the database pool.
func (a *app) run(ctx context.Context, ln net.Listener, timeout time.Duration) error {
	served := make(chan error, 1)
	go func() { served <- a.server.Serve(ln) }()
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	var background sync.WaitGroup
	background.Go(func() { a.sweep(bgCtx) })
	background.Go(func() { a.intake.Run(bgCtx) })
	background.Go(func() { a.relay.Run(bgCtx) })
	background.Go(func() { a.alerts.RunTimers(bgCtx) })
	background.Go(func() { a.alerts.RunWebhooks(bgCtx) })
	var err error
	select {
	case err = <-served:
	case <-ctx.Done():
		a.log.Info("shutting down")
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		if serr := a.server.Shutdown(shutdownCtx); serr != nil {
			a.log.Warn("requests still in flight at shutdown were cut off", slog.Any("err", serr))
		}
		err = <-served
	}
	stopBackground() // intake commits what is queued, then stops
	background.Wait()
	a.store.Close()
	return err
}

// sweep deletes expired sessions and rejected readings past their retention, periodically, until
// ctx ends.
func (a *app) sweep(ctx context.Context) {
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := a.sessions.DeleteExpired(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("deleting expired sessions failed", slog.Any("err", err))
			}
			if _, err := a.store.DeleteRejectedBefore(ctx, time.Now().Add(-a.retention)); err != nil && ctx.Err() == nil {
				a.log.Warn("deleting old rejected readings failed", slog.Any("err", err))
			}
		}
	}
}

// newLogger returns a structured logger writing to w in the given format ("json" or "text").
func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
