package rpm

import "time"

// Reading is one measured value of one patient, in the canonical unit of its code.
type Reading struct {
	PatientID       string
	DeviceID        string
	DeviceReadingID string
	Code            string
	Value           float64
	Unit            string
	EffectiveAt     time.Time
	ReceivedAt      time.Time
}

// Metric describes a LOINC code Vigil accepts: its names and its canonical UCUM unit.
type Metric struct {
	Code string
	// Name is the clinician's name; PlainName the patient portal's.
	Name, PlainName string
	// Unit is the canonical UCUM unit; UnitLabel how it is shown.
	Unit, UnitLabel string
	// Decimals is how many decimals a value is shown with.
	Decimals int
}

// LOINC codes of the measures Vigil accepts.
const (
	CodeHeartRate    = "8867-4"
	CodeRespRate     = "9279-1"
	CodeSpO2         = "59408-5"
	CodeSpO2Core     = "2708-6"
	CodeBodyTemp     = "8310-5"
	CodeSystolicBP   = "8480-6"
	CodeDiastolicBP  = "8462-4"
	CodeBodyWeight   = "29463-7"
	CodeBloodGlucose = "2339-0"
	CodeSteps        = "41950-7"
)

// Metrics lists the measures in the order they are shown.
var Metrics = []Metric{
	{CodeHeartRate, "Heart rate", "Pulse", "/min", "/min", 0},
	{CodeSpO2, "SpO₂", "Oxygen level", "%", "%", 0},
	{CodeRespRate, "Respiratory rate", "Breathing rate", "/min", "/min", 0},
	{CodeSystolicBP, "Systolic BP", "Blood pressure (upper number)", "mm[Hg]", "mmHg", 0},
	{CodeDiastolicBP, "Diastolic BP", "Blood pressure (lower number)", "mm[Hg]", "mmHg", 0},
	{CodeBodyTemp, "Temperature", "Temperature", "Cel", "°C", 1},
	{CodeBodyWeight, "Weight", "Weight", "kg", "kg", 1},
	{CodeBloodGlucose, "Blood glucose", "Blood sugar", "mg/dL", "mg/dL", 0},
	{CodeSteps, "Steps (24 h)", "Steps per day", "/d", "steps", 0},
	{CodeSpO2Core, "SpO₂ (core)", "Oxygen level", "%", "%", 0},
}

// MetricByCode returns the metric with the given code.
func MetricByCode(code string) (Metric, bool) {
	for _, m := range Metrics {
		if m.Code == code {
			return m, true
		}
	}
	return Metric{}, false
}
