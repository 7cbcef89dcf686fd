// Package handlers holds Vigil's HTTP handlers, one file per page or action. Each has the same short
// shape: parse, authorise against the patient, call the domain, audit, render. Handlers return
// errors to the one error handler of package web and never write an internal error's text to the
// client.
package handlers

import (
	"bytes"
	"log/slog"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/alerts/watch"
	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/demo"
	"github.com/vigil-rpm/vigil/ingest"
	"github.com/vigil-rpm/vigil/live"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/views"
)

// Handlers holds what the handlers share. Build it with New.
type Handlers struct {
	store    *store.Store
	sessions *auth.Sessions
	rp       *auth.RelyingParty
	intake   *ingest.Service
	hub      *live.Hub
	alerts   *watch.Engine
	// liveRecheck is how often a live connection's access is checked again.
	liveRecheck time.Duration
	demo        *demo.Hospital
	assetURL    func(name string) string
	modules     map[string]string
	clock       rpm.Clock
	now         func() time.Time
	log         *slog.Logger
}

// Options configures the handlers.
type Options struct {
	Sessions     *auth.Sessions
	RelyingParty *auth.RelyingParty
	Intake       *ingest.Service
	Hub          *live.Hub
	// Alerts is the alert engine: clinicians' actions on alerts go through it.
	Alerts *watch.Engine
	// LiveRecheck is how often live connections re-apply the access policy (default 30 s).
	LiveRecheck time.Duration
	// Demo is the demo hospital on a demo instance, nil otherwise.
	Demo *demo.Hospital
	// AssetURL maps an asset name to its content-hashed URL.
	AssetURL func(name string) string
	// Modules maps each script module's plain URL to its content-hashed URL (the pages' import map).
	Modules map[string]string
	// Clock is the hospital's: the time zone pages show times in for users who chose none.
	Clock rpm.Clock
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// New returns the handlers over the store.
func New(st *store.Store, opts Options) *Handlers {
	h := &Handlers{store: st, sessions: opts.Sessions, rp: opts.RelyingParty, intake: opts.Intake, hub: opts.Hub, alerts: opts.Alerts, demo: opts.Demo,
		assetURL: opts.AssetURL, modules: opts.Modules, clock: opts.Clock, now: opts.Now, log: opts.Log}
	if h.now == nil {
		h.now = time.Now
	}
	h.liveRecheck = opts.LiveRecheck
	if h.liveRecheck <= 0 {
		h.liveRecheck = 30 * time.Second
	}
	if h.log == nil {
		h.log = slog.Default()
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

// PageContext is middleware that puts what every page's layout needs into the request's context:
// asset URLs and the modules' import map, the CSRF token, the signed-in user and their clock, demo
// mode.
func (h *Handlers) PageContext(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		p := views.Page{Asset: h.assetURL, Modules: h.modules, Demo: h.demo != nil, Path: r.URL.Path, Clock: h.clock, Now: h.now()}
		p.CSRFToken, _ = c.Get(auth.CSRFContextKey).(string)
		if u, ok := auth.Viewer(c); ok {
			p.Viewer = &views.Viewer{Name: u.DisplayName, Roles: u.Roles}
			p.Clock = h.clockOf(u)
		}
		c.SetRequest(r.WithContext(views.WithPage(r.Context(), p)))
		return next(c)
	}
}

// clockOf is the clock a user reads times on: their own zone if they chose one (and it is still
// known), else the hospital's; 12 or 24 hours as they chose.
func (h *Handlers) clockOf(u rpm.User) rpm.Clock {
	c := h.clock
	if u.TimeZone != "" {
		if own, err := rpm.LoadClock(u.TimeZone, false); err == nil {
			c = own
		}
	}
	c.Hour12 = u.Hour12
	return c
}

// probe is the body of a health or readiness answer.
type probe struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}
