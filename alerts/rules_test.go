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
	spo2 := Rule{Kind: rpm.Threshold, Code: rpm.CodeSpO2, Unit: "%", Severity: rpm.SeverityHigh, Direction: rpm.Below, Limit: 90, Clear: 92, Critical: true}
	run(t, "at the limit does not fire; below does; hysteresis; clears only after 2 minutes", spo2, []step{
		{0, 90, NoChange}, {10, 89, Confirmed}, {20, 88, Ongoing},
		{30, 91, NoChange},  // between limit and clear: still open
		{40, 92, NoChange},  // at the clear limit: not yet clear
		{50, 93, NoChange},  // clear, for now
		{169, 93, NoChange}, // 1:59 clear
		{170, 93, Cleared}, {180, 93, NoChange}, {190, 89, Confirmed},
	})

	forTwoMinutes := spo2
	forTwoMinutes.Critical, forTwoMinutes.For = false, 2*time.Minute
	run(t, "SpO2 < 90 % for 2 min", forTwoMinutes, []step{
		{0, 89, NoChange}, {60, 88, NoChange}, {119, 88, NoChange}, {120, 88, Confirmed},
	})
	run(t, "a break in the breach restarts the duration", forTwoMinutes, []step{
		{0, 89, NoChange}, {100, 91, NoChange}, {130, 89, NoChange}, {249, 89, NoChange}, {250, 89, Confirmed},
	})

	thrice := Rule{Kind: rpm.Threshold, Code: rpm.CodeHeartRate, Unit: "/min", Severity: rpm.SeverityMedium, Direction: rpm.Above, Limit: 120, Clear: 110, Repeat: 3}
	run(t, "three consecutive readings", thrice, []step{
		{0, 121, NoChange}, {10, 125, NoChange}, {20, 119, NoChange}, {30, 121, NoChange}, {40, 122, NoChange}, {50, 130, Confirmed},
	})

	clearSlowly := Rule{Kind: rpm.Threshold, Code: rpm.CodeHeartRate, Unit: "/min", Severity: rpm.SeverityMedium, Direction: rpm.Above, Limit: 120,
		Clear: 110, ClearFor: 3 * time.Minute, Critical: true}
	run(t, "clear only after holding clear for the clear time", clearSlowly, []step{
		{0, 130, Confirmed}, {10, 100, NoChange}, {40, 105, NoChange}, {50, 115, NoChange}, // back between the limits: clearing restarts
		{60, 100, NoChange}, {239, 100, NoChange}, {240, 100, Cleared},
	})
}

