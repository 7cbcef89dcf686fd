package handlers

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/alerts"
	"github.com/vigil-rpm/vigil/auth"
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
// ("off", "on"). Invalid settings are shown on the form, and nothing is saved. Audited.
func (h *Handlers) AdminRuleSave(c echo.Context) error {
	ctx := c.Request().Context()
	defaults, err := h.store.HospitalRules(ctx)
	if err != nil {
		return err
	}
	base, ok := findRule(defaults, c.FormValue("rule"))
	if !ok {
		return errNoDefault
	}
	parsed, _ := alerts.ParseRule(base)
	s, problem := base, ""
	switch c.FormValue("action") {
	case "off", "on":
		s.Enabled = c.FormValue("action") == "on"
	default:
		s, _, problem = proposedRule(c, base, parsed)
		s.Enabled = base.Enabled
	}
	reason, reasonProblem := reasonOf(c, "the hospital")
	if problem == "" {
		problem = reasonProblem
	}
	if problem != "" {
		return h.renderHospitalRules(c, base.ID, problem, submittedForm(c, parsed))
	}
	u, _ := auth.Viewer(c)
	s.ID, s.UpdatedBy, s.ChangeReason = base.ID, u.ID, reason
	if err := h.store.UpdateHospitalRule(ctx, s); err != nil {
		return notFoundAs(err, errNoDefault)
	}
	if err := h.audit(c, rpm.ActionRuleChange, "", "alert_rule", base.ID); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/rules")
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
