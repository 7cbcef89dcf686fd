package devicesim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

var simStart = time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)

func testRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 7)) }

// sampleVitals draws a patient with the scenario and samples it every step over span.
func sampleVitals(seed uint64, sc Scenario, span, step time.Duration) []Vitals {
	rng := testRNG(seed)
	p := NewPatient(Device{ID: "d", Kind: rpm.KindBedsideMonitor, Scenario: sc}, simStart, rng)
	var out []Vitals
	for t := time.Duration(0); t < span; t += step {
		out = append(out, p.Vitals(t, rng))
	}
	return out
}

func mean(vs []Vitals, f func(Vitals) float64) float64 {
	s := 0.0
	for _, v := range vs {
		s += f(v)
	}
	return s / float64(len(vs))
}

func TestKindMetrics(t *testing.T) {
	t.Parallel()
	want := map[rpm.DeviceKind][]string{
		rpm.KindBPCuff:         {rpm.CodeSystolicBP, rpm.CodeDiastolicBP, rpm.CodeHeartRate},
		rpm.KindPulseOximeter:  {rpm.CodeSpO2, rpm.CodeHeartRate, rpm.CodeRespRate},
		rpm.KindScale:          {rpm.CodeBodyWeight},
		rpm.KindThermometer:    {rpm.CodeBodyTemp},
		rpm.KindGlucometer:     {rpm.CodeBloodGlucose},
		rpm.KindWearable:       {rpm.CodeHeartRate, rpm.CodeRespRate, rpm.CodeSteps},
		rpm.KindBedsideMonitor: {rpm.CodeHeartRate, rpm.CodeRespRate, rpm.CodeSpO2, rpm.CodeSystolicBP, rpm.CodeDiastolicBP, rpm.CodeBodyTemp},
	}
	units := map[string][]string{
		rpm.CodeHeartRate: {"/min"}, rpm.CodeRespRate: {"/min"}, rpm.CodeSpO2: {"%"},
		rpm.CodeSystolicBP: {"mm[Hg]"}, rpm.CodeDiastolicBP: {"mm[Hg]"}, rpm.CodeBodyTemp: {"Cel", "[degF]"},
		rpm.CodeBodyWeight: {"kg", "[lb_av]"}, rpm.CodeBloodGlucose: {"mg/dL", "mmol/L"}, rpm.CodeSteps: {"/d"},
	}
	oneDecimal := map[string]bool{"Cel": true, "[degF]": true, "kg": true, "[lb_av]": true, "mmol/L": true}
	for kind, codes := range want {
		seenUnits := map[string]bool{}
		for seed := range uint64(60) {
			rng := testRNG(seed)
			p := NewPatient(Device{ID: "d", Kind: kind}, simStart, rng)
			rs := p.Measure(nil, time.Duration(seed)*time.Hour, rng)
			got := make([]string, len(rs))
			for i, r := range rs {
				got[i] = r.Code
				seenUnits[r.Unit] = true
				if !slices.Contains(units[r.Code], r.Unit) {
					t.Errorf("%s: %s in unit %q", kind, r.Code, r.Unit)
				}
				if scale := map[bool]float64{true: 10, false: 1}[oneDecimal[r.Unit]]; math.Abs(r.Value*scale-math.Round(r.Value*scale)) > 1e-9 {
					t.Errorf("%s: %s = %v not rounded as a device does", kind, r.Code, r.Value)
				}
				if !plausible(r) {
					t.Errorf("%s: %s = %v %s is implausible", kind, r.Code, r.Value, r.Unit)
				}
			}
			if !slices.Equal(got, codes) {
				t.Fatalf("%s measures %v, want %v", kind, got, codes)
			}
		}
		if kind == rpm.KindScale && !(seenUnits["kg"] && seenUnits["[lb_av]"]) ||
			kind == rpm.KindThermometer && !(seenUnits["Cel"] && seenUnits["[degF]"]) ||
			kind == rpm.KindGlucometer && !(seenUnits["mg/dL"] && seenUnits["mmol/L"]) {
			t.Errorf("%s: 60 devices all used one unit: %v", kind, seenUnits)
		}
		if !slices.Equal(KindMetrics(kind), codes) {
			t.Errorf("KindMetrics(%s) = %v", kind, KindMetrics(kind))
		}
	}
}

func TestDeteriorationWorsensOverHours(t *testing.T) {
	vs := sampleVitals(1, Deterioration, 10*time.Hour, time.Minute)
	first, last := vs[:60], vs[len(vs)-60:]
	for _, c := range []struct {
		name string
		f    func(Vitals) float64
		min  float64 // least change, last hour minus first
	}{
		{"RR", func(v Vitals) float64 { return v.RespRate }, 8},
		{"HR", func(v Vitals) float64 { return v.HeartRate }, 25},
		{"SpO2", func(v Vitals) float64 { return -v.SpO2 }, 5},
		{"temp", func(v Vitals) float64 { return v.TempC }, 1},
		{"SBP", func(v Vitals) float64 { return -v.SystolicBP }, 20},
	} {
		if d := mean(last, c.f) - mean(first, c.f); d < c.min {
			t.Errorf("%s moved %.1f towards worse from the first to the last hour, want ≥ %v", c.name, d, c.min)
		}
	}
}

