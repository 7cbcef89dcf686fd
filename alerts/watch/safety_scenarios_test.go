package watch_test

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// physiology is a scripted patient's true value of each code at t after the start, before the
// device's measurement noise.
type physiology func(code string, t time.Duration) float64

// resting values, and how much one measurement scatters around the true value (standard
// deviation), in canonical units.
var (
	resting = map[string]float64{rpm.CodeHeartRate: 72, rpm.CodeRespRate: 15, rpm.CodeSpO2: 97, rpm.CodeSystolicBP: 125,
		rpm.CodeDiastolicBP: 78, rpm.CodeBodyTemp: 36.8, rpm.CodeBodyWeight: 80, rpm.CodeBloodGlucose: 110}
	scatter = map[string]float64{rpm.CodeHeartRate: 2.5, rpm.CodeRespRate: 1, rpm.CodeSpO2: 0.7, rpm.CodeSystolicBP: 5,
		rpm.CodeDiastolicBP: 4, rpm.CodeBodyTemp: 0.1, rpm.CodeBodyWeight: 0.1, rpm.CodeBloodGlucose: 8}
)

// stable is a patient whose values only drift a little over hours around their resting values.
func stable(code string, t time.Duration) float64 {
	return resting[code] + scatter[code]*math.Sin(2*math.Pi*t.Hours()/5)
}

// with overrides some codes of a physiology.
func with(p physiology, codes map[string]func(t time.Duration) (float64, bool)) physiology {
	return func(code string, t time.Duration) float64 {
		if f, ok := codes[code]; ok {
			if v, ok := f(t); ok {
				return v
			}
		}
		return p(code, t)
	}
}

// during is v between from and to, nothing otherwise (the physiology's own value then).
func during(from, to time.Duration, v func(t time.Duration) float64) func(t time.Duration) (float64, bool) {
	return func(t time.Duration) (float64, bool) {
		if t >= from && t < to {
			return v(t), true
		}
		return 0, false
	}
}

// measured is how a device reads a physiology: the true value with measurement noise, rounded as
// devices round (one decimal for temperature and weight, whole numbers otherwise), inside
// Vigil's plausible ranges.
func measured(p physiology) func(code string, t time.Duration, rng *rand.Rand) (float64, bool) {
	return func(code string, t time.Duration, rng *rand.Rand) (float64, bool) {
		v := p(code, t) + scatter[code]*rng.NormFloat64()
		switch code {
		case rpm.CodeBodyTemp, rpm.CodeBodyWeight:
			return math.Round(v*10) / 10, true
		case rpm.CodeSpO2:
			return math.Round(min(v, 100)), true
		}
		return math.Round(v), true
	}
}

// The devices of the scripts.
func oximeter(every time.Duration, p physiology) scriptDevice {
	return scriptDevice{name: "pulse oximeter", kind: rpm.KindPulseOximeter, every: every,
		codes: []string{rpm.CodeSpO2, rpm.CodeHeartRate, rpm.CodeRespRate}, value: measured(p)}
}

func monitor(every time.Duration, p physiology) scriptDevice {
	return scriptDevice{name: "bedside monitor", kind: rpm.KindBedsideMonitor, every: every,
		codes: []string{rpm.CodeHeartRate, rpm.CodeRespRate, rpm.CodeSpO2, rpm.CodeSystolicBP, rpm.CodeDiastolicBP, rpm.CodeBodyTemp},
		value: measured(p)}
}

func cuff(p physiology) scriptDevice {
	return scriptDevice{name: "BP cuff", kind: rpm.KindBPCuff, daily: []time.Duration{8 * time.Hour, 20 * time.Hour},
		codes: []string{rpm.CodeSystolicBP, rpm.CodeDiastolicBP, rpm.CodeHeartRate}, value: measured(p)}
}