// TestReturnAfterAPause: readings hours apart cannot show a clear held for minutes. When an
// episode's readings were back to normal and then stopped for PauseAfter, its next confirmed
// breach — confirmed afresh, whichever device — is a return (Resumed), not more of the same; a
// clear that then holds still ends it. A short pause in a stream changes nothing.
func TestReturnAfterAPause(t *testing.T) {
	cuff := Rule{Kind: rpm.Threshold, Code: rpm.CodeSystolicBP, Unit: "mm[Hg]", Severity: rpm.SeverityHigh, Direction: rpm.Below,
		Limit: 90, Clear: 100, For: 3 * time.Minute, Repeat: 2}
	hour := 3600
	run(t, "symptom checks 3 minutes apart, a normal one, the next episode 10 hours later", cuff, []step{
		{0, 85, NoChange}, {180, 84, Confirmed}, {360, 86, Ongoing}, {540, 125, NoChange}, // normal after the episode
		{10 * hour, 84, NoChange},      // past the limit after the pause: confirmed afresh…
		{10*hour + 180, 85, Resumed},   // …and then a return
		{10*hour + 360, 86, Ongoing},   // more of the same
		{10*hour + 540, 95, NoChange},  // between the limits
		{20 * hour, 95, NoChange},      // after a pause, but the last readings were not normal
		{20*hour + 180, 84, NoChange},  //
		{20*hour + 360, 85, Ongoing},   // so: more of the same
		{20*hour + 400, 124, NoChange}, // normal
		{21 * hour, 95, NoChange},      // a pause, then between the limits…
		{21*hour + 180, 84, NoChange},  //
		{21*hour + 360, 85, Resumed},   // …then past them: still a return
		{21*hour + 400, 124, NoChange}, // normal
		{31 * hour, 125, Cleared},      // normal again after the pause: the clear held
	})
	critical := cuff
	critical.For, critical.Repeat, critical.Critical = 0, 0, true
	run(t, "a critical limit: the first reading past it after the pause is the return", critical, []step{
		{0, 85, Confirmed}, {540, 125, NoChange}, {10 * hour, 84, Resumed}, {10*hour + 180, 85, Ongoing},
	})
	spo2 := Rule{Kind: rpm.Threshold, Code: rpm.CodeSpO2, Unit: "%", Severity: rpm.SeverityHigh, Direction: rpm.Below, Limit: 90, Clear: 92,
		ClearFor: time.Minute, Critical: true}
	run(t, "a stream that pauses for less than PauseAfter goes on with its episode", spo2, []step{
		{0, 85, Confirmed}, {10, 93, NoChange}, {10 + 14*60, 85, Ongoing},
	})

	// Two cuffs: the second's normal reading does not end the first's run, but the pause does —
	// the first cuff's run from before it does not confirm the return.
	var st State
	feed := func(device string, sec int, v float64, want Transition) {
		t.Helper()
		var got Transition
		st, got = cuff.Evaluate(st, rpm.Reading{DeviceID: device, Code: cuff.Code, Value: v, EffectiveAt: t0.Add(time.Duration(sec) * time.Second)})
		if got != want {
			t.Errorf("%s at %ds (%g): %q, want %q", device, sec, v, got, want)
		}
	}
	feed("arm", 0, 85, NoChange)
	feed("arm", 180, 84, Confirmed)
	feed("wrist", 240, 125, NoChange)
	feed("arm", 10*hour, 84, NoChange)
	feed("arm", 10*hour+180, 84, Resumed)
}

// TestPauseEdges: a run of identical values from before a pause does not confirm a flat line's
// return; late readings that fill a pause undo it and ones that only narrow it do not; a replay
// restarts a device's run at the pause's end; and checks the timers make at their own times (a
// battery's charge, a NEWS2 rescore) never pause an episode, so an outage of the timers is no
// pause.
func TestPauseEdges(t *testing.T) {
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	flat := Rule{Kind: rpm.FlatLine, Severity: rpm.SeverityLow, Repeat: 10}
	var st State
	var tr Transition
	hr := func(sec int, v float64) {
		st, tr = flat.Evaluate(st, rpm.Reading{DeviceID: "m", Code: rpm.CodeHeartRate, Value: v, EffectiveAt: at(sec)})
	}
	for sec := 0; sec <= 600; sec += 30 {
		hr(sec, 72)
	}
	for sec := 610; sec <= 650; sec += 5 {
		hr(sec, 75) // nine identical values, varying from before: clearing
	}
	hr(650+20*60, 75)
	if run := st.Sources[rpm.CodeHeartRate]; tr == Resumed || run.RunCount != 1 {
		t.Errorf("a flat line's tenth identical value after a 20-minute pause: %q (run of %d), want the run to start again", tr, run.RunCount)
	}

	cuff := Rule{Kind: rpm.Threshold, Code: rpm.CodeSystolicBP, Severity: rpm.SeverityHigh, Direction: rpm.Below,
		Limit: 90, Clear: 100, For: 3 * time.Minute, Repeat: 2}
	paused := func() State {
		var st State
		for _, r := range []struct {
			sec int
			v   float64
		}{{0, 85}, {180, 84}, {240, 125}, {240 + 20*60, 84}} {
			st, _ = cuff.Evaluate(st, rpm.Reading{DeviceID: "arm", Code: cuff.Code, Value: r.v, EffectiveAt: at(r.sec)})
		}
		return st
	}
	if st := paused(); !st.Paused || !st.PausedFrom.Equal(at(240)) || !st.PausedTo.Equal(at(240+20*60)) {
		t.Fatalf("a 20-minute gap after a normal reading: %+v", st)
	}
	if st := paused().Filled([]time.Time{at(600), at(1000)}); st.Paused {
		t.Errorf("a backlog leaving no 15-minute gap still pauses: %+v", st)
	}
	if st := paused().Filled([]time.Time{at(300)}); !st.Paused || !st.PausedFrom.Equal(at(300)) {
		t.Errorf("a late reading that only narrows the gap: %+v, want the pause from 300 s", st)
	}
	if st := paused().Filled([]time.Time{at(100), at(2000)}); !st.Paused || !st.PausedFrom.Equal(at(240)) {
		t.Errorf("late readings outside the gap: %+v", st)
	}

	// The arm cuff's run past the limit from 0 s to 180 s, replayed after the pause: not confirmed.
	window := []rpm.Reading{{DeviceID: "arm", Code: cuff.Code, Value: 85, EffectiveAt: at(0)},
		{DeviceID: "arm", Code: cuff.Code, Value: 84, EffectiveAt: at(180)}}
	if rp := cuff.ReplaySource(window, time.Time{}); !rp.Source.Breaching {
		t.Fatalf("the replayed run without a pause: %+v", rp.Source)
	}
	if rp := cuff.ReplaySource(window, at(200)); rp.Source.Breaching || rp.Source.Count != 0 {
		t.Errorf("a run from before the pause survived the replay: %+v", rp.Source)
	}
	after := append(window, rpm.Reading{DeviceID: "arm", Code: cuff.Code, Value: 83, EffectiveAt: at(300)})
	if rp := cuff.ReplaySource(after, at(200)); !rp.Source.BreachSince.Equal(at(300)) || rp.Source.Count != 1 {
		t.Errorf("the run after the pause: %+v, want it to start at 300 s", rp.Source)
	}

	battery := DefaultLowBattery
	var b State
	b, _ = battery.Step(b, Observation{Source: "d", At: at(0), Breach: true})
	b, _ = battery.Step(b, Observation{Source: "d", At: at(10), Clear: true})
	if b, tr = battery.Step(b, Observation{Source: "d", At: at(10 + 30*60), Breach: true}); tr != Ongoing || b.Paused {
		t.Errorf("a timer check 30 minutes after the last: %q (paused %v), want more of the same", tr, b.Paused)
	}
}

