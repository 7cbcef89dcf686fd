package alerts

import (
	"slices"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// TestBandBoundaries checks every printed boundary of the NEWS2 chart, and values between the
// printed bands, which are placed by rounding as charted.
func TestBandBoundaries(t *testing.T) {
	tests := []struct {
		name string
		fn   func(float64) int
		in   []float64
		want []int
	}{
		{"respiration", respirationPoints, []float64{8, 9, 11, 12, 20, 21, 24, 25}, []int{3, 1, 1, 0, 0, 2, 2, 3}},
		{"SpO2 scale 1", func(v float64) int { return spo2Points(v, false, nil) }, []float64{91, 92, 93, 94, 95, 96, 100}, []int{3, 2, 2, 1, 1, 0, 0}},
		{"systolic", systolicPoints, []float64{90, 91, 100, 101, 110, 111, 219, 220}, []int{3, 2, 2, 1, 1, 0, 0, 3}},
		{"pulse", pulsePoints, []float64{40, 41, 50, 51, 90, 91, 110, 111, 130, 131}, []int{3, 1, 1, 0, 0, 1, 1, 2, 2, 3}},
		{"temperature", temperaturePoints, []float64{35.0, 35.1, 36.0, 36.1, 38.0, 38.1, 39.0, 39.1}, []int{3, 1, 1, 0, 0, 1, 1, 2}},
	}
	for _, tt := range tests {
		for i, v := range tt.in {
			if got := tt.fn(v); got != tt.want[i] {
				t.Errorf("%s %g: %d points, want %d", tt.name, v, got, tt.want[i])
			}
		}
	}
}

func TestSpO2Scale2(t *testing.T) {
	air, oxygen := false, true
	tests := []struct {
		v    float64
		o2   *bool
		want int
	}{
		{83, &air, 3}, {84, &air, 2}, {85, &air, 2}, {86, &air, 1}, {87, &air, 1}, {88, &air, 0}, {92, &air, 0},
		{93, &air, 0}, {99, &air, 0}, {93, &oxygen, 1}, {94, &oxygen, 1}, {95, &oxygen, 2}, {96, &oxygen, 2}, {97, &oxygen, 3},
		{97, nil, 0}, // oxygen not recorded: the on-air rule, and the score is partial
	}
	for _, tt := range tests {
		if got := spo2Points(tt.v, true, tt.o2); got != tt.want {
			t.Errorf("scale 2, SpO2 %g, oxygen %v: %d, want %d", tt.v, tt.o2, got, tt.want)
		}
	}
}

func reading(code string, v float64, at time.Time) rpm.Reading {
	return rpm.Reading{Code: code, Value: v, EffectiveAt: at}
}

// assessed is what a clinician recorded: oxygen and consciousness, at at.
func assessed(oxygen, consciousness string, at time.Time) []rpm.ClinicalAssessment {
	return []rpm.ClinicalAssessment{{Kind: rpm.AssessOxygen, Value: oxygen, RecordedAt: at}, {Kind: rpm.AssessConsciousness, Value: consciousness, RecordedAt: at}}
}

func TestScoreNEWS2(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	recent, old := now.Add(-10*time.Minute), now.Add(-13*time.Hour)
	vitals := func(rr, spo2, sbp, hr, temp float64, at time.Time) map[string]rpm.Reading {
		return map[string]rpm.Reading{
			rpm.CodeRespRate: reading(rpm.CodeRespRate, rr, at), rpm.CodeSpO2: reading(rpm.CodeSpO2, spo2, at),
			rpm.CodeSystolicBP: reading(rpm.CodeSystolicBP, sbp, at), rpm.CodeHeartRate: reading(rpm.CodeHeartRate, hr, at),
			rpm.CodeBodyTemp: reading(rpm.CodeBodyTemp, temp, at),
		}
	}
	onAir := assessed(rpm.OnAir, rpm.ConsciousAlert, recent)
	tests := []struct {
		name                        string
		in                          NEWS2Input
		score                       int
		band                        Band
		partial, incomplete, noData bool
	}{
		{"all normal", NEWS2Input{Latest: vitals(16, 97, 120, 70, 37, recent), Assessments: onAir}, 0, BandLow, false, false, false},
		{"a single red score", NEWS2Input{Latest: vitals(16, 97, 120, 135, 37, recent), Assessments: onAir}, 3, BandLowMedium, false, false, false},
		{"medium", NEWS2Input{Latest: vitals(22, 95, 105, 95, 37, recent), Assessments: onAir}, 5, BandMedium, false, false, false},
		{"high, on oxygen", NEWS2Input{Latest: vitals(26, 91, 95, 120, 39.5, recent), Assessments: assessed(rpm.OnOxygen, rpm.ConsciousAlert, recent)}, 14, BandHigh, false, false, false},
		{"new confusion", NEWS2Input{Latest: vitals(16, 97, 120, 70, 37, recent), Assessments: assessed(rpm.OnAir, rpm.ConsciousCVPU, recent)}, 3, BandLowMedium, false, false, false},
		{"nothing recorded about oxygen or consciousness: two missing, incomplete", NEWS2Input{Latest: vitals(16, 97, 120, 70, 37, recent)}, 0, BandLow, true, true, false},
		{"stale readings are not counted", NEWS2Input{Latest: vitals(30, 85, 80, 150, 41, old), Assessments: onAir}, 0, BandLow, true, true, false},
		{"no readings at all: no data", NEWS2Input{Assessments: onAir}, 0, BandLow, true, true, true},
		{"rounded as charted: 20.4 breaths, 38.04 °C", NEWS2Input{Latest: vitals(20.4, 96, 120, 90.4, 38.04, recent), Assessments: onAir}, 0, BandLow, false, false, false},
		{"rounded as charted: 20.5 breaths, 38.05 °C", NEWS2Input{Latest: vitals(20.5, 96, 120, 90.5, 38.05, recent), Assessments: onAir}, 4, BandLow, false, false, false},
	}
	for _, tt := range tests {
		n := ScoreNEWS2(tt.in, now, DefaultFreshness())
		if n.Score != tt.score || n.Band != tt.band || n.Partial != tt.partial || n.Incomplete != tt.incomplete || n.NoData != tt.noData || len(n.Parameters) != 7 {
			t.Errorf("%s: score %d band %s partial %v incomplete %v no data %v (%d parameters), want %d %s %v %v %v", tt.name, n.Score,
				n.Band, n.Partial, n.Incomplete, n.NoData, len(n.Parameters), tt.score, tt.band, tt.partial, tt.incomplete, tt.noData)
		}
	}
}

// TestFreshnessIsPerParameterAndPassedIn: a systolic pressure from a morning cuff still counts at
// noon under the default policy, a pulse from the same time does not, and a policy passed in
// decides instead.
func TestFreshnessIsPerParameterAndPassedIn(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	morning := now.Add(-4 * time.Hour)
	in := NEWS2Input{Latest: map[string]rpm.Reading{
		rpm.CodeSystolicBP: reading(rpm.CodeSystolicBP, 95, morning), // 2 points
		rpm.CodeHeartRate:  reading(rpm.CodeHeartRate, 120, morning), // 2 points
	}}
	if n := ScoreNEWS2(in, now, DefaultFreshness()); n.Score != 2 {
		t.Errorf("default policy: %d, want only the pressure's 2", n.Score)
	}
	strict := Freshness{Default: time.Hour, Assessment: time.Hour}
	if n := ScoreNEWS2(in, now, strict); n.Score != 0 || !slices.Contains(n.Missing(), "Systolic BP") {
		t.Errorf("an hour for everything: %d, missing %v", n.Score, n.Missing())
	}
}

// TestStandingAssessments: the care plan's usual state counts until replaced and never goes
// stale; a later observation replaces it, and is stale, not the usual state again, once old.
func TestStandingAssessments(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	latest := map[string]rpm.Reading{rpm.CodeSpO2: reading(rpm.CodeSpO2, 97, now)}
	plan := []rpm.ClinicalAssessment{
		{Kind: rpm.AssessOxygen, Value: rpm.OnAir, RecordedAt: now.AddDate(0, 0, -20), Standing: true},
		{Kind: rpm.AssessConsciousness, Value: rpm.ConsciousAlert, RecordedAt: now.AddDate(0, 0, -20), Standing: true},
	}
	n := ScoreNEWS2(NEWS2Input{Latest: latest, Assessments: plan}, now, DefaultFreshness())
	if slices.Contains(n.Missing(), "Air or oxygen") || slices.Contains(n.Missing(), "Consciousness") || n.Score != 0 {
		t.Errorf("standing entries: score %d, missing %v", n.Score, n.Missing())
	}
	confused := append(slices.Clone(plan), rpm.ClinicalAssessment{Kind: rpm.AssessConsciousness, Value: rpm.ConsciousCVPU, RecordedAt: now.Add(-time.Hour)})
	if n := ScoreNEWS2(NEWS2Input{Latest: latest, Assessments: confused}, now, DefaultFreshness()); n.Score != 3 {
		t.Errorf("a fresh observation of new confusion: %d, want 3", n.Score)
	}
	if n := ScoreNEWS2(NEWS2Input{Latest: latest, Assessments: confused}, now.Add(13*time.Hour), DefaultFreshness()); n.Score != 0 ||
		!slices.Contains(n.Missing(), "Consciousness") {
		t.Errorf("a stale observation is stale, the usual state is not assumed back: %d, missing %v", n.Score, n.Missing())
	}
	onOxygen := append(slices.Clone(plan), rpm.ClinicalAssessment{Kind: rpm.AssessOxygen, Value: rpm.OnOxygen, RecordedAt: now.Add(-13 * time.Hour)})
	n = ScoreNEWS2(NEWS2Input{Latest: latest, Assessments: onOxygen}, now, DefaultFreshness())
	if c := n.Ceiling(); c.Score != 2 || c.RedScore {
		t.Errorf("stale oxygen at its worst scores 2, not a red 3: %+v", c)
	}
}

// TestCeilingCountsStaleParametersAtTheirWorst: a score that fell only because readings went stale
// could still be as high as before; one from fresh readings could not.
func TestCeilingCountsStaleParametersAtTheirWorst(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	fresh, old := now.Add(-time.Minute), now.Add(-62*time.Minute)
	f := Freshness{Default: time.Hour, Assessment: time.Hour}
	in := NEWS2Input{Latest: map[string]rpm.Reading{
		rpm.CodeRespRate:   {Code: rpm.CodeRespRate, Value: 26, EffectiveAt: old},   // 3 when fresh
		rpm.CodeSystolicBP: {Code: rpm.CodeSystolicBP, Value: 95, EffectiveAt: old}, // 2 when fresh
		rpm.CodeSpO2:       {Code: rpm.CodeSpO2, Value: 92, EffectiveAt: fresh},     // 2
	}}
	n := ScoreNEWS2(in, now, f)
	if n.Score != 2 || !n.Partial {
		t.Fatalf("score %d partial %v, want 2, partial", n.Score, n.Partial)
	}
	if c := n.Ceiling(); c.Score != 8 || c.Band != BandHigh {
		t.Errorf("ceiling %d (%s), want 8 (high)", c.Score, c.Band)
	}
	in.Latest[rpm.CodeRespRate] = rpm.Reading{Code: rpm.CodeRespRate, Value: 16, EffectiveAt: fresh}
	in.Latest[rpm.CodeSystolicBP] = rpm.Reading{Code: rpm.CodeSystolicBP, Value: 130, EffectiveAt: fresh}
	if c := ScoreNEWS2(in, now, f).Ceiling(); c.Score != 2 {
		t.Errorf("ceiling of a fresh score %d, want the score itself, 2", c.Score)
	}
}

func TestParseFreshness(t *testing.T) {
	f, err := ParseFreshness("respiration=30m, assessment=6h")
	if err != nil || f.For(rpm.CodeRespRate) != 30*time.Minute || f.Assessment != 6*time.Hour || f.For(rpm.CodeSystolicBP) != 12*time.Hour {
		t.Errorf("%+v %v", f, err)
	}
	for _, bad := range []string{"respiration=soon", "pulse=-1h", "heart=1h"} {
		if _, err := ParseFreshness(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestLongGoneReadingsAreMissing: a reading over a day old no longer counts as stale (at its worst,
// holding an alert open): it is missing.
func TestLongGoneReadingsAreMissing(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	in := NEWS2Input{Latest: map[string]rpm.Reading{rpm.CodeRespRate: reading(rpm.CodeRespRate, 30, now.Add(-25*time.Hour)),
		rpm.CodeSpO2: reading(rpm.CodeSpO2, 97, now.Add(-2*time.Hour))}}
	n := ScoreNEWS2(in, now, DefaultFreshness())
	for _, p := range n.Parameters {
		if p.Name == "Respiration rate" && (!p.Missing || p.Stale) || p.Name == "SpO₂" && !p.Stale {
			t.Errorf("%+v", p)
		}
	}
}
