package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/views"
)

// Settings shows the signed-in user's own preferences.
func (h *Handlers) Settings(c echo.Context) error {
	u, _ := auth.Viewer(c)
	return render(c, http.StatusOK, views.Settings(views.SettingsPage{TimeZone: u.TimeZone, Hour12: u.Hour12,
		Hospital: h.clock, Saved: c.QueryParam("saved") == "1"}))
}

// SettingsSave records how the user reads times: a time zone (any IANA name, or none for the
// hospital's) and a 12- or 24-hour clock. A bad zone is shown next to its field, keeping what was
// typed.
func (h *Handlers) SettingsSave(c echo.Context) error {
	u, _ := auth.Viewer(c)
	zone, ok := formText(c, "time_zone", 64)
	hour12 := c.FormValue("clock") == "12"
	problem := ""
	if !ok {
		problem = "The time zone is too long or holds characters that cannot be in a zone name."
	} else if zone != "" {
		if _, err := rpm.LoadClock(zone, hour12); err != nil {
			problem = "“" + zone + "” is not a time zone Vigil knows: use an IANA name such as Europe/London or America/New_York, or leave it empty for the hospital's."
		}
	}
	if problem != "" {
		return render(c, http.StatusUnprocessableEntity, views.Settings(views.SettingsPage{TimeZone: zone, Hour12: hour12,
			Hospital: h.clock, Problem: problem}))
	}
	if err := h.store.SetUserClock(c.Request().Context(), u.ID, zone, hour12); err != nil {
		return err
	}
	if err := h.audit(c, rpm.ActionUserSettings, "", "user", u.ID); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/settings?saved=1")
}
