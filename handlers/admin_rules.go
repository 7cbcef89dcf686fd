package handlers

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/views"
)

// errNoDefault answers a form naming a rule that is not one of the hospital's defaults.
var errNoDefault = &rpm.Error{Code: rpm.ENotFound, Message: "That is not one of the hospital's rules; reload the page."}

// AdminRules shows an admin the hospital's default alert rules, with who changed each last and why.
func (h *Handlers) AdminRules(c echo.Context) error {
	return h.renderHospitalRules(c, "", "", views.RuleForm{})
}

// AdminRuleSave changes a hospital default for everyone, with a required reason: its settings and
// severity (action "save", with the same checks as a patient's thresholds), or whether it is on
// ("off", "on"). Every problem is shown on the form, and nothing is saved. Audited.
func (h *Handlers) AdminRuleSave(c echo.Context) error {
	defaults, err := h.store.HospitalRules(c.Request().Context())
	if err != nil {
		return err
	}
	base, ok := findRule(defaults, c.FormValue("rule"))
	if !ok {
		return errNoDefault
	}
	return h.changeRule(c, base, ruleScope{whose: "the hospital", done: "/admin/rules", onOff: true,
		save: func(c echo.Context, base, s rpm.AlertRule) (string, error) {
			s.ID = base.ID
			return base.ID, notFoundAs(h.store.UpdateHospitalRule(c.Request().Context(), s), errNoDefault)
		},
		again: h.renderHospitalRules})
}

// renderHospitalRules shows the defaults, with a problem in the form of the rule editing, as
// submitted.
func (h *Handlers) renderHospitalRules(c echo.Context, editing, problem string, form views.RuleForm) error {
	defaults, err := h.store.HospitalRules(c.Request().Context())
	if err != nil {
		return err
	}
	noise, err := h.store.RuleNoiseSince(c.Request().Context(), h.now().Add(-30*24*time.Hour))
	if err != nil {
		return err
	}
	p := views.HospitalRulesPage{Editing: editing, Problem: problem, Noise: map[string]views.RuleNoise{}}
	for id, n := range noise {
		p.Noise[id] = views.RuleNoise(n)
	}
	for _, r := range defaults {
		row := ruleRow(r, nil)
		if r.ID == editing && row.Editable {
			row.Form = form
		}
		p.Rules = append(p.Rules, row)
	}
	status := http.StatusOK
	if problem != "" {
		status = http.StatusUnprocessableEntity
	}
	return render(c, status, views.HospitalRules(p))
}

// findRule returns the rule with this id from rules.
func findRule(rules []rpm.AlertRule, id string) (rpm.AlertRule, bool) {
	for _, r := range rules {
		if r.ID == id {
			return r, true
		}
	}
	return rpm.AlertRule{}, false
}
