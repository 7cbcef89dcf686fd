package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/rpm"
)

// The alert pages' forms (POST /alerts/{id}/acknowledge, /snooze, /resolve, /actionable). Each
// goes back to the page it came from (return_to); a problem to correct, or an alert that changed
// meanwhile, goes back with ?problem=<key> and the page says what happened.

// AlertAcknowledge is the acknowledge button.
func (h *Handlers) AlertAcknowledge(c echo.Context) error {
	note, ok := formText(c, "note", maxAlertNote)
	_, err := h.actOnAlert(c, c.Param("alert"), rpm.ActionAlertAcknowledge, problemIf(!ok, errBadNote), h.acknowledgeStep(note))
	return alertFormDone(c, err)
}

// AlertSnooze is the snooze form (minutes from views.SnoozeChoices; the API's bounds apply).
func (h *Handlers) AlertSnooze(c echo.Context) error {
	note, ok := formText(c, "note", maxAlertNote)
	minutes, convErr := strconv.Atoi(c.FormValue("minutes"))
	d, badSnooze := snoozeFor(minutes)
	problem := firstProblem(problemIf(!ok, errBadNote), problemIf(convErr != nil, errBadSnooze), badSnooze)
	_, err := h.actOnAlert(c, c.Param("alert"), rpm.ActionAlertSnooze, problem, h.snoozeStep(d, note))
	return alertFormDone(c, err)
}

// AlertResolve is the resolve form, with an optional note.
func (h *Handlers) AlertResolve(c echo.Context) error {
	note, ok := formText(c, "note", maxAlertNote)
	_, err := h.actOnAlert(c, c.Param("alert"), rpm.ActionAlertResolve, problemIf(!ok, errBadNote), h.resolveStep(note))
	return alertFormDone(c, err)
}

// AlertMark is the actionable / not actionable buttons (actionable=yes|no).
func (h *Handlers) AlertMark(c echo.Context) error {
	note, ok := formText(c, "note", maxAlertNote)
	mark := c.FormValue("actionable")
	problem := firstProblem(problemIf(!ok, errBadNote), problemIf(mark != "yes" && mark != "no", errNoMark))
	_, err := h.actOnAlert(c, c.Param("alert"), rpm.ActionAlertMark, problem, h.markStep(mark == "yes", note))
	return alertFormDone(c, err)
}

func problemIf(bad bool, problem error) error {
	if bad {
		return problem
	}
	return nil
}

// alertFormProblems names the problems a form goes back with (views.alertProblems has the words).
var alertFormProblems = map[error]string{errBadNote: "note", errBadSnooze: "snooze", errNoMark: "mark",
	errChanged: "changed", errAcked: "changed", errResolved: "changed"}

// alertFormDone sends the browser back where the form came from; errors other than the form's
// own problems go to the error handler.
func alertFormDone(c echo.Context, err error) error {
	key := ""
	if err != nil {
		e, ok := errors.AsType[*rpm.Error](err)
		if !ok || alertFormProblems[e] == "" {
			return err
		}
		key = alertFormProblems[e]
	}
	return c.Redirect(http.StatusSeeOther, backTo(c.FormValue("return_to"), "/alerts/"+c.Param("alert"), key))
}

// backTo is a form's return_to if it is one of the alert pages, the census or a patient view, else
// fallback; with ?problem=key when there is one.
func backTo(returnTo, fallback, key string) string {
	u, err := url.Parse(returnTo)
	ok := err == nil && u.Scheme == "" && u.Host == "" && u.User == nil &&
		(u.Path == "/alerts" || u.Path == "/patients" || strings.HasPrefix(u.Path, "/alerts/") || strings.HasPrefix(u.Path, "/patients/")) &&
		!strings.Contains(u.Path, "//") && !strings.Contains(u.Path, `\`)
	if !ok {
		u, _ = url.Parse(fallback)
	}
	q := u.Query()
	q.Del("problem")
	if key != "" {
		q.Set("problem", key)
	}
	u.RawQuery, u.Fragment = q.Encode(), ""
	if strings.HasPrefix(u.Path, "/patients/") {
		u.Fragment = "alerts"
	}
	return u.String()
}
