package devicesim

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// Payload is the body of POST /api/v1/readings, as docs/API.md defines it.
type Payload struct {
	Readings []Reading `json:"readings"`
	Status   Status    `json:"status"`
}

// Reading is one value as a device sends it. At is when it was measured, by the device's clock,
// in RFC 3339 UTC with milliseconds (AtLayout), formatted once per batch.
type Reading struct {
	ID    string  `json:"id"`
	Code  string  `json:"code"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	At    string  `json:"at"`
}

// AtLayout is the layout of Reading.At, for a time in UTC: RFC 3339 with milliseconds.
const AtLayout = "2006-01-02T15:04:05.000Z"

// Status is the device's own state, sent with every batch.
type Status struct {
	Battery   float64 `json:"battery"` // 0–1
	Firmware  string  `json:"firmware"`
	SignalDBm int     `json:"signal_dbm"`
}

// UCUM units the simulated devices report in.
const (
	UnitPerMin  = "/min"
	UnitPercent = "%"
	UnitCel     = "Cel"
	UnitDegF    = "[degF]"
	UnitMmHg    = "mm[Hg]"
	UnitKg      = "kg"
	UnitPound   = "[lb_av]"
	UnitMgDL    = "mg/dL"
	UnitMmolL   = "mmol/L"
	UnitPerDay  = "/d"
)

// Unit conversions, as Vigil converts back (rpm).
const (
	kgPerPound     = 0.45359237
	mgDLPerMmolL   = 18.016
	fahrenheitBase = 32.0
	fahrenheitStep = 1.8 // °F per °C
)

// kindMetrics lists, per device kind, the codes it measures, in the order they are sent.
var kindMetrics = map[rpm.DeviceKind][]string{
	rpm.KindBPCuff:         {rpm.CodeSystolicBP, rpm.CodeDiastolicBP, rpm.CodeHeartRate},
	rpm.KindPulseOximeter:  {rpm.CodeSpO2, rpm.CodeHeartRate, rpm.CodeRespRate}, // respiration derived from the pleth wave
	rpm.KindScale:          {rpm.CodeBodyWeight},
	rpm.KindThermometer:    {rpm.CodeBodyTemp},
	rpm.KindGlucometer:     {rpm.CodeBloodGlucose},
	rpm.KindWearable:       {rpm.CodeHeartRate, rpm.CodeRespRate, rpm.CodeSteps},
	rpm.KindBedsideMonitor: {rpm.CodeHeartRate, rpm.CodeRespRate, rpm.CodeSpO2, rpm.CodeSystolicBP, rpm.CodeDiastolicBP, rpm.CodeBodyTemp},
}

// KindMetrics returns the LOINC codes a device of kind measures, nil for an unknown kind.
func KindMetrics(kind rpm.DeviceKind) []string {
	return append([]string(nil), kindMetrics[kind]...)
}

// Measure appends to dst what the patient's device measures at simulated time elapsed: one
// reading per code of its kind (see [KindMetrics]), in the device's unit, rounded as such devices
// round (heart and respiratory rate, SpO2, pressures, mg/dL and steps to integers; temperature,
// weight and mmol/L to 0.1). ID and At are left for the caller.
func (p *Patient) Measure(dst []Reading, elapsed time.Duration, rng *rand.Rand) []Reading {
	v := p.Vitals(elapsed, rng)
	for _, code := range kindMetrics[p.kind] {
		dst = append(dst, p.reading(code, &v))
	}
	return dst
}

// reading is one code's value in the device's unit.
func (p *Patient) reading(code string, v *Vitals) Reading {
	r := Reading{Code: code}
	switch code {
	case rpm.CodeHeartRate:
		r.Value, r.Unit = math.Round(v.HeartRate), UnitPerMin
	case rpm.CodeRespRate:
		r.Value, r.Unit = math.Round(v.RespRate), UnitPerMin
	case rpm.CodeSpO2:
		r.Value, r.Unit = math.Round(v.SpO2), UnitPercent
	case rpm.CodeSystolicBP:
		r.Value, r.Unit = math.Round(v.SystolicBP), UnitMmHg
	case rpm.CodeDiastolicBP:
		r.Value, r.Unit = math.Round(v.DiastolicBP), UnitMmHg
	case rpm.CodeBodyTemp:
		r.Value, r.Unit = round1(v.TempC), UnitCel
		if p.degF {
			r.Value, r.Unit = round1(v.TempC*fahrenheitStep+fahrenheitBase), UnitDegF
		}
	case rpm.CodeBodyWeight:
		r.Value, r.Unit = round1(v.WeightKg), UnitKg
		if p.pounds {
			r.Value, r.Unit = round1(v.WeightKg/kgPerPound), UnitPound
		}
	case rpm.CodeBloodGlucose:
		r.Value, r.Unit = math.Round(v.GlucoseMgDL), UnitMgDL
		if p.mmol {
			r.Value, r.Unit = round1(v.GlucoseMgDL/mgDLPerMmolL), UnitMmolL
		}
	case rpm.CodeSteps:
		r.Value, r.Unit = v.Steps, UnitPerDay
	}
	return r
}

// Corrupt turns r into an implausible value, the way devices err, so that it falls outside
// Vigil's plausible range for any value Measure produces: heart rate, respiratory rate and blood
// pressures tenfold (a misplaced digit); SpO2 plus 35 %; a °C value sent as °F or the reverse;
// weight in grams labelled kg (or lb); glucose converted mmol/L→mg/dL twice; a step counter
// wrapped below zero.
func Corrupt(r *Reading) {
	switch r.Code {
	case rpm.CodeHeartRate, rpm.CodeRespRate, rpm.CodeSystolicBP, rpm.CodeDiastolicBP:
		r.Value *= 10
	case rpm.CodeSpO2:
		r.Value += 35
	case rpm.CodeBodyTemp:
		if r.Unit == UnitDegF {
			r.Value = round1((r.Value - fahrenheitBase) / fahrenheitStep)
		} else {
			r.Value = round1(r.Value*fahrenheitStep + fahrenheitBase)
		}
	case rpm.CodeBodyWeight:
		r.Value *= 1000
	case rpm.CodeBloodGlucose:
		r.Value = math.Round(r.Value * mgDLPerMmolL)
	case rpm.CodeSteps:
		r.Value -= 1 << 16
	}
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
