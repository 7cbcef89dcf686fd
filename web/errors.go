package web

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/handlers"
	"github.com/vigil-rpm/vigil/rpm"
)

// errorBody is the JSON form of a failed request.
type errorBody struct {
	Error     string `json:"error"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
}

// publicError is what the user is told about a failure.
type publicError struct {
	status  int
	code    rpm.ErrorCode
	title   string
	message string
}

// handleError is the one place failures become responses. The cause is logged with the request id;
// the user sees a safe text and that id — never the error's own text, which can carry SQL or
// patient data.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	pub := classify(err)
	id := requestIDOf(c)
	if pub.status >= 500 {
		s.log.Error("request failed", slog.String("request_id", id), slog.String("route", routeOf(c)), slog.Any("err", err))
	}
	var werr error
	switch {
	case c.Request().Method == http.MethodHead:
		werr = c.NoContent(pub.status)
	case wantsJSON(c.Request()):
		werr = c.JSON(pub.status, errorBody{Error: string(pub.code), Message: pub.message, RequestID: id})
	default:
		werr = handlers.ErrorPage(c, pub.status, pub.title, pub.message, id)
	}
	if werr != nil {
		s.log.Error("writing the error response failed", slog.String("request_id", id), slog.Any("err", werr))
	}
}

// classify maps an error to what the user may be told.
func classify(err error) publicError {
	if e, ok := errors.AsType[*rpm.Error](err); ok {
		pub := byCode[e.Code]
		if pub.status == 0 {
			pub = byCode[rpm.EInternal]
		}
		if e.Message != "" && pub.status < 500 {
			pub.message = e.Message
		}
		return pub
	}
	if he, ok := errors.AsType[*echo.HTTPError](err); ok {
		for _, pub := range byCode {
			if pub.status == he.Code {
				return pub
			}
		}
		return publicError{status: he.Code, code: rpm.EInvalid, title: http.StatusText(he.Code), message: http.StatusText(he.Code) + "."}
	}
	return byCode[rpm.EInternal]
}

// byCode holds the status and the default words for each error code.
var byCode = map[rpm.ErrorCode]publicError{
	rpm.ENotFound:        {http.StatusNotFound, rpm.ENotFound, "Not found", "There is nothing here, or you may not see it."},
	rpm.EInvalid:         {http.StatusBadRequest, rpm.EInvalid, "Request not understood", "The request could not be understood."},
	rpm.EConflict:        {http.StatusConflict, rpm.EConflict, "Conflict", "This clashes with something already recorded."},
	rpm.EUnauthorized:    {http.StatusUnauthorized, rpm.EUnauthorized, "Sign-in needed", "Please sign in."},
	rpm.EForbidden:       {http.StatusForbidden, rpm.EForbidden, "Not allowed", "You may not do this."},
	rpm.ETooLarge:        {http.StatusRequestEntityTooLarge, rpm.ETooLarge, "Too large", "The request is too large."},
	rpm.ERateLimited:     {http.StatusTooManyRequests, rpm.ERateLimited, "Too many requests", "Too many requests; please wait a moment."},
	rpm.EUnavailable:     {http.StatusServiceUnavailable, rpm.EUnavailable, "Unavailable", "Vigil cannot reach its database just now; please try again shortly."},
	rpm.EInternal:        {http.StatusInternalServerError, rpm.EInternal, "Something went wrong", "Something went wrong on our side. It has been logged."},
	"method_not_allowed": {http.StatusMethodNotAllowed, "method_not_allowed", "Not allowed", "This address does not accept that kind of request."},
}

// wantsJSON reports whether the client expects JSON rather than a page: API paths, and requests
// that ask for JSON and not HTML.
func wantsJSON(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		return true
	}
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
}