// TestSeveralDevices: onsets are confirmed on one device's own readings; one device's normal
// readings never clear an episode another device is still reporting, nor interrupt its breach.
func TestSeveralDevices(t *testing.T) {
	spo2 := Rule{Kind: rpm.Threshold, Code: rpm.CodeSpO2, Unit: "%", Severity: rpm.SeverityHigh, Direction: rpm.Below, Limit: 90, Clear: 92, Repeat: 3}
	var st State
	feed := func(device string, sec int, v float64, want Transition) {
		t.Helper()
		var got Transition
		st, got = spo2.Evaluate(st, rpm.Reading{DeviceID: device, Code: rpm.CodeSpO2, Value: v, EffectiveAt: t0.Add(time.Duration(sec) * time.Second)})
		if got != want {
			t.Errorf("%s at %ds (%g): %q, want %q", device, sec, v, got, want)
		}
	}
	feed("finger", 0, 88, NoChange)
	feed("wrist", 1, 97, NoChange) // does not interrupt the finger's run
	feed("finger", 10, 87, NoChange)
	feed("wrist", 11, 97, NoChange)
	feed("finger", 20, 88, Confirmed) // three of the finger's own in a row
	for sec := 21; sec < 300; sec += 10 {
		feed("wrist", sec, 97, NoChange) // normal readings of another device
		feed("finger", sec+5, 88, Ongoing)
	}
	// The finger probe stops; the wrist's normal readings clear the episode only after the clear
	// time with nothing abnormal from anyone.
	feed("wrist", 301, 97, NoChange)
	feed("wrist", 400, 97, NoChange)
	feed("wrist", 421, 97, Cleared)

	two := Rule{Kind: rpm.Threshold, Code: rpm.CodeSpO2, Unit: "%", Severity: rpm.SeverityHigh, Direction: rpm.Below, Limit: 90, Clear: 92, Repeat: 2}
	st = State{}
	for i, d := range []string{"a", "b", "a", "b"} {
		var got Transition
		v := []float64{88, 89, 97, 97}[i]
		st, got = two.Evaluate(st, rpm.Reading{DeviceID: d, Code: rpm.CodeSpO2, Value: v, EffectiveAt: t0.Add(time.Duration(i) * time.Second)})
		if got != NoChange {
			t.Errorf("one abnormal reading from each of two devices confirmed an onset at step %d", i)
		}
	}
}

