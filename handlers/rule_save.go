package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/views"
)

// errNoRule answers a form naming a rule that is not in force for the patient.
var errNoRule = &rpm.Error{Code: rpm.ENotFound, Message: "That rule does not apply to this patient; reload the page."}

// RuleSave lets a clinician on the patient's care team tune a rule in force for this patient
// (action "save") or switch it off for them ("off"), with a reason: it saves the patient's override
// of the rule, or updates the one they have. Every problem is shown on the form, and nothing is
// saved.
func (h *Handlers) RuleSave(c echo.Context) error {
	id := c.Param("patient")
	if _, err := h.authorize(c, id, rpm.ActionRuleChange, rpm.AccessCare); err != nil {
		return err
	}
	pr, err := h.loadPatientRules(c.Request().Context(), id)
	if err != nil {
		return err
	}
	base, ok := pr.find(c.FormValue("rule"))
	if !ok {
		return errNoRule
	}
	return h.changeRule(c, base, ruleScope{whose: "this patient", patient: id, done: "/patients/" + id + "/rules",
		save: func(c echo.Context, base, s rpm.AlertRule) (string, error) {
			s.Scope, s.PatientID, s.TeamID, s.Overrides = rpm.ScopePatient, id, "", base.ID
			if base.Scope == rpm.ScopePatient {
				s.Overrides = base.Overrides
			}
			ruleID, err := h.store.SaveOverride(c.Request().Context(), s)
			return ruleID, notFoundAs(err, errNoRule)
		},
		again: func(c echo.Context, editing, problem string, form views.RuleForm) error {
			return h.renderRules(c, id, editing, problem, form, nil)
		}})
}

// rulesChanged lets the alert engine resolve the patient's open alerts of rules no longer in force.
// The change itself is saved; if this fails, the patient's next reading does it.
func (h *Handlers) rulesChanged(c echo.Context, patientID string) {
	if h.alerts == nil {
		return
	}
	if err := h.alerts.RulesChanged(c.Request().Context(), patientID); err != nil {
		h.log.Warn("resolving alerts of rules no longer in force failed; the next reading will", "err", err)
	}
}

// renderRules shows the rules page again with a problem or a what-if for the rule editing, its
// form as submitted.
func (h *Handlers) renderRules(c echo.Context, patientID, editing, problem string, form views.RuleForm, preview *views.RulePreview) error {
	p, err := h.rulesPage(c.Request().Context(), patientID)
	if err != nil {
		return err
	}
	p.Editing, p.Problem, p.Preview = editing, problem, preview
	for i := range p.Rules {
		if p.Rules[i].ID == editing && p.Rules[i].Editable {
			p.Rules[i].Form = form
		}
	}
	status := http.StatusOK
	if problem != "" {
		status = http.StatusUnprocessableEntity
	}
	return render(c, status, views.Rules(p))
}
