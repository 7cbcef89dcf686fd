package devicesim

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// sign indexes the continuous vital signs of the model.
type sign int

const (
	heartRate sign = iota
	respRate
	spO2
	systolic
	diastolic
	tempC
	weightKg
	glucose
	numSigns
)

// vital models one vital sign across the simulated population.
type vital struct {
	mean    float64 // population mean of a patient's resting value
	between float64 // standard deviation of resting values between patients
	noise   float64 // standard deviation of one measurement around the patient's current value
	drift   float64 // amplitude of the patient's slow drift (hours) around the resting value
	lo, hi  float64 // generated values stay in [lo, hi], well inside Vigil's plausible ranges
}

// Physiological baselines, in the canonical units of each code.
var vitals = [numSigns]vital{
	heartRate: {mean: 72, between: 8, noise: 2.5, drift: 4, lo: 40, hi: 180},       // beats /min
	respRate:  {mean: 15, between: 1.5, noise: 1, drift: 1, lo: 10, hi: 40},        // breaths /min
	spO2:      {mean: 97, between: 1, noise: 0.7, drift: 0.5, lo: 70, hi: 100},     // %
	systolic:  {mean: 125, between: 12, noise: 5, drift: 5, lo: 70, hi: 220},       // mm Hg
	diastolic: {mean: 78, between: 7, noise: 4, drift: 3, lo: 40, hi: 130},         // mm Hg
	tempC:     {mean: 36.8, between: 0.2, noise: 0.1, drift: 0.15, lo: 34, hi: 42}, // °C
	weightKg:  {mean: 82, between: 16, noise: 0.1, drift: 0.6, lo: 35, hi: 250},    // kg: a scale reads to ±0.1 kg
	glucose:   {mean: 115, between: 15, noise: 12, drift: 12, lo: 60, hi: 400},     // mg/dL
}

// Slow drift: the sum of two sinusoids of these periods (simulated time), weighted 0.6 and 0.4,
// with random phases per patient, so a value wanders within ±drift of its resting value.
const (
	driftPeriodShortHours = 5.0
	driftPeriodLongHours  = 17.0
)

// minPulsePressure is how far, in mm Hg, diastolic pressure always stays below systolic.
const minPulsePressure = 20.0

// Deterioration: at full effect, after deteriorationRamp of simulated time, NEWS2 is around 11.
const (
	deteriorationRamp           = 8 * time.Hour
	deteriorationRespRate       = 12.0  // breaths /min added
	deteriorationHeartRate      = 40.0  // beats /min added
	deteriorationSpO2           = -8.0  // % added
	deteriorationTempC          = 1.6   // °C added
	deteriorationSystolic       = -35.0 // mm Hg added
	deteriorationDiastolic      = -15.0 // mm Hg added
	episodeHeartRateHypoxic     = 15.0  // beats /min added during a hypoxic episode
	episodeHeartRateHypotensive = 18.0  // beats /min added during a hypotensive episode
)

// Episodes (see episodes.go) and fever.
const (
	hypoxicSpO2Lo, hypoxicSpO2Hi                 = 84.0, 88.0 // % during an episode
	hypotensiveSystolicLo, hypotensiveSystolicHi = 80.0, 88.0 // mm Hg during an episode
	hypotensiveDiastolicRatio                    = 0.62       // diastolic ≈ this × systolic then
	feverLoC, feverHiC                           = 38.5, 39.8 // °C
	feverPeakHour                                = 18.0       // local time: highest in the early evening, lowest at dawn
	feverHeartRatePerC                           = 10.0       // beats /min added per °C above 37
	feverRespRate                                = 3.0        // breaths /min added
	normalTempC                                  = 37.0
)

// Steps: a patient walks a usual number of steps a day (varying ±stepsDayVariation from day to
// day), between waking and sleeping hours of the simulated local day.
const (
	stepsPerDayLo, stepsPerDayHi = 2000.0, 9000.0
	stepsDayVariation            = 0.3
	wakeHour, sleepHour          = 7.0, 22.0
)

// Battery, radio and clock.
const (
	batteryDrainPerHour     = 0.005 // fraction per simulated hour: about a week per charge
	batteryRechargeAt       = 0.2   // patients put the device on charge at 20 %
	batteryDrainStart       = 0.25  // BatteryDrain: the charge at elapsed 0 …
	batteryFastDrainPerHour = 0.08  // … falling to 20 % after 37 simulated minutes, empty after 3 h 8 min
	batteryStartLo          = 0.5   // initial charge is uniform in [0.5, 1]
	signalMeanDBm           = -70.0
	signalBetweenDB         = 6.0 // dB: spread of devices' mean signal
	signalNoiseDB           = 4.0 // dB: spread of one report
	signalLoDBm             = -110.0
	signalHiDBm             = -45.0
	clockSkewLo             = 3 * time.Minute
	clockSkewHi             = 9 * time.Minute
	nonMetricShare          = 0.3 // share of scales, thermometers and glucometers in lb, °F, mmol/L
)

