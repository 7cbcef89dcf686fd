package handlers

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/alerts"
	"github.com/vigil-rpm/vigil/alerts/watch"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// TestNEWS2ViewSaysWhatDidNotCount: the patient view shows each parameter, why one did not count
// (with the freshness policy's own window), the care plan's standing entries, and who recorded
// what.
func TestNEWS2ViewSaysWhatDidNotCount(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	h := &Handlers{alerts: watch.New(nil, watch.Options{Freshness: alerts.DefaultFreshness()})}
	in := &store.NEWS2Inputs{
		Latest: map[string]rpm.Reading{
			rpm.CodeSpO2:      {Code: rpm.CodeSpO2, Value: 95, EffectiveAt: now.Add(-time.Minute)},
			rpm.CodeHeartRate: {Code: rpm.CodeHeartRate, Value: 70, EffectiveAt: now.Add(-2 * time.Hour)},
		},
		Assessments: []rpm.ClinicalAssessment{
			{Kind: rpm.AssessOxygen, Value: rpm.OnOxygen, RecordedAt: now.Add(-13 * time.Hour), RecordedBy: "u1"},
			{Kind: rpm.AssessConsciousness, Value: rpm.ConsciousAlert, RecordedAt: now.AddDate(0, 0, -9), RecordedBy: "u1", Standing: true},
		},
		Recorders: map[string]string{"u1": "Jisoo Kim, RN"},
	}
	v := h.news2View(in, now)
	notes := map[string]string{}
	for _, p := range v.Parameters {
		notes[p.Name] = p.Note
		if p.Name == "Consciousness" && p.RecordedBy != "Jisoo Kim, RN" {
			t.Errorf("consciousness recorded by %q", p.RecordedBy)
		}
	}
	for name, want := range map[string]string{"Pulse": "older than 1 h: not counted", "Air or oxygen": "older than 12 h: not counted",
		"Consciousness": "the patient's usual state (care plan)", "Respiration rate": "no reading"} {
		if notes[name] != want {
			t.Errorf("%s: %q, want %q", name, notes[name], want)
		}
	}
	if !v.Incomplete || v.NoData || !strings.Contains(strings.Join(v.Missing, ","), "Pulse") {
		t.Errorf("view %+v", v)
	}
	if nd := h.news2View(&store.NEWS2Inputs{}, now); !nd.NoData {
		t.Errorf("no readings: %+v", nd)
	}
}