// TestEpisodes: hypoxic episodes recur 6–8 hours apart and hypotensive ones 8–12, each 5–15
// minutes long with values in the episode band, before simulated time zero too (for history), and
// one starts at zero.
func TestEpisodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		sc           Scenario
		f            func(Vitals) float64
		lo, hi       float64 // the episode band
		below        float64 // an episode value is below this; normal values are not
		gapLo, gapHi time.Duration
	}{
		{Hypoxic, func(v Vitals) float64 { return v.SpO2 }, 84, 88, 90, 6 * time.Hour, 8 * time.Hour},
		{Hypotensive, func(v Vitals) float64 { return v.SystolicBP }, 80, 88, 89, 8 * time.Hour, 12 * time.Hour},
	}
	const step = 30 * time.Second
	for _, c := range cases {
		for seed := range uint64(5) {
			rng := testRNG(seed)
			p := NewPatient(Device{ID: "d", Kind: rpm.KindBedsideMonitor, Scenario: c.sc}, simStart, rng)
			var starts []time.Duration
			var runStart time.Duration
			in := false
			for at := -3 * 24 * time.Hour; at < 24*time.Hour; at += step {
				x := c.f(p.Vitals(at, rng))
				switch {
				case x < c.below && (x < c.lo || x > c.hi):
					t.Fatalf("%s: value %.1f outside the episode band %v–%v", c.sc, x, c.lo, c.hi)
				case x < c.below && !in:
					in, runStart = true, at
					starts = append(starts, at)
				case x >= c.below && in:
					in = false
					if d := at - runStart; d < 5*time.Minute-step || d > 15*time.Minute+step {
						t.Errorf("%s seed %d: an episode at %v lasted %v", c.sc, seed, runStart, d)
					}
				}
			}
			if !slices.Contains(starts, 0) {
				t.Errorf("%s seed %d: no episode starts at zero: %v", c.sc, seed, starts)
			}
			for i := 1; i < len(starts); i++ {
				if gap := starts[i] - starts[i-1]; gap < c.gapLo-step || gap > c.gapHi+step {
					t.Errorf("%s seed %d: episodes at %v and %v", c.sc, seed, starts[i-1], starts[i])
				}
			}
		}
	}
}

// TestSymptomChecks: a hypotensive patient takes their blood pressure at the cuff's times and
// also during each episode — twice at least, 3 minutes apart, and once after it — so the
// episode is in the readings; their thermometer, and a stable patient's cuff, keep to schedule.
func TestSymptomChecks(t *testing.T) {
	t.Parallel()
	cuff := Device{ID: "bp", Kind: rpm.KindBPCuff, Scenario: Hypotensive, Schedule: UsualSchedule(rpm.KindBPCuff)}
	p := NewPatient(cuff, simStart, testRNG(6))
	var times []time.Duration
	for at := p.NextMeasurement(simStart.Add(-48 * time.Hour)); at.Before(simStart.Add(48 * time.Hour)); at = p.NextMeasurement(at) {
		times = append(times, at.Sub(simStart))
	}
	seen := 0
	for k := int64(-4); k <= 3; k++ {
		begin, length := hypotensiveEpisodes.episode(k, p.salt)
		var during []time.Duration
		after := false
		for _, at := range times {
			switch {
			case at >= begin && at < begin+length:
				during = append(during, at)
			case at >= begin+length && at < begin+length+symptomCheckEvery:
				after = true
			}
		}
		if len(during) < 2 || during[len(during)-1]-during[0] < 3*time.Minute || !after {
			t.Errorf("episode %d at %v for %v: checks %v during it, one after: %v", k, begin, length, during, after)
		}
		for _, at := range during {
			if v := p.Vitals(at, testRNG(1)); v.SystolicBP >= 89 {
				t.Errorf("a check during episode %d reads %.0f mm Hg", k, v.SystolicBP)
			}
		}
		seen++
	}
	scheduled := 0
	for _, at := range times {
		if cuff.Schedule.Next(simStart.Add(at-time.Nanosecond), p.salt).Equal(simStart.Add(at)) {
			scheduled++
		}
	}
	if scheduled != 8 || len(times) < 8+3*seen {
		t.Errorf("%d measurements in 4 days, %d of them on schedule (want 2 a day) and the rest in episodes", len(times), scheduled)
	}
	for _, d := range []Device{
		{ID: "th", Kind: rpm.KindThermometer, Scenario: Hypotensive, Schedule: UsualSchedule(rpm.KindThermometer)},
		{ID: "bp", Kind: rpm.KindBPCuff, Schedule: UsualSchedule(rpm.KindBPCuff)},
	} {
		p := NewPatient(d, simStart, testRNG(6))
		for at := p.NextMeasurement(simStart); at.Before(simStart.Add(24 * time.Hour)); at = p.NextMeasurement(at) {
			if d.Schedule.Next(at.Add(-time.Nanosecond), p.salt) != at {
				t.Errorf("%s (%s) measured off schedule at %v", d.Kind, d.Scenario, at)
			}
		}
	}
}

