package rpm

import (
	"math"
	"testing"
)

func TestNormalizeConvertsEveryAcceptedUnit(t *testing.T) {
	tests := []struct {
		code, unit string
		in         float64
		wantCode   string
		wantUnit   string
		want       float64
	}{
		{CodeHeartRate, "/min", 72, CodeHeartRate, "/min", 72},
		{CodeHeartRate, "{beats}/min", 72, CodeHeartRate, "/min", 72},
		{CodeRespRate, "/min", 16, CodeRespRate, "/min", 16},
		{CodeRespRate, "{breaths}/min", 16, CodeRespRate, "/min", 16},
		{CodeSpO2, "%", 97, CodeSpO2, "%", 97},
		{CodeSpO2Core, "%", 97, CodeSpO2, "%", 97},
		{CodeBodyTemp, "Cel", 37.2, CodeBodyTemp, "Cel", 37.2},
		{CodeBodyTemp, "[degF]", 98.6, CodeBodyTemp, "Cel", 37},
		{CodeBodyTemp, "[degF]", 212 - 180, CodeBodyTemp, "Cel", 0}, // checked below as implausible instead
		{CodeSystolicBP, "mm[Hg]", 120, CodeSystolicBP, "mm[Hg]", 120},
		{CodeDiastolicBP, "mm[Hg]", 80, CodeDiastolicBP, "mm[Hg]", 80},
		{CodeBodyWeight, "kg", 70.5, CodeBodyWeight, "kg", 70.5},
		{CodeBodyWeight, "g", 70500, CodeBodyWeight, "kg", 70.5},
		{CodeBodyWeight, "[lb_av]", 154, CodeBodyWeight, "kg", 154 * 0.45359237},
		{CodeBloodGlucose, "mg/dL", 110, CodeBloodGlucose, "mg/dL", 110},
		{CodeBloodGlucose, "mmol/L", 5.5, CodeBloodGlucose, "mg/dL", 5.5 * 18.016},
		{CodeSteps, "/d", 8000, CodeSteps, "/d", 8000},
	}
	for _, tt := range tests {
		got, rej := Normalize(tt.code, tt.unit, tt.in)
		if tt.want == 0 { // 32 °F is 0 °C: not a living patient
			if rej == nil || rej.Reason != ReasonImplausibleValue {
				t.Errorf("Normalize(%s, %s, %g) = %+v, %v; want implausible", tt.code, tt.unit, tt.in, got, rej)
			}
			continue
		}
		if rej != nil {
			t.Errorf("Normalize(%s, %s, %g) rejected: %v", tt.code, tt.unit, tt.in, rej)
			continue
		}
		if got.Code != tt.wantCode || got.Unit != tt.wantUnit || math.Abs(got.Value-tt.want) > 1e-9 {
			t.Errorf("Normalize(%s, %s, %g) = %s %g %s, want %s %g %s", tt.code, tt.unit, tt.in,
				got.Code, got.Value, got.Unit, tt.wantCode, tt.want, tt.wantUnit)
		}
	}
}

// TestNormalizeBoundaries: each range's ends are accepted, a step beyond is rejected.
func TestNormalizeBoundaries(t *testing.T) {
	ranges := map[string][2]float64{
		CodeHeartRate: {MinHeartRate, MaxHeartRate}, CodeRespRate: {MinRespRate, MaxRespRate},
		CodeSpO2: {MinSpO2, MaxSpO2}, CodeSpO2Core: {MinSpO2, MaxSpO2}, CodeBodyTemp: {MinBodyTemp, MaxBodyTemp},
		CodeSystolicBP: {MinSystolicBP, MaxSystolicBP}, CodeDiastolicBP: {MinDiastolicBP, MaxDiastolicBP},
		CodeBodyWeight: {MinBodyWeight, MaxBodyWeight}, CodeBloodGlucose: {MinBloodGlucose, MaxBloodGlucose},
		CodeSteps: {MinSteps, MaxSteps},
	}
	if len(ranges) != len(measures) {
		t.Fatalf("%d ranges tested, %d measures accepted", len(ranges), len(measures))
	}
	for code, r := range ranges {
		unit, _ := CanonicalUnit(code)
		for _, v := range []float64{r[0], r[1]} {
			if _, rej := Normalize(code, unit, v); rej != nil {
				t.Errorf("%s %g %s rejected at the boundary: %v", code, v, unit, rej)
			}
		}
		for _, v := range []float64{r[0] - 0.01, r[1] + 0.01, math.NaN(), math.Inf(1)} {
			if _, rej := Normalize(code, unit, v); rej == nil || rej.Reason != ReasonImplausibleValue || rej.Field != "value" {
				t.Errorf("%s %g %s: %v, want implausible_value", code, v, unit, rej)
			}
		}
	}
	// Converted values are checked after conversion: 45 °C is 113 °F.
	if _, rej := Normalize(CodeBodyTemp, "[degF]", 113.2); rej == nil {
		t.Error("113.2 °F (45.1 °C) accepted")
	}
}

func TestNormalizeRefusals(t *testing.T) {
	tests := []struct{ code, unit, reason string }{
		{"1234-5", "/min", ReasonUnknownCode},
		{"", "%", ReasonUnknownCode},
		{CodeHeartRate, "bpm", ReasonBadUnit},
		{CodeBodyTemp, "[degC]", ReasonBadUnit},
		{CodeSpO2, "", ReasonBadUnit},
		{CodeBodyWeight, "lb", ReasonBadUnit},
	}
	for _, tt := range tests {
		if _, rej := Normalize(tt.code, tt.unit, 70); rej == nil || rej.Reason != tt.reason {
			t.Errorf("Normalize(%q, %q) = %v, want %s", tt.code, tt.unit, rej, tt.reason)
		}
	}
}
