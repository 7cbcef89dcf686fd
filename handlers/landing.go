package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/views"
)

// Landing shows the public front page; on a demo instance it lists the demo accounts.
func (h *Handlers) Landing(c echo.Context) error {
	var p views.LandingPage
	if h.demo != nil {
		for _, u := range h.demo.Users {
			p.Accounts = append(p.Accounts, views.DemoAccount{Username: u.Username, Role: u.Roles[0].Label(), Sees: u.Sees})
		}
	}
	return render(c, http.StatusOK, views.Landing(p))
}
