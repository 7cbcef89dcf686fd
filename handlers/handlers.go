// Package handlers holds Vigil's HTTP handlers, one file per page or action. Each has the same short
// shape: parse, authorise against the patient, call the domain, audit, render. Handlers return
// errors to the one error handler of package web and never write an internal error's text to the
// client.
package handlers

import (
	"bytes"
	"context"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/views"
)

// Database is what the handlers need of the store so far.
type Database interface {
	Ping(ctx context.Context) error
	CheckSchema(ctx context.Context) error
}

// Handlers holds what the handlers share. Build it with New.
type Handlers struct {
	db       Database
	demo     *store.DemoHospital
	assetURL func(name string) string
	now      func() time.Time
}

// Options configures the handlers.
type Options struct {
	// Demo is the demo hospital on a demo instance, nil otherwise.
	Demo *store.DemoHospital
	// AssetURL maps an asset name to its content-hashed URL.
	AssetURL func(name string) string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// New returns the handlers over db.
func New(db Database, opts Options) *Handlers {
	h := &Handlers{db: db, demo: opts.Demo, assetURL: opts.AssetURL, now: opts.Now}
	if h.now == nil {
		h.now = time.Now
	}
	return h
}

// render writes a component with the given status. It renders into a buffer first, so a failed
// render becomes a proper error page instead of half a page.
func render(c echo.Context, status int, component templ.Component) error {
	var buf bytes.Buffer
	if err := component.Render(c.Request().Context(), &buf); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// probe is the body of a health or readiness answer.
type probe struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// PageContext is middleware that puts what every page's layout needs into the request's context.
func (h *Handlers) PageContext(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		ctx := views.WithPage(r.Context(), views.Page{Asset: h.assetURL, Demo: h.demo != nil, Path: r.URL.Path})
		c.SetRequest(r.WithContext(ctx))
		return next(c)
	}
}
