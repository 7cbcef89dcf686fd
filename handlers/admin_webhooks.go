package handlers

import (
	"context"
	"net/http"
	"net/url"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/views"
)

// webhookDeliveriesShown is how many of each webhook's latest deliveries the teams page lists.
const webhookDeliveriesShown = 5

// AdminWebhookCreate adds a webhook to a team and shows its signing secret, this once.
func (h *Handlers) AdminWebhookCreate(c echo.Context) error {
	ctx := c.Request().Context()
	target, ok := formText(c, "url", 2000)
	if !ok || !webhookURLAllowed(target) {
		return h.renderTeams(c, http.StatusUnprocessableEntity,
			"A webhook URL must start with https:// (http:// only for localhost or 127.0.0.1) and carry no user name or password.")
	}
	var createdBy string
	if u, ok := auth.Viewer(c); ok {
		createdBy = u.ID
	}
	w, secret, err := h.store.CreateWebhook(ctx, c.Param("team"), target, createdBy)
	if err != nil {
		return notFoundAs(err, rpm.Errorf(rpm.ENotFound, "There is no such care team."))
	}
	if err := h.audit(c, rpm.ActionWebhookChange, "", "webhook", w.ID); err != nil {
		return err
	}
	teams, err := h.store.Teams(ctx)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(teams, func(t store.TeamWithMembers) bool { return t.ID == w.TeamID })
	if i < 0 {
		return rpm.Errorf(rpm.ENotFound, "There is no such care team.")
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return render(c, http.StatusCreated, views.WebhookSecretPage(teams[i].Name, w.URL, secret))
}

// AdminWebhookEnable switches a team's webhook on again.
func (h *Handlers) AdminWebhookEnable(c echo.Context) error { return h.setWebhookEnabled(c, true) }

// AdminWebhookDisable switches a team's webhook off: it gets no new deliveries and its pending ones
// are given up.
func (h *Handlers) AdminWebhookDisable(c echo.Context) error { return h.setWebhookEnabled(c, false) }

func (h *Handlers) setWebhookEnabled(c echo.Context, enabled bool) error {
	id := c.Param("webhook")
	if err := h.store.SetWebhookEnabled(c.Request().Context(), c.Param("team"), id, enabled); err != nil {
		return notFoundAs(err, rpm.Errorf(rpm.ENotFound, "That team has no such webhook."))
	}
	if err := h.audit(c, rpm.ActionWebhookChange, "", "webhook", id); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/teams")
}

// AdminWebhookDelete removes a team's webhook and its deliveries.
func (h *Handlers) AdminWebhookDelete(c echo.Context) error {
	id := c.Param("webhook")
	if err := h.store.DeleteWebhook(c.Request().Context(), c.Param("team"), id); err != nil {
		return notFoundAs(err, rpm.Errorf(rpm.ENotFound, "That team has no such webhook."))
	}
	if err := h.audit(c, rpm.ActionWebhookChange, "", "webhook", id); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/teams")
}

// webhookURLAllowed says whether alert events may be sent to raw: over https, or over plain http
// to this machine only, for testing; never with credentials in the URL, which the page shows.
func webhookURLAllowed(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		host := u.Hostname()
		return host == "localhost" || host == "127.0.0.1" || host == "::1"
	}
	return false
}

// teamWebhooks fills in each team's webhooks with their latest deliveries.
func (h *Handlers) teamWebhooks(ctx context.Context, teams []views.TeamAdmin) error {
	hooks, err := h.store.Webhooks(ctx)
	if err != nil {
		return err
	}
	ids := make([]string, len(hooks))
	for i, w := range hooks {
		ids[i] = w.ID
	}
	recent, err := h.store.RecentDeliveries(ctx, ids, webhookDeliveriesShown)
	if err != nil {
		return err
	}
	for i := range teams {
		for _, w := range hooks {
			if w.TeamID == teams[i].ID {
				teams[i].Webhooks = append(teams[i].Webhooks, webhookAdmin(w, recent[w.ID]))
			}
		}
	}
	return nil
}

func webhookAdmin(w store.Webhook, deliveries []store.WebhookDelivery) views.WebhookAdmin {
	v := views.WebhookAdmin{ID: w.ID, URL: w.URL, Fingerprint: w.Fingerprint, Enabled: w.Enabled, CreatedAt: w.CreatedAt}
	for _, d := range deliveries {
		v.Deliveries = append(v.Deliveries, views.DeliveryAdmin{At: d.CreatedAt, Event: d.Event, Attempts: d.Attempts,
			Status: d.LastStatus, Error: d.LastError, Delivered: !d.DeliveredAt.IsZero(), Failed: !d.FailedAt.IsZero(),
			NextAttempt: d.NextAttemptAt})
	}
	return v
}