func TestFeverAndStableBands(t *testing.T) {
	fever := sampleVitals(3, Fever, 48*time.Hour, 5*time.Minute)
	for _, v := range fever {
		if v.TempC < feverLoC || v.TempC > feverHiC {
			t.Fatalf("fever temperature %.2f outside 38.5–39.8", v.TempC)
		}
	}
	for day := range 2 { // simStart is midnight: 06:00 is sample 72, 18:00 sample 216
		if dawn, evening := fever[day*288+72].TempC, fever[day*288+216].TempC; dawn > 38.9 || evening < 39.4 {
			t.Errorf("day %d: fever %.1f °C at dawn, %.1f °C in the evening", day, dawn, evening)
		}
	}
	for seed := range uint64(20) {
		for _, v := range sampleVitals(seed, Stable, 24*time.Hour, 15*time.Minute) {
			if v.SpO2 < 92 || v.HeartRate > 120 || v.RespRate > 24 || v.TempC > 37.8 || v.DiastolicBP > v.SystolicBP-minPulsePressure {
				t.Fatalf("stable patient %d out of a normal band: %+v", seed, v)
			}
		}
	}
}

func TestStepsCumulativePerDay(t *testing.T) {
	rng := testRNG(4)
	p := NewPatient(Device{ID: "w", Kind: rpm.KindWearable}, simStart, rng)
	prev := -1.0
	for t0 := time.Duration(0); t0 < 72*time.Hour; t0 += 10 * time.Minute {
		s := p.Vitals(t0, rng).Steps
		hour := simStart.Add(t0).Hour()
		switch {
		case hour < int(wakeHour) && s != 0:
			t.Fatalf("%d steps at %v, before waking", int(s), t0)
		case hour >= int(wakeHour) && s < prev:
			t.Fatalf("steps fell from %v to %v at %v within a day", prev, s, t0)
		}
		if hour == 21 && (s < stepsPerDayLo*0.5 || s > stepsPerDayHi*1.3) {
			t.Fatalf("%v steps by 21:00", s)
		}
		prev = s
	}
}

func TestBattery(t *testing.T) {
	p := NewPatient(Device{ID: "b", Kind: rpm.KindScale}, simStart, testRNG(5))
	for h := -1000; h < 2000; h++ {
		if b := p.Battery(time.Duration(h) * time.Hour); b < batteryRechargeAt || b > 1 {
			t.Fatalf("battery %.3f at %d h", b, h)
		}
	}
	p = NewPatient(Device{ID: "b", Kind: rpm.KindScale, Scenario: BatteryDrain}, simStart, testRNG(5))
	var low time.Duration // how long it runs low but alive
	prev := 1.0
	for at := -24 * time.Hour; at < 6*time.Hour; at += time.Minute {
		b := p.Battery(at)
		if b > prev || b > 1 {
			t.Fatalf("BatteryDrain at %.2f at %v after %.2f", b, at, prev)
		}
		if b > 0 && b <= batteryRechargeAt {
			low += time.Minute
		}
		prev = b
	}
	if p.Battery(0) != batteryDrainStart || p.Battery(time.Hour) > batteryRechargeAt || p.Battery(4*time.Hour) != 0 || low < 2*time.Hour {
		t.Errorf("BatteryDrain at %.2f, after an hour %.2f, after 4 h %.2f; low but alive for %v",
			p.Battery(0), p.Battery(time.Hour), p.Battery(4*time.Hour), low)
	}
}

func TestCorruptIsImplausible(t *testing.T) {
	t.Parallel()
	for kind := range kindMetrics {
		for seed := range uint64(40) {
			rng := testRNG(seed)
			p := NewPatient(Device{ID: "c", Kind: kind, Scenario: Scenarios[seed%uint64(len(Scenarios))]}, simStart, rng)
			for _, r := range p.Measure(nil, time.Duration(seed)*37*time.Minute, rng) {
				bad := r
				Corrupt(&bad)
				if plausible(bad) {
					t.Errorf("%s %v %s corrupted to %v, still plausible", r.Code, r.Value, r.Unit, bad.Value)
				}
			}
		}
	}
}

func TestSameSeedSameValues(t *testing.T) {
	a := sampleVitals(9, Hypoxic, 3*time.Hour, 7*time.Minute)
	b := sampleVitals(9, Hypoxic, 3*time.Hour, 7*time.Minute)
	c := sampleVitals(10, Hypoxic, 3*time.Hour, 7*time.Minute)
	if !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Error("values are not a function of the seed")
	}
}
