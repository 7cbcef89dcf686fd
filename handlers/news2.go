package handlers

import (
	"context"
	"strconv"
	"time"

	"github.com/vigil-rpm/vigil/alerts"
	"github.com/vigil-rpm/vigil/live"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/views"
)

// assessmentFreshness is how long a clinician's oxygen or consciousness entry counts towards
// NEWS2; the alert engine uses the same default.
const assessmentFreshness = 12 * time.Hour

// The NEWS2 parameters a clinician records, by the names alerts.ComputeNEWS2 gives them.
var recordedParameters = map[string]string{"Air or oxygen": rpm.AssessOxygen, "Consciousness": rpm.AssessConsciousness}

// freshAssessment returns the recorded entry of kind when it is recent enough to count at now.
func freshAssessment(in store.NEWS2Inputs, kind string, now time.Time) (store.RecordedAssessment, bool) {
	a, ok := in.Assessments[kind]
	return a, ok && now.Sub(a.RecordedAt) <= assessmentFreshness
}

// news2Of scores a patient's latest readings (by code) with what clinicians recorded, at now.
func news2Of(latest map[string]rpm.Reading, in store.NEWS2Inputs, now time.Time) alerts.NEWS2 {
	input := alerts.NEWS2Input{Latest: latest, Scale2: in.Scale2}
	if a, ok := freshAssessment(in, rpm.AssessOxygen, now); ok {
		on := a.Value == rpm.OnOxygen
		input.OnOxygen = &on
	}
	if a, ok := freshAssessment(in, rpm.AssessConsciousness, now); ok {
		input.Consciousness = alerts.Consciousness(a.Value)
	}
	return alerts.ComputeNEWS2(input, now, news2Freshness)
}

func byCode(latest []rpm.Reading) map[string]rpm.Reading {
	m := make(map[string]rpm.Reading, len(latest))
	for _, r := range latest {
		m[r.Code] = r
	}
	return m
}

// news2InputsFor loads what clinicians recorded for these patients' NEWS2.
func (h *Handlers) news2InputsFor(ctx context.Context, patientIDs []string) (map[string]store.NEWS2Inputs, error) {
	if len(patientIDs) == 0 {
		return nil, nil
	}
	return h.store.NEWS2InputsFor(ctx, patientIDs)
}

// news2View is a score as the patient view shows it, with who recorded the clinicians' inputs.
func news2View(latest []rpm.Reading, in store.NEWS2Inputs, now time.Time) views.NEWS2View {
	n := news2Of(byCode(latest), in, now)
	v := views.NEWS2View{Score: n.Score, Band: string(n.Band), Partial: n.Partial, Scale2: in.Scale2}
	for _, p := range n.Parameters {
		prm := views.NEWS2Parameter{Name: p.Name, Points: p.Points}
		if m, ok := rpm.MetricByCode(p.Code); ok && !p.Missing {
			prm.Value = strconv.FormatFloat(p.Value, 'f', m.Decimals, 64) + " " + m.UnitLabel
		}
		switch {
		case p.Code == "":
			recordedParameter(&prm, in, recordedParameters[p.Name], now)
		case p.Missing:
			prm.Note = "no reading"
		case p.Stale:
			prm.Note = "older than an hour: not counted"
		}
		v.Parameters = append(v.Parameters, prm)
	}
	return v
}

// recordedParameter fills a clinician-recorded parameter's value and note.
func recordedParameter(prm *views.NEWS2Parameter, in store.NEWS2Inputs, kind string, now time.Time) {
	a, ok := in.Assessments[kind]
	if !ok {
		prm.Note = "not recorded"
		return
	}
	prm.Value = assessmentWords[a.Value]
	prm.RecordedAt, prm.RecordedBy = a.RecordedAt, a.RecordedByName
	if _, fresh := freshAssessment(in, kind, now); !fresh {
		prm.Note = "older than 12 h: not counted"
	}
}

// assessmentWords says a recorded value in a clinician's words.
var assessmentWords = map[string]string{
	rpm.OnAir: "air", rpm.OnOxygen: "supplemental oxygen",
	rpm.ConsciousAlert: "alert", rpm.ConsciousCVPU: "new confusion, voice, pain or unresponsive",
}

// NEWS2Frames computes the current NEWS2 of patients whose readings just changed, as live frames
// (the live relay's follow-up). Patients the caller passes are already watched by authorised
// dashboards; the frames go only to those subscriptions.
func (h *Handlers) NEWS2Frames(ctx context.Context, patientIDs []string) []live.Frame {
	latest, err := h.store.LatestByPatient(ctx, patientIDs, store.CensusCodes)
	if err != nil {
		h.log.Warn("computing NEWS2 for live dashboards failed", "err", err)
		return nil
	}
	inputs, err := h.news2InputsFor(ctx, patientIDs)
	if err != nil {
		h.log.Warn("loading NEWS2 inputs for live dashboards failed", "err", err)
		return nil
	}
	now := h.now()
	frames := make([]live.Frame, 0, len(patientIDs))
	for _, id := range patientIDs {
		n := news2Of(latest[id], inputs[id], now)
		frames = append(frames, live.Frame{Type: "news2", Patient: id, NEWS2: &live.ScoreFrame{Score: n.Score, Band: string(n.Band), Partial: n.Partial}})
	}
	return frames
}