func TestLateReadingsAreReplayed(t *testing.T) {
	r := Rule{Kind: rpm.Threshold, Code: rpm.CodeHeartRate, Unit: "/min", Severity: rpm.SeverityLow, Direction: rpm.Above, Limit: 100, Clear: 90, Repeat: 2}
	st, tr := r.Evaluate(State{}, rpm.Reading{DeviceID: "d", Code: rpm.CodeHeartRate, Value: 80, EffectiveAt: t0.Add(time.Hour)})
	if tr != NoChange {
		t.Fatal(tr)
	}
	if _, tr := r.Evaluate(st, rpm.Reading{DeviceID: "d", Code: rpm.CodeHeartRate, Value: 150, EffectiveAt: t0}); tr != Late {
		t.Errorf("an older reading of the same device: %q, want late", tr)
	}
	if _, tr := r.Evaluate(st, rpm.Reading{DeviceID: "other", Code: rpm.CodeHeartRate, Value: 150, EffectiveAt: t0}); tr != NoChange {
		t.Errorf("another device's older reading is its own stream, in order: %q", tr)
	}
	if _, tr := r.Evaluate(st, rpm.Reading{DeviceID: "d", Code: rpm.CodeSpO2, Value: 150, EffectiveAt: t0.Add(2 * time.Hour)}); tr != NoChange {
		t.Errorf("another code's reading fired: %q", tr)
	}
	// The replay of the device's window finds the onset the late readings make, and its end.
	window := []rpm.Reading{}
	for i, v := range []float64{80, 150, 155, 150, 80, 80, 80} {
		window = append(window, rpm.Reading{DeviceID: "d", Code: rpm.CodeHeartRate, Value: v, EffectiveAt: t0.Add(time.Duration(i) * time.Minute)})
	}
	rp := r.ReplaySource(window, time.Time{})
	if len(rp.Onsets) != 1 || !rp.Onsets[0].Reading.EffectiveAt.Equal(t0.Add(2*time.Minute)) || !rp.Onsets[0].Cleared.Equal(t0.Add(6*time.Minute)) || rp.Ongoing {
		t.Errorf("replay: %+v", rp)
	}
}

func TestRateOfChange(t *testing.T) {
	day := 86400
	weight := Rule{Kind: rpm.RateOfChange, Code: rpm.CodeBodyWeight, Unit: "kg", Severity: rpm.SeverityMedium, Change: 2, Within: 72 * time.Hour, Critical: true}
	run(t, "weight +2 kg in 3 days", weight, []step{
		{0, 80, NoChange}, {day, 80.9, NoChange}, {2 * day, 81.9, NoChange},
		{3 * day, 82.0, Confirmed},      // 80 → 82 within exactly 3 days
		{3*day + 3600, 82.1, NoChange},  // 80 kg is now out of the window: 82.1 − 80.9 < 2, clearing
		{3*day + 7200, 82.2, Cleared},   // two hours without such a change
		{3*day + 7300, 83.0, Confirmed}, // 83.0 − 80.9 ≥ 2
		{3*day + 7400, 83.1, Ongoing},
	})
	confirmed := weight
	confirmed.Critical, confirmed.Repeat = false, 2
	run(t, "confirmed by the next weigh-in", confirmed, []step{
		{0, 80, NoChange}, {day, 82.5, NoChange}, {day + 600, 82.4, Confirmed},
	})
	run(t, "the same rise over more than 3 days does not fire", weight, []step{
		{0, 80, NoChange}, {2 * day, 81, NoChange}, {4 * day, 82, NoChange},
	})
}

