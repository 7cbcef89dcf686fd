package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/rpm"
)

// RuleReset ends a patient's override of a rule, with a reason, so the team's or hospital's rule
// applies to them again. The override is kept as history (store.RetireOverride).
func (h *Handlers) RuleReset(c echo.Context) error {
	id := c.Param("patient")
	if _, err := h.authorize(c, id, rpm.ActionRuleChange, rpm.AccessCare); err != nil {
		return err
	}
	ctx := c.Request().Context()
	pr, err := h.loadPatientRules(ctx, id)
	if err != nil {
		return err
	}
	r, ok := pr.find(c.FormValue("rule"))
	if !ok || r.Scope != rpm.ScopePatient {
		return errNoRule
	}
	reason, problem := reasonOf(c, "this patient")
	if problem != "" {
		return h.renderRules(c, id, r.ID, problem, storedForm(r), nil)
	}
	u, _ := auth.Viewer(c)
	if err := h.store.RetireOverride(ctx, r.ID, u.ID, reason); err != nil {
		return notFoundAs(err, errNoRule)
	}
	if err := h.audit(c, rpm.ActionRuleChange, id, "alert_rule", r.ID); err != nil {
		return err
	}
	h.rulesChanged(c, id)
	return c.Redirect(http.StatusSeeOther, "/patients/"+id+"/rules")
}
