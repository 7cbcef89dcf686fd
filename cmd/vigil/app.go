package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/vigil-rpm/vigil/handlers"
	"github.com/vigil-rpm/vigil/static"
	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/web"
)

// app is Vigil wired together for serving: the store, the handlers and the HTTP server.
type app struct {
	log    *slog.Logger
	store  *store.Store
	server *web.Server
}

// appOptions are what an app is built from.
type appOptions struct {
	DatabaseURL string
	Secure      bool                // served over HTTPS
	Demo        *store.DemoHospital // set on a demo instance
	Log         *slog.Logger
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
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h := handlers.New(st, handlers.Options{Demo: opts.Demo, AssetURL: assets.URL})
	server := web.New(web.Config{Handlers: h, Assets: assets, Log: opts.Log, Registry: registry, Secure: opts.Secure})
	return &app{log: opts.Log, store: st, server: server}, nil
}

// run serves on ln until ctx ends, then shuts down in dependency order: stop taking requests and
// finish those in flight (up to timeout), then close the database pool.
func (a *app) run(ctx context.Context, ln net.Listener, timeout time.Duration) error {
	served := make(chan error, 1)
	go func() { served <- a.server.Serve(ln) }()
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
	a.store.Close()
	return err
}

// newLogger returns a structured logger writing to w in the given format ("json" or "text").
func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
