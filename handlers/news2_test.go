package handlers

import (
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// TestNEWS2CountsRecordedInputs: oxygen recorded on scale 2 scores as the chart says; an entry
// older than 12 hours is not counted and the score says it is partial.
func TestNEWS2CountsRecordedInputs(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	latest := map[string]rpm.Reading{}
	for code, v := range map[string]float64{rpm.CodeRespRate: 16, rpm.CodeSpO2: 95, rpm.CodeSystolicBP: 120, rpm.CodeHeartRate: 70, rpm.CodeBodyTemp: 37} {
		latest[code] = rpm.Reading{Code: code, Value: v, EffectiveAt: now.Add(-time.Minute)}
	}
	entry := func(kind, value string, age time.Duration) store.RecordedAssessment {
		return store.RecordedAssessment{ClinicalAssessment: rpm.ClinicalAssessment{Kind: kind, Value: value, RecordedAt: now.Add(-age)}}
	}
	for _, tc := range []struct {
		name    string
		in      store.NEWS2Inputs
		score   int
		partial bool
	}{
		// SpO₂ 95 on oxygen, scale 2: 2 points; oxygen: 2 points.
		{"scale 2 on oxygen", store.NEWS2Inputs{Scale2: true, Assessments: map[string]store.RecordedAssessment{
			rpm.AssessOxygen: entry(rpm.AssessOxygen, rpm.OnOxygen, time.Hour), rpm.AssessConsciousness: entry(rpm.AssessConsciousness, rpm.ConsciousAlert, time.Hour)}}, 4, false},
		// SpO₂ 95 on air, scale 2: 0 points.
		{"scale 2 on air", store.NEWS2Inputs{Scale2: true, Assessments: map[string]store.RecordedAssessment{
			rpm.AssessOxygen: entry(rpm.AssessOxygen, rpm.OnAir, time.Hour), rpm.AssessConsciousness: entry(rpm.AssessConsciousness, rpm.ConsciousAlert, time.Hour)}}, 0, false},
		// Scale 1: SpO₂ 95 is 1 point, oxygen 2, new confusion 3.
		{"scale 1, oxygen and new confusion", store.NEWS2Inputs{Assessments: map[string]store.RecordedAssessment{
			rpm.AssessOxygen: entry(rpm.AssessOxygen, rpm.OnOxygen, 11*time.Hour), rpm.AssessConsciousness: entry(rpm.AssessConsciousness, rpm.ConsciousCVPU, time.Hour)}}, 6, false},
		// Oxygen recorded 13 hours ago: not counted, partial.
		{"stale oxygen", store.NEWS2Inputs{Scale2: true, Assessments: map[string]store.RecordedAssessment{
			rpm.AssessOxygen: entry(rpm.AssessOxygen, rpm.OnOxygen, 13*time.Hour), rpm.AssessConsciousness: entry(rpm.AssessConsciousness, rpm.ConsciousAlert, time.Hour)}}, 0, true},
	} {
		n := news2Of(latest, tc.in, now)
		if n.Score != tc.score || n.Partial != tc.partial {
			t.Errorf("%s: score %d partial %v, want %d %v", tc.name, n.Score, n.Partial, tc.score, tc.partial)
		}
	}
	v := news2View(nil, store.NEWS2Inputs{Assessments: map[string]store.RecordedAssessment{
		rpm.AssessOxygen: entry(rpm.AssessOxygen, rpm.OnOxygen, 13*time.Hour)}}, now)
	for _, p := range v.Parameters {
		if p.Name == "Air or oxygen" && (p.Note != "older than 12 h: not counted" || p.RecordedAt.IsZero()) {
			t.Errorf("stale oxygen shown as %+v", p)
		}
		if p.Name == "Consciousness" && p.Note != "not recorded" {
			t.Errorf("unrecorded consciousness shown as %+v", p)
		}
	}
}
