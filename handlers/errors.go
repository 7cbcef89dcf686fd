package handlers

import (
	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/views"
)

// ErrorPage renders the HTML error page. The central error handler calls it with a message that is
// safe to show and the request id to quote.
func ErrorPage(c echo.Context, status int, title, message, requestID string) error {
	return render(c, status, views.ErrorPage(title, message, requestID))
}
