package alerts

import (
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// step is one reading fed to a rule: seconds after t0, value, and the transition expected.
type step struct {
	sec  int
	v    float64
	want Transition
}

func run(t *testing.T, name string, r Rule, steps []step) {
	t.Helper()
	var st State
	for i, s := range steps {
		var got Transition
		st, got = r.Evaluate(st, rpm.Reading{Code: r.Code, Value: s.v, EffectiveAt: t0.Add(time.Duration(s.sec) * time.Second)})
		if got != s.want {
			t.Errorf("%s, step %d (%ds, %g): %q, want %q", name, i, s.sec, s.v, got, s.want)
		}
	}
}

func TestThreshold(t *testing.T) {
	spo2 := Rule{Kind: Threshold, Code: rpm.CodeSpO2, Unit: "%", Severity: High, Direction: Below, Limit: 90, Clear: 92}
	run(t, "at the limit does not fire; below does; hysteresis", spo2, []step{
		{0, 90, None}, {10, 89, Fire}, {20, 88, Retrigger},
		{30, 91, None}, // between limit and clear: still open
		{40, 92, None}, // at the clear limit: not yet clear
		{50, 93, Resolve}, {60, 93, None}, {70, 89, Fire},
	})

	forTwoMinutes := spo2
	forTwoMinutes.For = 2 * time.Minute
	run(t, "SpO2 < 90 % for 2 min", forTwoMinutes, []step{
		{0, 89, None}, {60, 88, None}, {119, 88, None}, {120, 88, Fire},
	})
	run(t, "a break in the breach restarts the duration", forTwoMinutes, []step{
		{0, 89, None}, {100, 91, None}, {130, 89, None}, {249, 89, None}, {250, 89, Fire},
	})

	thrice := Rule{Kind: Threshold, Code: rpm.CodeHeartRate, Unit: "/min", Severity: Medium, Direction: Above, Limit: 120, Clear: 110, Repeat: 3}
	run(t, "three consecutive readings", thrice, []step{
		{0, 121, None}, {10, 125, None}, {20, 119, None}, {30, 121, None}, {40, 122, None}, {50, 130, Fire},
	})

	clearSlowly := Rule{Kind: Threshold, Code: rpm.CodeHeartRate, Unit: "/min", Severity: Medium, Direction: Above, Limit: 120, Clear: 110, ClearFor: time.Minute}
	run(t, "clear only after holding clear for a minute", clearSlowly, []step{
		{0, 130, Fire}, {10, 100, None}, {40, 105, None}, {50, 115, None}, // back between the limits: clearing restarts
		{60, 100, None}, {119, 100, None}, {120, 100, Resolve},
	})
}

func TestOutOfOrderReadingsChangeNothing(t *testing.T) {
	r := Rule{Kind: Threshold, Code: rpm.CodeHeartRate, Unit: "/min", Severity: Low, Direction: Above, Limit: 100, Clear: 90}
	st, tr := r.Evaluate(State{}, rpm.Reading{Code: rpm.CodeHeartRate, Value: 80, EffectiveAt: t0.Add(time.Minute)})
	if tr != None {
		t.Fatal(tr)
	}
	if _, tr := r.Evaluate(st, rpm.Reading{Code: rpm.CodeHeartRate, Value: 150, EffectiveAt: t0}); tr != None {
		t.Errorf("an older reading fired: %q", tr)
	}
	if _, tr := r.Evaluate(st, rpm.Reading{Code: rpm.CodeSpO2, Value: 150, EffectiveAt: t0.Add(time.Hour)}); tr != None {
		t.Errorf("another code's reading fired: %q", tr)
	}
}

func TestRateOfChange(t *testing.T) {
	day := 86400
	weight := Rule{Kind: RateOfChange, Code: rpm.CodeBodyWeight, Unit: "kg", Severity: Medium, Change: 2, Within: 72 * time.Hour}
	run(t, "weight +2 kg in 3 days", weight, []step{
		{0, 80, None}, {day, 80.9, None}, {2 * day, 81.9, None},
		{3 * day, 82.0, Fire},         // 80 → 82 within exactly 3 days
		{3*day + 3600, 82.1, Resolve}, // 80 kg is now out of the window: 82.1 − 80.9 < 2
		{3*day + 7200, 83.0, Fire},    // 83.0 − 80.9 ≥ 2
		{3*day + 7300, 83.1, Retrigger},
	})
	run(t, "the same rise over more than 3 days does not fire", weight, []step{
		{0, 80, None}, {2 * day, 81, None}, {4 * day, 82, None},
	})
}

func TestNoDataAndNEWS2Rules(t *testing.T) {
	silent := Rule{Kind: NoData, Code: rpm.CodeSpO2, Unit: "%", Severity: Medium, Silence: 15 * time.Minute}
	if silent.Silent(t0, t0, t0.Add(14*time.Minute+59*time.Second)) || !silent.Silent(t0, t0, t0.Add(15*time.Minute)) {
		t.Error("no-data boundary")
	}
	if !silent.Silent(time.Time{}, t0, t0.Add(16*time.Minute)) {
		t.Error("a device that never sent is silent from its assignment on")
	}
	medium := Rule{Kind: NEWS2Rule, Severity: High, MinBand: BandMedium}
	red := Rule{Kind: NEWS2Rule, Severity: Medium, RedScore: true}
	for _, tt := range []struct {
		n           NEWS2
		medium, red bool
	}{
		{NEWS2{Score: 4, Band: BandLow}, false, false},
		{NEWS2{Score: 3, Band: BandLowMedium, RedScore: true}, false, true},
		{NEWS2{Score: 5, Band: BandMedium}, true, false},
		{NEWS2{Score: 9, Band: BandHigh, RedScore: true}, true, true},
	} {
		if medium.EvaluateNEWS2(tt.n) != tt.medium || red.EvaluateNEWS2(tt.n) != tt.red {
			t.Errorf("NEWS2 %+v: medium rule %v, red rule %v", tt.n, medium.EvaluateNEWS2(tt.n), red.EvaluateNEWS2(tt.n))
		}
	}
}

func TestRulesValidateThemselves(t *testing.T) {
	ok := Rule{Kind: Threshold, Code: rpm.CodeSpO2, Unit: "%", Severity: High, Direction: Below, Limit: 90, Clear: 92}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := map[string]func(r *Rule){
		"wrong unit":                func(r *Rule) { r.Unit = "mmHg" },
		"unknown code":              func(r *Rule) { r.Code = "0000-0" },
		"clear on the wrong side":   func(r *Rule) { r.Clear = 88 },
		"no direction":              func(r *Rule) { r.Direction = "" },
		"negative duration":         func(r *Rule) { r.For = -time.Second },
		"unknown severity":          func(r *Rule) { r.Severity = "urgent" },
		"rate of change, no window": func(r *Rule) { r.Kind, r.Change = RateOfChange, 2 },
		"no data, no silence":       func(r *Rule) { r.Kind = NoData },
	}
	for name, change := range bad {
		r := ok
		change(&r)
		if r.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if (Rule{Kind: NEWS2Rule, Severity: High}).Validate() == nil {
		t.Error("a NEWS2 rule that can never fire was accepted")
	}
}
