package handlers

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/alerts"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/views"
)

// RulesPage shows the alert rules in force for a patient, each with a form to tune it for this
// patient, to clinicians on the patient's care team. Primary care physicians with a share get 404:
// thresholds are the care team's to set.
func (h *Handlers) RulesPage(c echo.Context) error {
	id := c.Param("patient")
	if _, err := h.authorize(c, id, rpm.ActionRuleView, rpm.AccessCare); err != nil {
		return err
	}
	p, err := h.rulesPage(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if err := h.audit(c, rpm.ActionRuleView, id, "patient", id); err != nil {
		return err
	}
	return render(c, http.StatusOK, views.Rules(p))
}

// patientRules is a patient's rules: those in force, and this patient's switched-off overrides.
type patientRules struct {
	inForce, off []rpm.AlertRule
	teamNames    map[string]string
}

func (h *Handlers) loadPatientRules(ctx context.Context, patientID string) (patientRules, error) {
	var pr patientRules
	inForce, all, err := h.store.RulesFor(ctx, patientID)
	if err != nil {
		return pr, err
	}
	pr.inForce = inForce
	for _, r := range all {
		if r.Scope == rpm.ScopePatient && r.PatientID == patientID && !r.Enabled && r.Overrides != "" {
			pr.off = append(pr.off, r)
		}
	}
	teams, err := h.store.PatientTeams(ctx, patientID)
	if err != nil {
		return pr, err
	}
	pr.teamNames = map[string]string{}
	for _, t := range teams {
		pr.teamNames[t.ID] = t.Name
	}
	return pr, nil
}

// find returns the rule in force, or switched off, with this id.
func (pr patientRules) find(id string) (rpm.AlertRule, bool) {
	for _, r := range append(pr.inForce, pr.off...) {
		if r.ID == id {
			return r, true
		}
	}
	return rpm.AlertRule{}, false
}

func (h *Handlers) rulesPage(ctx context.Context, patientID string) (views.RulesPage, error) {
	var p views.RulesPage
	pat, err := h.store.Patient(ctx, patientID)
	if err != nil {
		return p, notFoundAs(err, errHidden)
	}
	pr, err := h.loadPatientRules(ctx, patientID)
	if err != nil {
		return p, err
	}
	p.Patient = pat
	for _, r := range append(pr.inForce, pr.off...) {
		p.Rules = append(p.Rules, ruleRow(r, pr.teamNames))
	}
	return p, nil
}

// ruleRow is a stored rule as the rules page shows it.
func ruleRow(s rpm.AlertRule, teamNames map[string]string) views.RuleRow {
	row := views.RuleRow{ID: s.ID, Severity: s.Severity, Off: !s.Enabled, Override: s.Scope == rpm.ScopePatient,
		Reason: s.ChangeReason, UpdatedAt: s.UpdatedAt, UpdatedBy: s.UpdatedName}
	if s.UpdatedBy == "" {
		row.UpdatedBy = "Vigil"
	}
	switch s.Scope {
	case rpm.ScopeHospital:
		row.Scope = "hospital default"
	case rpm.ScopeTeam:
		row.Scope = "team " + teamNames[s.TeamID]
	default:
		row.Scope = "this patient"
	}
	r, err := alerts.ParseRule(s)
	if err != nil {
		row.Description = "a rule that is not valid and is not evaluated"
		return row
	}
	row.Description = r.Describe()
	row.Editable = r.Kind == rpm.Threshold || r.Kind == rpm.RateOfChange || r.Kind == rpm.NoData
	row.Form = formOf(r)
	return row
}
