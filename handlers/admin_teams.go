package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/views"
)

// AdminTeams shows care teams and their members to an IT admin.
func (h *Handlers) AdminTeams(c echo.Context) error {
	return h.renderTeams(c, http.StatusOK, "")
}

func (h *Handlers) renderTeams(c echo.Context, status int, problem string) error {
	ctx := c.Request().Context()
	teams, err := h.store.Teams(ctx)
	if err != nil {
		return err
	}
	clinicians, err := h.store.Users(ctx, rpm.RoleClinician)
	if err != nil {
		return err
	}
	p := views.TeamsPage{Problem: problem}
	for _, u := range clinicians {
		p.People = append(p.People, views.Option{Value: u.ID, Label: u.DisplayName + " (" + u.Username + ")"})
	}
	for _, t := range teams {
		ta := views.TeamAdmin{ID: t.ID, Name: t.Name, Description: t.Description, AckWindow: minutesText(t.AckWindow), Patients: t.Patients}
		for _, m := range t.Members {
			ta.Members = append(ta.Members, views.MemberAdmin{UserID: m.UserID, Name: m.DisplayName, Username: m.Username, Tier: m.Tier})
		}
		p.Teams = append(p.Teams, ta)
	}
	if err := h.teamWebhooks(ctx, p.Teams); err != nil {
		return err
	}
	return render(c, status, views.Teams(p))
}

// AdminTeamCreate adds a care team.
func (h *Handlers) AdminTeamCreate(c echo.Context) error {
	name, nameOK := formText(c, "name", 100)
	description, descriptionOK := formText(c, "description", 300)
	minutes, err := strconv.Atoi(c.FormValue("ack_minutes"))
	if name == "" || !nameOK || !descriptionOK || err != nil || minutes < 1 || minutes > 1440 {
		return h.renderTeams(c, http.StatusUnprocessableEntity,
			"A team needs a name (at most 100 characters) and an escalation time of 1 to 1440 minutes.")
	}
	id, err := h.store.CreateTeam(c.Request().Context(), name, description, time.Duration(minutes)*time.Minute)
	if errors.Is(err, store.ErrConflict) {
		return h.renderTeams(c, http.StatusConflict, "A team with that name already exists.")
	}
	if err != nil {
		return err
	}
	if err := h.audit(c, rpm.ActionTeamChange, "", "care_team", id); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/teams")
}

// AdminTeamMemberSet puts a clinician on a team at a tier.
func (h *Handlers) AdminTeamMemberSet(c echo.Context) error {
	tier, err := strconv.Atoi(c.FormValue("tier"))
	if err != nil || tier < int(rpm.TierFirstResponder) || tier > int(rpm.TierSenior) {
		return h.renderTeams(c, http.StatusUnprocessableEntity, "Choose a tier from the list.")
	}
	team := c.Param("team")
	err = h.store.SetTeamMember(c.Request().Context(), team, c.FormValue("user"), rpm.Tier(tier))
	if errors.Is(err, store.ErrNotFound) {
		return h.renderTeams(c, http.StatusUnprocessableEntity, "Choose a clinician from the list.")
	}
	if err != nil {
		return err
	}
	if err := h.audit(c, rpm.ActionTeamChange, "", "care_team", team); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/teams")
}

// AdminTeamMemberRemove takes a member off a team.
func (h *Handlers) AdminTeamMemberRemove(c echo.Context) error {
	team := c.Param("team")
	err := h.store.RemoveTeamMember(c.Request().Context(), team, c.Param("user"))
	if err != nil {
		return notFoundAs(err, rpm.Errorf(rpm.ENotFound, "That person is not on that team."))
	}
	if err := h.audit(c, rpm.ActionTeamChange, "", "care_team", team); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/teams")
}

// minutesText shows a duration in whole minutes: "15 minutes".
func minutesText(d time.Duration) string {
	m := int(d.Round(time.Minute) / time.Minute)
	if m == 1 {
		return "1 minute"
	}
	return strconv.Itoa(m) + " minutes"
}
