package rpm

import (
	"fmt"
	"math"
)

// Plausible ranges, in canonical units. A value outside is a device or unit error (a "heart rate of
// 720" is a unit mix-up, not a patient) and is rejected; these are not clinical thresholds.
// Source: shared/clinical/CODES.md.
const (
	MinHeartRate, MaxHeartRate       = 20, 300    // /min
	MinRespRate, MaxRespRate         = 2, 80      // /min
	MinSpO2, MaxSpO2                 = 50, 100    // %
	MinBodyTemp, MaxBodyTemp         = 25, 45     // Cel
	MinSystolicBP, MaxSystolicBP     = 40, 300    // mm[Hg]
	MinDiastolicBP, MaxDiastolicBP   = 20, 200    // mm[Hg]
	MinBodyWeight, MaxBodyWeight     = 0.5, 500   // kg
	MinBloodGlucose, MaxBloodGlucose = 10, 1000   // mg/dL
	MinSteps, MaxSteps               = 0, 100_000 // /d
)

// Conversion factors into canonical units.
const (
	// KgPerPound is the international avoirdupois pound: 1 [lb_av] = 0.45359237 kg exactly.
	KgPerPound = 0.45359237
	// KgPerGram: 1 g = 0.001 kg.
	KgPerGram = 0.001
	// GlucoseMgPerDLPerMmolPerL converts glucose: 1 mmol/L × 180.16 g/mol ÷ 10 dL/L = 18.016 mg/dL.
	GlucoseMgPerDLPerMmolPerL = 18.016
)

// measure is what Vigil accepts for one LOINC code.
type measure struct {
	code       string // the code readings are stored under
	unit       string // canonical UCUM unit
	min, max   float64
	conversion map[string]func(float64) float64 // accepted unit → into canonical
}

func identity(v float64) float64 { return v }

func fahrenheitToCelsius(f float64) float64 { return (f - 32) * 5 / 9 }

// measures lists the accepted codes. 2708-6 (SpO2, core vital-signs code) is stored as 59408-5
// (the pulse-oximetry code), so one measure has one code in Vigil.
var measures = map[string]measure{
	CodeHeartRate:    {CodeHeartRate, "/min", MinHeartRate, MaxHeartRate, map[string]func(float64) float64{"/min": identity, "{beats}/min": identity}},
	CodeRespRate:     {CodeRespRate, "/min", MinRespRate, MaxRespRate, map[string]func(float64) float64{"/min": identity, "{breaths}/min": identity}},
	CodeSpO2:         {CodeSpO2, "%", MinSpO2, MaxSpO2, map[string]func(float64) float64{"%": identity}},
	CodeSpO2Core:     {CodeSpO2, "%", MinSpO2, MaxSpO2, map[string]func(float64) float64{"%": identity}},
	CodeBodyTemp:     {CodeBodyTemp, "Cel", MinBodyTemp, MaxBodyTemp, map[string]func(float64) float64{"Cel": identity, "[degF]": fahrenheitToCelsius}},
	CodeSystolicBP:   {CodeSystolicBP, "mm[Hg]", MinSystolicBP, MaxSystolicBP, map[string]func(float64) float64{"mm[Hg]": identity}},
	CodeDiastolicBP:  {CodeDiastolicBP, "mm[Hg]", MinDiastolicBP, MaxDiastolicBP, map[string]func(float64) float64{"mm[Hg]": identity}},
	CodeBodyWeight:   {CodeBodyWeight, "kg", MinBodyWeight, MaxBodyWeight, map[string]func(float64) float64{"kg": identity, "g": func(v float64) float64 { return v * KgPerGram }, "[lb_av]": func(v float64) float64 { return v * KgPerPound }}},
	CodeBloodGlucose: {CodeBloodGlucose, "mg/dL", MinBloodGlucose, MaxBloodGlucose, map[string]func(float64) float64{"mg/dL": identity, "mmol/L": func(v float64) float64 { return v * GlucoseMgPerDLPerMmolPerL }}},
	CodeSteps:        {CodeSteps, "/d", MinSteps, MaxSteps, map[string]func(float64) float64{"/d": identity}},
}

// Rejection reasons: stable machine words that devices and data-quality reviews rely on.
const (
	ReasonMissingField       = "missing_field"
	ReasonMalformed          = "malformed"
	ReasonUnknownCode        = "unknown_code"
	ReasonBadUnit            = "bad_unit"
	ReasonImplausibleValue   = "implausible_value"
	ReasonBadTime            = "bad_time"
	ReasonFutureTime         = "future_time"
	ReasonTooOld             = "too_old"
	ReasonBadID              = "bad_id"
	ReasonDeviceUnassigned   = "device_unassigned"
	ReasonDuplicateInBatch   = "duplicate_in_batch"
	ReasonDeviceNotInService = "device_not_in_service"
)

// Rejection says why one reading was refused: a stable reason and a message for people. Field
// names the offending field. Messages never repeat the value.
type Rejection struct {
	Reason  string
	Field   string
	Message string
}

func (r *Rejection) Error() string { return r.Reason + ": " + r.Message }

// Normalize converts a value in unit for code into Vigil's canonical code, unit and value, and
// checks that it is plausible. It is the one place units are converted.
func Normalize(code, unit string, value float64) (Reading, *Rejection) {
	m, ok := measures[code]
	if !ok {
		return Reading{}, &Rejection{ReasonUnknownCode, "code", "Vigil does not accept this LOINC code."}
	}
	convert, ok := m.conversion[unit]
	if !ok {
		return Reading{}, &Rejection{ReasonBadUnit, "unit", fmt.Sprintf("Unit is not one Vigil accepts for %s (canonical unit %s).", code, m.unit)}
	}
	v := convert(value)
	if math.IsNaN(v) || math.IsInf(v, 0) || v < m.min || v > m.max {
		return Reading{}, &Rejection{ReasonImplausibleValue, "value",
			fmt.Sprintf("Value is outside the plausible range %g–%g %s for %s: a device or unit error.", m.min, m.max, m.unit, code)}
	}
	return Reading{Code: m.code, Unit: m.unit, Value: v}, nil
}

// NEWS2Codes are the LOINC codes of NEWS2's measured parameters: respiration, SpO₂, systolic
// pressure, pulse and temperature.
var NEWS2Codes = []string{CodeRespRate, CodeSpO2, CodeSystolicBP, CodeHeartRate, CodeBodyTemp}

// CanonicalUnit returns the unit readings of code are stored in.
func CanonicalUnit(code string) (string, bool) {
	m, ok := measures[code]
	return m.unit, ok
}
