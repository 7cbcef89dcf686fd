package handlers

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/store"
)

// readyTimeout bounds how long a readiness probe waits for the database.
const readyTimeout = 2 * time.Second

// Healthz answers 200 while the process runs; it touches nothing else.
func (h *Handlers) Healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, probe{Status: "ok"})
}

// Readyz answers 200 when the database answers and its schema is current, 503 otherwise, with a
// reason an operator can act on.
func (h *Handlers) Readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
	defer cancel()
	if err := h.store.Ping(ctx); err != nil {
		return c.JSON(http.StatusServiceUnavailable, probe{Status: "unavailable", Reason: "database unreachable"})
	}
	var behind *store.SchemaBehindError
	if err := h.store.CheckSchema(ctx); errors.As(err, &behind) {
		return c.JSON(http.StatusServiceUnavailable, probe{Status: "unavailable", Reason: "database schema behind: run vigil migrate"})
	} else if err != nil {
		return c.JSON(http.StatusServiceUnavailable, probe{Status: "unavailable", Reason: "database schema unreadable"})
	}
	return c.JSON(http.StatusOK, probe{Status: "ok"})
}