func thermometer(p physiology) scriptDevice {
	return scriptDevice{name: "thermometer", kind: rpm.KindThermometer, daily: []time.Duration{8*time.Hour + 5*time.Minute, 20*time.Hour + 5*time.Minute},
		codes: []string{rpm.CodeBodyTemp}, value: measured(p)}
}

func scale(p physiology) scriptDevice {
	return scriptDevice{name: "scale", kind: rpm.KindScale, daily: []time.Duration{7*time.Hour + 30*time.Minute},
		codes: []string{rpm.CodeBodyWeight}, value: measured(p)}
}

// uniform draws a whole number in [lo, hi] from the device's own random source at t: scripted
// episodes as devices measure them.
func uniformAt(lo, hi float64, t time.Duration, salt uint64) float64 {
	r := rand.New(rand.NewPCG(uint64(t), salt))
	return lo + math.Floor(r.Float64()*(hi-lo+1))
}

// deteriorating is a patient getting worse from 1 h to 9 h: breathing faster, SpO₂ and pressure
// falling, pulse and temperature rising — NEWS2 from 0 to about 11.
func deteriorating(code string, t time.Duration) float64 {
	x := min(max((t.Hours()-1)/8, 0), 1)
	f := x * x * (3 - 2*x)
	change := map[string]float64{rpm.CodeRespRate: 12, rpm.CodeSpO2: -7, rpm.CodeHeartRate: 48, rpm.CodeSystolicBP: -32,
		rpm.CodeDiastolicBP: -15, rpm.CodeBodyTemp: 1.7}[code]
	return resting[code] + f*change
}

const (
	minute = time.Minute
	hour   = time.Hour
)