// TestFlatLine: a heart rate repeating one value for 10 minutes is a stuck sensor, not a patient;
// a weight may repeat.
func TestFlatLine(t *testing.T) {
	flat := Rule{Kind: rpm.FlatLine, Severity: rpm.SeverityLow, Repeat: 10}
	var st State
	var tr Transition
	for sec := 0; sec <= 600; sec += 30 {
		st, tr = flat.Evaluate(st, rpm.Reading{DeviceID: "m", Code: rpm.CodeHeartRate, Value: 72, EffectiveAt: t0.Add(time.Duration(sec) * time.Second)})
		if sec < 600 && tr != NoChange || sec == 600 && tr != Confirmed {
			t.Errorf("heart rate 72 for %ds: %q", sec, tr)
		}
	}
	for i, sec := range []int{630, 660, 690, 720, 750} {
		st, tr = flat.Evaluate(st, rpm.Reading{DeviceID: "m", Code: rpm.CodeHeartRate, Value: float64(70 + i%2*3), EffectiveAt: t0.Add(time.Duration(sec) * time.Second)})
	}
	if tr != Cleared {
		t.Errorf("varying again for 2 minutes: %q, want resolve", tr)
	}
	if flat.Watches(rpm.CodeBodyWeight) {
		t.Error("a flat line rule watches weight")
	}
}

func TestNoDataAndNEWS2Rules(t *testing.T) {
	silent := Rule{Kind: rpm.NoData, Code: rpm.CodeSpO2, Unit: "%", Severity: rpm.SeverityMedium, Silence: 15 * time.Minute}
	if silent.Silent(t0, t0, t0.Add(14*time.Minute+59*time.Second)) || !silent.Silent(t0, t0, t0.Add(15*time.Minute)) {
		t.Error("no-data boundary")
	}
	if !silent.Silent(time.Time{}, t0, t0.Add(16*time.Minute)) {
		t.Error("a device that never sent is silent from its assignment on")
	}
	medium := Rule{Kind: rpm.NEWS2Rule, Severity: rpm.SeverityHigh, MinBand: BandMedium}
	red := Rule{Kind: rpm.NEWS2Rule, Severity: rpm.SeverityMedium, RedScore: true}
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
	ok := Rule{Kind: rpm.Threshold, Code: rpm.CodeSpO2, Unit: "%", Severity: rpm.SeverityHigh, Direction: rpm.Below, Limit: 90, Clear: 92, For: 2 * time.Minute}
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
		"rate of change, no window": func(r *Rule) { r.Kind, r.Change = rpm.RateOfChange, 2 },
		"no data, no silence":       func(r *Rule) { r.Kind = rpm.NoData },
		"no onset confirmation":     func(r *Rule) { r.For = 0 },
	}
	for name, change := range bad {
		r := ok
		change(&r)
		if r.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if (Rule{Kind: rpm.NEWS2Rule, Severity: rpm.SeverityHigh, For: time.Minute}).Validate() == nil {
		t.Error("a NEWS2 rule that can never fire was accepted")
	}
	critical := ok
	critical.For, critical.Critical = 0, true
	if err := critical.Validate(); err != nil {
		t.Errorf("a critical limit fires at once: %v", err)
	}
}

// TestDurationsRoundTrip: a duration a rule stores reads back as itself (10m was once stored as
// "1", which no rule could parse).
func TestDurationsRoundTrip(t *testing.T) {
	for _, d := range []time.Duration{10 * time.Second, 30 * time.Second, 90 * time.Second, time.Minute, 2 * time.Minute,
		10 * time.Minute, 20 * time.Minute, 30 * time.Minute, time.Hour, 90 * time.Minute, 2 * time.Hour, 10 * time.Hour,
		72 * time.Hour, 100 * time.Hour, 1500 * time.Millisecond} {
		got, err := time.ParseDuration(duration(d))
		if err != nil || got != d {
			t.Errorf("%s stored as %q reads back as %s (%v)", d, duration(d), got, err)
		}
	}
	r := Rule{Kind: rpm.Threshold, Code: rpm.CodeSpO2, Unit: "%", Severity: rpm.SeverityHigh, Direction: rpm.Below, Limit: 90, Clear: 92,
		For: 10 * time.Minute, ClearFor: 30 * time.Minute}
	back, err := ParseRule(rpm.AlertRule{Kind: r.Kind, Code: r.Code, Severity: r.Severity, Params: r.Params()})
	if err != nil || back.For != r.For || back.ClearFor != r.ClearFor {
		t.Errorf("a rule for 10m, clearing for 30m, reads back as %+v (%v)", back, err)
	}
}