// Patient is the simulated person behind one device, with the device's own traits (units,
// battery, radio, clock). It is drawn once per device and never changes; every method is a pure
// function of its arguments, so it may be shared, but a *rand.Rand may not.
type Patient struct {
	kind     rpm.DeviceKind
	scenario Scenario
	schedule Schedule
	start    time.Time // the simulated local clock at elapsed 0: gives the time of day
	base     [numSigns]float64
	phase    [numSigns][2]float64
	salt     uint64  // per-patient seed of episodes and daily steps
	steps    float64 // usual steps a day
	pounds   bool    // a scale reporting [lb_av]
	degF     bool    // a thermometer reporting [degF]
	mmol     bool    // a glucometer reporting mmol/L
	battery0 float64 // charge at elapsed 0, 0–1
	signal   float64 // mean signal, dBm
	skew     time.Duration
}

// NewPatient draws the patient and traits behind d from rng; start is the simulated clock at
// elapsed 0. The patient's day — for d's Schedule and for cumulative steps — is that of
// d.Location or, if nil, of start's location.
func NewPatient(d Device, start time.Time, rng *rand.Rand) *Patient {
	if d.Location != nil {
		start = start.In(d.Location)
	}
	p := &Patient{kind: d.Kind, scenario: d.Scenario, schedule: d.Schedule, start: start, salt: rng.Uint64()}
	if p.scenario == "" {
		p.scenario = Stable
	}
	for s := range numSigns {
		v := vitals[s]
		p.base[s] = clamp(v.mean+v.between*rng.NormFloat64(), v.lo+v.drift, v.hi-v.drift)
		p.phase[s] = [2]float64{2 * math.Pi * rng.Float64(), 2 * math.Pi * rng.Float64()}
	}
	p.base[spO2] = min(p.base[spO2], 100-vitals[spO2].drift)
	p.steps = uniform(rng, stepsPerDayLo, stepsPerDayHi)
	p.pounds = d.Kind == rpm.KindScale && rng.Float64() < nonMetricShare
	p.degF = d.Kind == rpm.KindThermometer && rng.Float64() < nonMetricShare
	p.mmol = d.Kind == rpm.KindGlucometer && rng.Float64() < nonMetricShare
	p.battery0 = uniform(rng, batteryStartLo, 1)
	p.signal = signalMeanDBm + signalBetweenDB*rng.NormFloat64()
	if p.scenario == ClockSkew {
		p.skew = time.Duration(uniform(rng, float64(clockSkewLo), float64(clockSkewHi)))
	}
	return p
}

// Vitals are a patient's values at one moment, unrounded, in canonical units.
type Vitals struct {
	HeartRate   float64 // beats /min
	RespRate    float64 // breaths /min
	SpO2        float64 // %
	SystolicBP  float64 // mm Hg
	DiastolicBP float64 // mm Hg
	TempC       float64 // °C
	WeightKg    float64 // kg
	GlucoseMgDL float64 // mg/dL
	Steps       float64 // steps since the simulated local midnight
}

// Vitals returns what the patient's values measure at simulated time elapsed: resting value,
// slow drift, the scenario's curve and measurement noise drawn from rng, kept in a plausible band.
func (p *Patient) Vitals(elapsed time.Duration, rng *rand.Rand) Vitals {
	var v [numSigns]float64
	hours := elapsed.Hours()
	for s := range numSigns {
		m := vitals[s]
		drift := 0.6*math.Sin(2*math.Pi*hours/driftPeriodShortHours+p.phase[s][0]) +
			0.4*math.Sin(2*math.Pi*hours/driftPeriodLongHours+p.phase[s][1])
		v[s] = p.base[s] + m.drift*drift + m.noise*rng.NormFloat64()
	}
	p.applyScenario(&v, elapsed, rng)
	for s := range numSigns {
		v[s] = clamp(v[s], vitals[s].lo, vitals[s].hi)
	}
	v[diastolic] = min(v[diastolic], v[systolic]-minPulsePressure)
	return Vitals{
		HeartRate: v[heartRate], RespRate: v[respRate], SpO2: v[spO2],
		SystolicBP: v[systolic], DiastolicBP: v[diastolic], TempC: v[tempC],
		WeightKg: v[weightKg], GlucoseMgDL: v[glucose], Steps: p.stepsAt(elapsed),
	}
}