// scenarios are the replay's scripts.
var scenarios = []scenario{
	{
		name: "Stable patients, 24 h", span: 24 * hour, tick: minute, stable: true,
		patients: []scriptPatient{
			{name: "Stable A", devices: []scriptDevice{oximeter(minute, stable), cuff(stable), thermometer(stable)}},
			{name: "Stable B", devices: []scriptDevice{oximeter(minute, stable), cuff(stable), thermometer(stable), scale(stable)}},
			{name: "Stable C", devices: []scriptDevice{monitor(minute, stable)}},
		},
	},
	{
		name: "Slow deterioration", span: 10 * hour, tick: minute,
		patients: []scriptPatient{{name: "Deteriorating", devices: []scriptDevice{monitor(minute, deteriorating)},
			expect: []expectation{{what: "NEWS2 reaching medium", at: news2MediumAt(deteriorating), kind: "news2", within: 30 * minute}}}},
	},
	{
		name: "Hypoxic episode", span: 4 * hour, tick: minute,
		patients: []scriptPatient{{name: "Hypoxic",
			devices: []scriptDevice{oximeter(30*time.Second, with(stable, map[string]func(time.Duration) (float64, bool){
				rpm.CodeSpO2: during(hour, hour+12*minute, func(t time.Duration) float64 { return uniformAt(85, 87, t, 1) }),
			}))},
			expect: []expectation{{what: "SpO₂ 85–87 % for 12 min", at: hour, kind: "threshold", code: rpm.CodeSpO2, within: 5 * minute}}}},
	},
	{
		name: "Noisy borderline SpO₂ 89–91 %", span: 6 * hour, tick: minute,
		patients: []scriptPatient{{name: "Borderline",
			devices: []scriptDevice{{name: "pulse oximeter", kind: rpm.KindPulseOximeter, every: 30 * time.Second,
				codes: []string{rpm.CodeSpO2, rpm.CodeHeartRate}, value: func(code string, t time.Duration, rng *rand.Rand) (float64, bool) {
					if code == rpm.CodeSpO2 {
						return uniformAt(89, 91, t, 2), true // the probe's own noise around 90
					}
					return measured(stable)(code, t, rng)
				}}}}},
	},
	{
		name: "Two devices disagreeing", span: 3 * hour, tick: minute,
		patients: []scriptPatient{{name: "Two devices",
			devices: []scriptDevice{
				{name: "finger oximeter", kind: rpm.KindPulseOximeter, every: 30 * time.Second, codes: []string{rpm.CodeSpO2, rpm.CodeHeartRate},
					value: measured(with(stable, map[string]func(time.Duration) (float64, bool){
						rpm.CodeSpO2: during(hour, hour+40*minute, func(t time.Duration) float64 { return uniformAt(86, 88, t, 3) }),
					}))},
				{name: "wrist wearable", kind: rpm.KindWearable, every: 30 * time.Second, codes: []string{rpm.CodeSpO2, rpm.CodeHeartRate},
					value: measured(stable)},
			},
			expect: []expectation{{what: "SpO₂ 86–88 % on the finger probe", at: hour, kind: "threshold", code: rpm.CodeSpO2, within: 5 * minute}}}},
	},
	{
		name: "Late backfill of an abnormal hour", span: 4 * hour, tick: minute,
		patients: []scriptPatient{{name: "Backfill",
			devices: []scriptDevice{func() scriptDevice {
				d := oximeter(30*time.Second, with(stable, map[string]func(time.Duration) (float64, bool){
					rpm.CodeSpO2: during(hour+10*minute, hour+50*minute, func(t time.Duration) float64 { return uniformAt(85, 87, t, 4) }),
				}))
				d.offline = [2]time.Duration{hour, 2 * hour}
				return d
			}()},
			expect: []expectation{
				{what: "SpO₂ 85–87 % in the hour uploaded late", at: hour + 10*minute, kind: "threshold", code: rpm.CodeSpO2, within: 55 * minute},
				{what: "the oximeter offline", at: hour, kind: "not_reporting", within: 90*time.Second + 10*time.Second + minute},
			}}},
	},
	{
		name: "Silent continuous monitor", span: hour, tick: 10 * time.Second,
		patients: []scriptPatient{{name: "Silent monitor",
			devices: []scriptDevice{func() scriptDevice {
				d := monitor(10*time.Second, stable)
				d.silentFrom = 30 * minute
				return d
			}()},
			expect: []expectation{{what: "the monitor's last reading", at: 30*minute - 10*time.Second, kind: "not_reporting",
				within: max(3*10*time.Second, minute) + 10*time.Second}}}},
	},
	{
		name: "Silent daily scale", span: 24 * hour, tick: 10 * minute, stable: true,
		patients: []scriptPatient{{name: "Weighed daily", devices: []scriptDevice{func() scriptDevice {
			d := scale(stable)
			d.silentFrom = 8 * hour // weighed at 07:30, then nothing more today
			return d
		}()}}},
	},
	{
		name: "The demo cohort, 24 h", span: 24 * hour, tick: demoTick, demo: true,
	},
	{
		name: "Empty escalation tier", span: 2 * hour, tick: 30 * time.Second, noNurse: true,
		patients: []scriptPatient{
			{name: "No one at tier 2", team: "Replay ward, no tier 2", devices: []scriptDevice{oximeter(30*time.Second, hypoxicFrom(30*minute))},
				expect: []expectation{{what: "SpO₂ 85–87 %", at: 30 * minute, kind: "threshold", code: rpm.CodeSpO2, within: 5 * minute}}},
			{name: "Tier 1 only", team: "Replay ward, tier 1 only", devices: []scriptDevice{oximeter(30*time.Second, hypoxicFrom(30*minute))},
				expect: []expectation{{what: "SpO₂ 85–87 %", at: 30 * minute, kind: "threshold", code: rpm.CodeSpO2, within: 5 * minute}}},
		},
	},
}

// hypoxicFrom is a patient hypoxic (SpO₂ 85–87 %) from at on.
func hypoxicFrom(at time.Duration) physiology {
	return with(stable, map[string]func(time.Duration) (float64, bool){
		rpm.CodeSpO2: during(at, 1000*hour, func(t time.Duration) float64 { return uniformAt(85, 87, t, 5) }),
	})
}
