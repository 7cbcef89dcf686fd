package handlers

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/alerts"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/views"
)

// previewDays is how far back the what-if replays a patient's readings.
const previewDays = 7

// RulePreview answers "what if": how many alerts the last week of the patient's stored readings
// would have raised under the rule in force and under the edit form's proposal. To htmx it sends
// the result alone; a plain form gets the rules page with the result under the rule. Nothing is
// saved; reading the readings is audited.
func (h *Handlers) RulePreview(c echo.Context) error {
	id := c.Param("patient")
	if _, err := h.authorize(c, id, rpm.ActionReadingsView, rpm.AccessCare); err != nil {
		return err
	}
	ctx := c.Request().Context()
	pr, err := h.loadPatientRules(ctx, id)
	if err != nil {
		return err
	}
	base, ok := pr.find(c.FormValue("rule"))
	if !ok {
		return errNoRule
	}
	parsed, err := alerts.ParseRule(base)
	if err != nil {
		h.log.Error("a stored alert rule cannot be read", "rule", base.ID, "err", err)
		return errRuleUnreadable
	}
	current := parsed
	preview := views.RulePreview{Days: previewDays}
	edit := readRuleEdit(c, parsed)
	edit.reason, edit.reasonOK = "what if", true // a what-if saves nothing: no reason needed
	_, proposed, problems := edit.proposal(base, parsed, "this patient")
	if len(problems) > 0 {
		preview.Problem = strings.Join(problems, " ")
	} else {
		if !base.Enabled {
			current = alerts.Rule{} // switched off: it raises nothing
		}
		if preview, err = h.replay(c, id, current, proposed); err != nil {
			return err
		}
	}
	if c.Request().Header.Get("HX-Request") == "true" {
		return render(c, http.StatusOK, views.RulePreviewResult(preview))
	}
	return h.renderRules(c, id, base.ID, "", edit.Settings, &preview)
}

// replay runs both rules over the patient's readings of the rule's code from the last week, as
// they stream from the database, and audits the read.
func (h *Handlers) replay(c echo.Context, patientID string, current, proposed alerts.Rule) (views.RulePreview, error) {
	p := views.RulePreview{Days: previewDays}
	now := h.now()
	cur, prop := current.Replayer(), proposed.Replayer()
	err := h.store.EachReading(c.Request().Context(), patientID, proposed.Code, now.Add(-previewDays*24*time.Hour), now.Add(time.Minute),
		func(r rpm.Reading) error {
			p.Readings++
			cur.Add(r)
			prop.Add(r)
			return nil
		})
	if err != nil {
		return p, err
	}
	p.Current, p.Proposed = cur.Fired(), prop.Fired()
	return p, h.audit(c, rpm.ActionReadingsView, patientID, "patient", patientID)
}