// applyScenario puts the scenario's curve on top of the patient's normal values.
func (p *Patient) applyScenario(v *[numSigns]float64, elapsed time.Duration, rng *rand.Rand) {
	switch p.scenario {
	case Deterioration:
		f := smoothstep(float64(elapsed) / float64(deteriorationRamp))
		v[respRate] += f * deteriorationRespRate
		v[heartRate] += f * deteriorationHeartRate
		v[spO2] += f * deteriorationSpO2
		v[tempC] += f * deteriorationTempC
		v[systolic] += f * deteriorationSystolic
		v[diastolic] += f * deteriorationDiastolic
	case Hypoxic:
		if hypoxicEpisodes.active(elapsed, p.salt) {
			v[spO2] = uniform(rng, hypoxicSpO2Lo, hypoxicSpO2Hi)
			v[heartRate] += episodeHeartRateHypoxic
		}
	case Hypotensive:
		if hypotensiveEpisodes.active(elapsed, p.salt) {
			v[systolic] = uniform(rng, hypotensiveSystolicLo, hypotensiveSystolicHi)
			v[diastolic] = hypotensiveDiastolicRatio*v[systolic] + vitals[diastolic].noise*rng.NormFloat64()/2
			v[heartRate] += episodeHeartRateHypotensive
		}
	case Fever:
		wave := math.Cos(2 * math.Pi * (p.hourOfDay(elapsed) - feverPeakHour) / 24)
		v[tempC] = (feverLoC+feverHiC)/2 + (feverHiC-feverLoC)/2*wave + vitals[tempC].noise*rng.NormFloat64()
		v[tempC] = clamp(v[tempC], feverLoC, feverHiC)
		v[heartRate] += feverHeartRatePerC * (v[tempC] - normalTempC)
		v[respRate] += feverRespRate
	}
}

// hourOfDay is the hour, with its fraction, of the simulated local day at elapsed.
func (p *Patient) hourOfDay(elapsed time.Duration) float64 {
	h, m, sec := p.start.Add(elapsed).Clock()
	return float64(h) + float64(m)/60 + float64(sec)/3600
}

// stepsAt is the cumulative step count of the simulated local day at elapsed.
func (p *Patient) stepsAt(elapsed time.Duration) float64 {
	now := p.start.Add(elapsed)
	y, m, d := now.Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, now.Location())
	day := uint64(y)<<9 | uint64(now.YearDay())
	target := p.steps * (1 + stepsDayVariation*(2*unit(p.salt^day)-1))
	return math.Floor(target * dayFraction(now.Sub(midnight).Hours()))
}

// dayFraction is the share of a day's steps walked by the given hour of the day.
func dayFraction(hour float64) float64 {
	return smoothstep((hour - wakeHour) / (sleepHour - wakeHour))
}

// Battery is the device's charge, 0–1, at simulated time elapsed (before zero too). A device is
// put on charge when it reaches 20 % and comes back full; a BatteryDrain device is never
// recharged: it is at 25 % at elapsed 0, low for hours, then empty.
func (p *Patient) Battery(elapsed time.Duration) float64 {
	hours := elapsed.Hours()
	if p.scenario == BatteryDrain {
		return clamp(batteryDrainStart-batteryFastDrainPerHour*hours, 0, 1)
	}
	cycle := 1 - batteryRechargeAt
	used := math.Mod(1-p.battery0+batteryDrainPerHour*hours, cycle) // since the last full charge
	if used < 0 {
		used += cycle
	}
	return 1 - used
}

// NextMeasurement is when, on the simulated clock, the patient next measures with a spot-check
// device after t: at the device's Schedule, on the patient's local day, and — when the device
// shows the patient's episodes — a few times during each episode, as an unwell patient does. It
// is a pure function of the patient and t. A continuous device has no such times: it returns t.
func (p *Patient) NextMeasurement(t time.Time) time.Time {
	next := p.schedule.Next(t.In(p.start.Location()), p.salt)
	if e, ok := p.symptomatic(); ok {
		if check := p.start.Add(e.nextCheck(t.Sub(p.start), p.salt)); check.Before(next) {
			next = check
		}
	}
	return next
}

// SignalDBm is one report of the device's radio signal, in whole dBm.
func (p *Patient) SignalDBm(rng *rand.Rand) int {
	return int(math.Round(clamp(p.signal+signalNoiseDB*rng.NormFloat64(), signalLoDBm, signalHiDBm)))
}

// ClockSkew is how far ahead of real time the device's clock runs.
func (p *Patient) ClockSkew() time.Duration { return p.skew }

// unit hashes x (splitmix64) to a float in [0, 1).
func unit(x uint64) float64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

func uniform(rng *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }

func clamp(v, lo, hi float64) float64 { return max(lo, min(hi, v)) }

// smoothstep rises smoothly from 0 (x ≤ 0) to 1 (x ≥ 1).
func smoothstep(x float64) float64 {
	x = clamp(x, 0, 1)
	return x * x * (3 - 2*x)
}
