package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/views"
)

// AdminUsers lists every user for an IT admin.
func (h *Handlers) AdminUsers(c echo.Context) error {
	users, err := h.store.Users(c.Request().Context(), "")
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.Users(views.UsersPage{Users: users}))
}

// AdminUserDisable disables a user; their sessions stop working at their next request.
func (h *Handlers) AdminUserDisable(c echo.Context) error { return h.setDisabled(c, true) }

// AdminUserEnable re-enables a disabled user.
func (h *Handlers) AdminUserEnable(c echo.Context) error { return h.setDisabled(c, false) }

func (h *Handlers) setDisabled(c echo.Context, disabled bool) error {
	id := c.Param("user")
	if err := h.store.SetUserDisabled(c.Request().Context(), id, disabled); err != nil {
		return notFoundAs(err, rpm.Errorf(rpm.ENotFound, "There is no such user."))
	}
	action := rpm.ActionUserEnable
	if disabled {
		action = rpm.ActionUserDisable
	}
	if err := h.audit(c, action, "", "user", id); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/users")
}
