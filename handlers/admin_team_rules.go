package handlers

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/views"
)

var errNoTeam = &rpm.Error{Code: rpm.ENotFound, Message: "There is no such care team."}

// AdminTeamRules shows an admin a care team's overrides of the hospital's alert rules.
func (h *Handlers) AdminTeamRules(c echo.Context) error {
	return h.renderTeamRules(c, c.Param("team"), "", "", views.RuleForm{})
}

// AdminTeamRuleSave overrides a hospital rule for a care team's patients, or changes the override
// the team has, with a required reason: new settings and severity (action "save", with the same
// checks as a patient's thresholds) or switched off for the team ("off"). The form names the
// hospital rule. Every problem is shown on the form, and nothing is saved. Audited.
func (h *Handlers) AdminTeamRuleSave(c echo.Context) error {
	team := c.Param("team")
	tr, err := h.loadTeamRules(c.Request().Context(), team)
	if err != nil {
		return err
	}
	def, ok := findRule(tr.defaults, c.FormValue("rule"))
	if !ok {
		return errNoDefault
	}
	return h.changeRule(c, tr.inForce(def), ruleScope{whose: "this team", done: "/admin/teams/" + team + "/rules",
		save: func(c echo.Context, _, s rpm.AlertRule) (string, error) {
			s.Scope, s.TeamID, s.PatientID, s.Overrides = rpm.ScopeTeam, team, "", def.ID
			id, err := h.store.SaveOverride(c.Request().Context(), s)
			return id, notFoundAs(err, errNoDefault)
		},
		again: func(c echo.Context, _, problem string, form views.RuleForm) error {
			return h.renderTeamRules(c, team, def.ID, problem, form)
		}})
}

// AdminTeamRuleReset ends a team's override of a hospital rule (named by the form), with a
// required reason, so the hospital default applies to the team's patients again. The override is
// kept as history (store.RetireOverride). Audited.
func (h *Handlers) AdminTeamRuleReset(c echo.Context) error {
	ctx, team := c.Request().Context(), c.Param("team")
	tr, err := h.loadTeamRules(ctx, team)
	if err != nil {
		return err
	}
	o, ok := tr.overrides[c.FormValue("rule")]
	if !ok {
		return rpm.Errorf(rpm.ENotFound, "This team has no override of that rule; reload the page.")
	}
	reason, problem := reasonOf(c, "this team")
	if problem != "" {
		return h.renderTeamRules(c, team, o.Overrides, problem, storedForm(o))
	}
	u, _ := auth.Viewer(c)
	if err := h.store.RetireOverride(ctx, o.ID, u.ID, reason); err != nil {
		return notFoundAs(err, errNoDefault)
	}
	if err := h.audit(c, rpm.ActionRuleChange, "", "alert_rule", o.ID); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/teams/"+team+"/rules")
}

// teamRules is a care team, the hospital's rules and the team's live overrides of them.
type teamRules struct {
	name      string
	defaults  []rpm.AlertRule
	overrides map[string]rpm.AlertRule // by the hospital rule they override
}

// inForce is the team's override of the hospital rule def, or def.
func (tr teamRules) inForce(def rpm.AlertRule) rpm.AlertRule {
	if o, ok := tr.overrides[def.ID]; ok {
		return o
	}
	return def
}

func (h *Handlers) loadTeamRules(ctx context.Context, teamID string) (teamRules, error) {
	tr := teamRules{overrides: map[string]rpm.AlertRule{}}
	teams, err := h.store.Teams(ctx)
	if err != nil {
		return tr, err
	}
	for _, t := range teams {
		if t.ID == teamID {
			tr.name = t.Name
		}
	}
	if tr.name == "" {
		return tr, errNoTeam
	}
	if tr.defaults, err = h.store.HospitalRules(ctx); err != nil {
		return tr, err
	}
	list, err := h.store.TeamRules(ctx, teamID)
	if err != nil {
		return tr, err
	}
	for _, o := range list {
		tr.overrides[o.Overrides] = o
	}
	return tr, nil
}

// renderTeamRules shows a team's rules, with a problem in the form of the hospital rule editing,
// as submitted.
func (h *Handlers) renderTeamRules(c echo.Context, teamID, editing, problem string, form views.RuleForm) error {
	tr, err := h.loadTeamRules(c.Request().Context(), teamID)
	if err != nil {
		return err
	}
	p := views.TeamRulesPage{TeamID: teamID, TeamName: tr.name, Editing: editing, Problem: problem}
	names := map[string]string{teamID: tr.name}
	for _, def := range tr.defaults {
		row := views.TeamRuleRow{Default: ruleRow(def, names)}
		if o, ok := tr.overrides[def.ID]; ok {
			team := ruleRow(o, names)
			row.Team = &team
			row.Default.Form = team.Form
		}
		if def.ID == editing && row.Default.Editable && problem != "" {
			row.Default.Form = form
		}
		p.Rules = append(p.Rules, row)
	}
	status := http.StatusOK
	if problem != "" {
		status = http.StatusUnprocessableEntity
	}
	return render(c, status, views.TeamRules(p))
}
