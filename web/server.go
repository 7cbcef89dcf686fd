// Package web assembles Vigil's HTTP server: the route table (routes.go, the only place routes are
// declared), the middleware, the one error handler, and start and shutdown.
package web

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/handlers"
	"github.com/vigil-rpm/vigil/static"
)

// Timeouts of the HTTP server. There is no write timeout: live connections (WebSockets) stay open
// for hours and manage their own deadlines.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 60 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
	maxBodyBytes      = "1MiB" // 1,048,576 bytes, as docs/API.md promises intake ("M" alone would be 10^6)
)

// Config is what the server is built from.
type Config struct {
	Handlers *handlers.Handlers
	Sessions *auth.Sessions
	// Provider is the built-in OpenID provider, mounted at /oidc; nil unless deliberately enabled.
	Provider http.Handler
	Assets   *static.Assets
	Log      *slog.Logger
	// Registry receives the server's metrics and is served at /metrics. Nil makes a new one.
	Registry *prometheus.Registry
	// Secure says Vigil is served over HTTPS (directly or behind a proxy): HSTS is sent.
	Secure bool
	// OnShutdown runs when shutdown begins, e.g. to tell live dashboards to reconnect elsewhere
	// (the HTTP server does not track upgraded connections).
	OnShutdown func()
	// TrustedProxies are the proxies whose X-Forwarded-For Vigil believes; from anyone else the
	// header is ignored and the connection's own address is the client's.
	TrustedProxies []*net.IPNet
}

// Server is Vigil's HTTP server.
type Server struct {
	echo *echo.Echo
	http *http.Server
	log  *slog.Logger
}

// New builds the server: middleware, error handler and routes.
func New(cfg Config) *Server {
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	s := &Server{echo: e, log: cfg.Log}
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = clientIP(cfg.TrustedProxies)
	e.Use(
		requestID,
		observe(cfg.Log, newMetrics(cfg.Registry)),
		middleware.RecoverWithConfig(middleware.RecoverConfig{DisableErrorHandler: true, DisablePrintStack: true}),
		securityHeaders(cfg.Secure),
		middleware.BodyLimit(maxBodyBytes),
	)
	s.routes(cfg)
	s.http = &http.Server{
		Handler:           e,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(cfg.Log.Handler(), slog.LevelWarn),
	}
	if cfg.OnShutdown != nil {
		s.http.RegisterOnShutdown(cfg.OnShutdown)
	}
	return s
}

// Handler is the server's root handler, for tests.
func (s *Server) Handler() http.Handler { return s.echo }

// Serve accepts connections on ln until Shutdown; it returns nil after a clean shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops accepting connections and waits, until ctx ends, for requests in flight.
func (s *Server) Shutdown(ctx context.Context) error { return s.http.Shutdown(ctx) }

// clientIP decides where a request comes from, for the audit trail and the logs: the connection's
// address, or — only when that is a trusted proxy — the address the proxy reports.
func clientIP(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
