package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/static"
)

// routes is Vigil's route table: every route the server answers, in one place. Routes that take
// a patient id name it :patient, and routes that take an alert id name it :alert, so the
// access-matrix test can find them all.
func (s *Server) routes(cfg Config) {
	e, h := s.echo, cfg.Handlers

	// Operators' probes and assets: no session.
	e.GET("/healthz", h.Healthz)
	e.GET("/readyz", h.Readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{})))
	e.GET(static.Prefix+"*", echo.WrapHandler(cfg.Assets))
	// Browsers ask for /favicon.ico whatever the page says; pages link the hashed SVG.
	e.GET("/favicon.ico", func(c echo.Context) error {
		return c.Redirect(http.StatusMovedPermanently, cfg.Assets.URL("img/favicon.svg"))
	})

	// The built-in OpenID provider (demo and tests only); it guards its own forms.
	if cfg.Provider != nil {
		e.Any("/oidc/*", echo.WrapHandler(http.StripPrefix("/oidc", cfg.Provider)))
	}

	// Device intake: devices authenticate with their own bearer tokens; no session, no CSRF.
	e.POST("/api/v1/readings", h.Intake)

	// Everything people use: session, CSRF check on every state change, page context.
	app := e.Group("", cfg.Sessions.Middleware, cfg.Sessions.CSRF, h.PageContext)
	app.GET("/", h.Landing)
	app.GET("/signin", h.SignIn)
	app.GET("/auth/callback", h.SignInCallback)

	// Signed-in users only; what each may see is then decided per patient by the handlers' gate.
	signedIn := h.RequireViewer
	app.POST("/signout", h.SignOut, signedIn)
	app.GET("/patients", h.PatientList, signedIn)
	app.GET("/patients/:patient", h.PatientPage, signedIn)
	app.POST("/patients/:patient/shares", h.ShareCreate, signedIn)
	app.POST("/patients/:patient/news2-inputs", h.NEWS2InputsRecord, signedIn)
	app.GET("/patients/:patient/rules", h.RulesPage, signedIn)
	app.POST("/patients/:patient/rules", h.RuleSave, signedIn)
	app.POST("/patients/:patient/rules/preview", h.RulePreview, signedIn)
	app.POST("/patients/:patient/rules/reset", h.RuleReset, signedIn)
	app.POST("/shares/:share/revoke", h.ShareRevoke, signedIn)
	app.GET("/me", h.Portal, signedIn)
	app.GET("/settings", h.Settings, signedIn)
	app.POST("/settings", h.SettingsSave, signedIn)
	app.GET("/live", h.Live, signedIn)
	app.POST("/patients/:patient/devices", h.PatientDeviceAssign, signedIn)
	app.POST("/patients/:patient/devices/:device/end", h.PatientDeviceEnd, signedIn)
	app.POST("/patients/:patient/devices/:device/interval", h.PatientDeviceInterval, signedIn)
	app.GET("/alerts", h.AlertInbox, signedIn)
	app.GET("/alerts/:alert", h.AlertPage, signedIn)
	app.POST("/alerts/:alert/acknowledge", h.AlertAcknowledge, signedIn)
	app.POST("/alerts/:alert/snooze", h.AlertSnooze, signedIn)
	app.POST("/alerts/:alert/resolve", h.AlertResolve, signedIn)
	app.POST("/alerts/:alert/actionable", h.AlertMark, signedIn)

	api := app.Group("/api/v1", signedIn)
	api.GET("/patients", h.APIPatients)
	api.GET("/patients/:patient", h.APIPatient)
	api.GET("/patients/:patient/readings", h.APIReadings)
	api.GET("/patients/:patient/series", h.APISeries)
	api.POST("/patients/:patient/devices", h.APIPatientDeviceAssign)
	api.DELETE("/patients/:patient/devices/:device", h.APIPatientDeviceEnd)
	api.GET("/alerts", h.APIAlerts)
	api.POST("/alerts/:alert/acknowledge", h.APIAlertAcknowledge)
	api.POST("/alerts/:alert/snooze", h.APIAlertSnooze)
	api.POST("/alerts/:alert/resolve", h.APIAlertResolve)
	api.POST("/alerts/:alert/actionable", h.APIAlertActionable)
	fleet := api.Group("/devices", h.RequireRole(rpm.RoleAdmin))
	fleet.GET("", h.APIDevices)
	fleet.POST("", h.APIDeviceCreate)
	fleet.POST("/:device/rotate", h.APIDeviceRotate)
	fleet.POST("/:device/revoke", h.APIDeviceRevoke)

	admin := app.Group("/admin", signedIn, h.RequireRole(rpm.RoleAdmin))
	admin.GET("/devices", h.AdminDevices)
	admin.POST("/devices", h.AdminDeviceCreate)
	admin.GET("/devices/:device", h.AdminDevice)
	admin.POST("/devices/:device/rotate", h.AdminDeviceRotate)
	admin.POST("/devices/:device/revoke", h.AdminDeviceRevoke)
	admin.POST("/devices/:device/status", h.AdminDeviceStatus)
	admin.GET("/teams", h.AdminTeams)
	admin.POST("/teams", h.AdminTeamCreate)
	admin.POST("/teams/:team/members", h.AdminTeamMemberSet)
	admin.POST("/teams/:team/members/:user/remove", h.AdminTeamMemberRemove)
	admin.GET("/teams/:team/rules", h.AdminTeamRules)
	admin.POST("/teams/:team/rules", h.AdminTeamRuleSave)
	admin.POST("/teams/:team/rules/reset", h.AdminTeamRuleReset)
	admin.POST("/teams/:team/webhooks", h.AdminWebhookCreate)
	admin.POST("/teams/:team/webhooks/:webhook/enable", h.AdminWebhookEnable)
	admin.POST("/teams/:team/webhooks/:webhook/disable", h.AdminWebhookDisable)
	admin.POST("/teams/:team/webhooks/:webhook/delete", h.AdminWebhookDelete)
	admin.GET("/rules", h.AdminRules)
	admin.POST("/rules", h.AdminRuleSave)
	admin.GET("/users", h.AdminUsers)
	admin.POST("/users/:user/disable", h.AdminUserDisable)
	admin.POST("/users/:user/enable", h.AdminUserEnable)
	admin.GET("/audit", h.AdminAudit)
}

// Routes lists the routes the server answers (method and path pattern), for tests that must cover
// every one.
func (s *Server) Routes() []*echo.Route { return s.echo.Routes() }
