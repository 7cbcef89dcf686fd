package handlers

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/views"
)

// NEWS2InputsRecord lets a clinician on the patient's team record supplemental oxygen and
// consciousness, and set the SpO₂ scale; each is audited, and the patient's NEWS2 rule is evaluated
// again.
func (h *Handlers) NEWS2InputsRecord(c echo.Context) error {
	id := c.Param("patient")
	access, err := h.authorize(c, id, rpm.ActionAssessmentRecord, rpm.AccessCare)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	entries, scale, problem := h.news2InputsForm(c)
	if problem == "" {
		var current map[string]*store.NEWS2Inputs
		if current, err = h.store.NEWS2Inputs(ctx, []string{id}); err != nil {
			return err
		}
		if current[id] == nil {
			return errHidden
		}
		if scale == 1 && !current[id].Scale2 || scale == 2 && current[id].Scale2 {
			scale = 0 // unchanged
		}
		if len(entries) == 0 && scale == 0 {
			problem = "Choose what to record."
		}
	}
	if problem != "" {
		p, err := h.patientPage(c, id, access)
		if err != nil {
			return err
		}
		p.InputsProblem = problem
		return render(c, http.StatusUnprocessableEntity, views.Patient(p))
	}
	for _, a := range entries {
		if err := h.store.RecordAssessment(ctx, id, a); err != nil {
			return notFoundAs(err, errHidden)
		}
		if err := h.audit(c, rpm.ActionAssessmentRecord, id, "clinical_assessment", a.Kind); err != nil {
			return err
		}
	}
	if scale != 0 {
		if err := h.store.SetSpO2Scale(ctx, id, scale); err != nil {
			return notFoundAs(err, errHidden)
		}
		if err := h.audit(c, rpm.ActionAssessmentRecord, id, "spo2_scale", strconv.Itoa(scale)); err != nil {
			return err
		}
	}
	if err := h.alerts.ReevaluateNEWS2(ctx, id); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/patients/"+id+"#news2")
}

// news2InputsForm reads the form: the entries to record — standing when the clinician says they
// are the patient's usual state from the care plan — and the scale to set (0: none).
func (h *Handlers) news2InputsForm(c echo.Context) ([]rpm.ClinicalAssessment, int, string) {
	u, _ := auth.Viewer(c)
	now := h.now()
	standing := c.FormValue("standing") != ""
	var entries []rpm.ClinicalAssessment
	for _, f := range []struct{ field, kind, a, b string }{
		{"oxygen", rpm.AssessOxygen, rpm.OnAir, rpm.OnOxygen},
		{"consciousness", rpm.AssessConsciousness, rpm.ConsciousAlert, rpm.ConsciousCVPU},
	} {
		switch v := c.FormValue(f.field); v {
		case "":
		case f.a, f.b:
			entries = append(entries, rpm.ClinicalAssessment{Kind: f.kind, Value: v, RecordedAt: now, RecordedBy: u.ID, Standing: standing})
		default:
			return nil, 0, "Choose air or oxygen, and alert or new confusion, voice, pain or unresponsive, from the lists."
		}
	}
	scale := 0
	switch c.FormValue("spo2_scale") {
	case "":
	case "1":
		scale = 1
	case "2":
		scale = 2
	default:
		return nil, 0, "The SpO₂ scale is 1, or 2 for a prescribed target of 88–92 %."
	}
	return entries, scale, ""
}
