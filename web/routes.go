package web

import (
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigil-rpm/vigil/static"
)

// routes is Vigil's route table: every route the server answers, in one place.
func (s *Server) routes(cfg Config) {
	e, h := s.echo, cfg.Handlers

	// Operators' probes.
	e.GET("/healthz", h.Healthz)
	e.GET("/readyz", h.Readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{})))

	// Assets, under content-hashed URLs.
	e.GET(static.Prefix+"*", echo.WrapHandler(cfg.Assets))

	// Pages.
	e.GET("/", h.Landing)
}
