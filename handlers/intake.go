package handlers

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/ingest"
	"github.com/vigil-rpm/vigil/rpm"
)

var errBadToken = rpm.Errorf(rpm.EUnauthorized, "A valid device token is required: Authorization: Bearer <token>.")

// Intake takes readings from a device (POST /api/v1/readings, docs/API.md "Device intake"). The device
// authenticates with its bearer token; the answer comes after the accepted readings are durable.
func (h *Handlers) Intake(c echo.Context) error {
	token := auth.BearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
	if token == "" {
		return errBadToken
	}
	ctx := c.Request().Context()
	hash := auth.HashDeviceToken(token)
	deviceID, err := h.intake.Authenticate(ctx, hash)
	if err != nil {
		return intakeError(c, err)
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, ingest.MaxBodyBytes))
	if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
		return rpm.Errorf(rpm.ETooLarge, "The body is larger than 1 MiB; send fewer readings per request.")
	} else if err != nil {
		return rpm.Errorf(rpm.EInvalid, "The body could not be read.")
	}
	res, err := h.intake.AcceptWithToken(ctx, deviceID, hash, body)
	if err != nil {
		return intakeError(c, err)
	}
	return c.JSON(http.StatusOK, res)
}

func intakeError(c echo.Context, err error) error {
	switch {
	case errors.Is(err, ingest.ErrUnknownToken):
		return errBadToken
	case errors.Is(err, ingest.ErrDeviceInactive):
		return rpm.Errorf(rpm.EUnauthorized, "This device is marked lost or retired; its token no longer works.")
	}
	if rl, ok := errors.AsType[*ingest.RateLimitedError](err); ok {
		c.Response().Header().Set("Retry-After", strconv.Itoa(rl.RetryAfterSeconds()))
		return rpm.Errorf(rpm.ERateLimited, "This device is posting too often; retry after the Retry-After delay.")
	}
	if m, ok := errors.AsType[*ingest.MalformedError](err); ok {
		return &rpm.Error{Code: rpm.EInvalid, Message: "The body is not valid: " + m.Problem + ".", Cause: err}
	}
	return &rpm.Error{Code: rpm.EUnavailable, Message: "Vigil cannot store readings just now; retry later with the same reading ids.", Cause: err}
}
