// Package alerts holds Vigil's clinical scoring and alert logic: pure functions over readings and a
// clock passed in, with no I/O. This file is NEWS2, the National Early Warning Score 2 (Royal
// College of Physicians, 2017) — see shared/clinical/NEWS2.md.
package alerts

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// Band is a NEWS2 clinical risk band.
type Band string

// The risk bands (RCP chart 2). LowMedium is a single parameter scoring 3 with a total under 5.
const (
	BandLow       Band = "low"
	BandLowMedium Band = "low-medium"
	BandMedium    Band = "medium"
	BandHigh      Band = "high"
)

// Freshness is how old each NEWS2 input may be and still count: a reading of each measured
// parameter (by LOINC code; Default for a code not listed), and a clinician's oxygen or
// consciousness entry. It is policy, set once where Vigil is wired and passed to every scorer, so
// the census, the patient view, the APIs and the alert engine agree.
type Freshness struct {
	Measured   map[string]time.Duration
	Default    time.Duration
	Assessment time.Duration
}

// DefaultFreshness is Vigil's policy: continuous measures (respiration, SpO₂, pulse) count for an
// hour; blood pressure and temperature, which home patients take with spot-check devices, for
// 12 hours — the chart's lowest monitoring frequency for a score of 0 (RCP chart 4); a clinician's
// oxygen and consciousness entries for 12 hours.
func DefaultFreshness() Freshness {
	return Freshness{
		Measured: map[string]time.Duration{
			rpm.CodeRespRate: time.Hour, rpm.CodeSpO2: time.Hour, rpm.CodeHeartRate: time.Hour,
			rpm.CodeSystolicBP: 12 * time.Hour, rpm.CodeBodyTemp: 12 * time.Hour,
		},
		Default:    time.Hour,
		Assessment: 12 * time.Hour,
	}
}

// freshnessNames are the parameter names ParseFreshness reads.
var freshnessNames = map[string]string{"respiration": rpm.CodeRespRate, "spo2": rpm.CodeSpO2, "pulse": rpm.CodeHeartRate,
	"systolic": rpm.CodeSystolicBP, "temperature": rpm.CodeBodyTemp}

// ParseFreshness reads a freshness policy written as the configuration writes it:
// "respiration=1h,spo2=1h,pulse=1h,systolic=12h,temperature=12h,assessment=12h". A parameter
// left out keeps its DefaultFreshness; the error names what it cannot read.
func ParseFreshness(s string) (Freshness, error) {
	f := DefaultFreshness()
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		d, err := time.ParseDuration(strings.TrimSpace(value))
		if err != nil || d <= 0 {
			return f, fmt.Errorf("%q: the freshness must be a positive duration such as 1h", part)
		}
		switch name = strings.TrimSpace(name); {
		case name == "assessment":
			f.Assessment = d
		case freshnessNames[name] != "":
			f.Measured[freshnessNames[name]] = d
		default:
			return f, fmt.Errorf("%q: the parameter must be respiration, spo2, pulse, systolic, temperature or assessment", part)
		}
	}
	return f, nil
}

// For is how long a reading of code counts.
func (f Freshness) For(code string) time.Duration {
	if d, ok := f.Measured[code]; ok {
		return d
	}
	return f.Default
}

// NEWS2Codes are the LOINC codes of the measured NEWS2 parameters.
var NEWS2Codes = rpm.NEWS2Codes

// NEWS2Input is what a NEWS2 score is computed from: the latest reading of each measured parameter
// (readings of devices marked lost or retired, taken after they were marked, already left out),
// what clinicians recorded about oxygen and consciousness — the latest entry of each kind and the
// latest standing one (the patient's usual state from the care plan, which never goes stale) — and
// whether the patient is scored on SpO₂ scale 2 (a prescribed target of 88–92 %).
type NEWS2Input struct {
	Latest      map[string]rpm.Reading // by LOINC code
	Assessments []rpm.ClinicalAssessment
	Scale2      bool
}

// Parameter is one NEWS2 parameter's part of the score.
type Parameter struct {
	Name    string
	Code    string // LOINC code of a measured parameter, "" for oxygen and consciousness
	Value   float64
	Points  int
	Missing bool      // no reading, or nothing recorded
	Stale   bool      // a reading or entry older than its freshness: not counted
	At      time.Time // when the value counted (or not) was taken or recorded
	Device  string    // the device that measured it
	// Recorded is the clinician's entry behind oxygen or consciousness, when there is one.
	Recorded *rpm.ClinicalAssessment
}

// NEWS2 is a score with how it was reached. Partial means some parameter was missing or stale and
// the total counts only the others — it can only underestimate. Incomplete means two or more were:
// a low total then says nothing reassuring, and is never to be shown as low. NoData means no
// measured parameter has a reading (of the last day): there is no score.
type NEWS2 struct {
	Score      int
	Band       Band
	RedScore   bool // some single parameter scored 3
	Partial    bool
	Incomplete bool
	NoData     bool
	Parameters []Parameter
}

// incompleteAt is how many missing or stale parameters make a score incomplete.
const incompleteAt = 2

// ScoreNEWS2 is Vigil's one NEWS2: it scores in at now, counting each input only while it is
// fresh by f. Measured values are first rounded as the chart expects (respiration, SpO₂, pulse
// and systolic pressure to whole numbers, temperature to one decimal), halves away from zero; a
// value is then placed in the band that contains it, so the printed boundaries hold exactly.
// Oxygen and consciousness come from the latest fresh entry, or else the latest standing one.
func ScoreNEWS2(in NEWS2Input, now time.Time, f Freshness) NEWS2 {
	var n NEWS2
	oxygen := recordedParameter("Air or oxygen", rpm.AssessOxygen, in.Assessments, now, f.Assessment)
	var onOxygen *bool
	if oxygen.Recorded != nil && !oxygen.Stale {
		on := oxygen.Recorded.Value == rpm.OnOxygen
		onOxygen = &on
		if on {
			oxygen.Points = 2
		}
	}
	measured := []struct {
		name, code string
		decimals   int
		points     func(v float64) int
	}{
		{"Respiration rate", rpm.CodeRespRate, 0, respirationPoints},
		{"SpO₂", rpm.CodeSpO2, 0, func(v float64) int { return spo2Points(v, in.Scale2, onOxygen) }},
		{"Systolic BP", rpm.CodeSystolicBP, 0, systolicPoints},
		{"Pulse", rpm.CodeHeartRate, 0, pulsePoints},
		{"Temperature", rpm.CodeBodyTemp, 1, temperaturePoints},
	}
	n.NoData = true
	for _, m := range measured {
		p := Parameter{Name: m.name, Code: m.code}
		r, ok := in.Latest[m.code]
		switch {
		case !ok || now.Sub(r.EffectiveAt) > forgottenAfter:
			p.Missing = true
		case now.Sub(r.EffectiveAt) > f.For(m.code):
			p.Value, p.Stale, p.At, p.Device = r.Value, true, r.EffectiveAt, r.DeviceID
		default:
			p.Value, p.At, p.Device = round(r.Value, m.decimals), r.EffectiveAt, r.DeviceID
			p.Points = m.points(p.Value)
		}
		n.NoData = n.NoData && p.Missing
		n.add(p)
	}
	n.add(oxygen)
	cons := recordedParameter("Consciousness", rpm.AssessConsciousness, in.Assessments, now, f.Assessment)
	if cons.Recorded != nil && !cons.Stale && cons.Recorded.Value == rpm.ConsciousCVPU {
		cons.Points = 3
	}
	n.add(cons)
	n.Band = band(n.Score, n.RedScore)
	return n
}

// recordedParameter is a clinician-recorded parameter from the entries: the latest entry of kind
// if it is standing or fresh, else that entry marked stale — a care plan's usual state is not
// assumed back over a later observation — else missing.
func recordedParameter(name, kind string, entries []rpm.ClinicalAssessment, now time.Time, fresh time.Duration) Parameter {
	p := Parameter{Name: name}
	var latest *rpm.ClinicalAssessment
	for i := range entries {
		if e := &entries[i]; e.Kind == kind && (latest == nil || e.RecordedAt.After(latest.RecordedAt)) {
			latest = e
		}
	}
	switch {
	case latest == nil:
		p.Missing = true
		return p
	case latest.Standing || now.Sub(latest.RecordedAt) <= fresh:
		p.Recorded = latest
	default: // an observation since the care plan, gone stale: the usual state is not assumed back
		p.Recorded, p.Stale = latest, true
	}
	p.At = p.Recorded.RecordedAt
	return p
}

// Missing lists the names of the parameters that were missing or stale.
func (n NEWS2) Missing() []string {
	var out []string
	for _, p := range n.Parameters {
		if p.Missing || p.Stale {
			out = append(out, p.Name)
		}
	}
	return out
}

// Ceiling is the highest the score could be if every stale parameter still scored its worst:
// a score that fell only because readings went stale has not shown the patient is better.
func (n NEWS2) Ceiling() NEWS2 {
	c := n
	for _, p := range n.Parameters {
		if p.Stale {
			worst := worstPoints(p)
			c.Score += worst - p.Points
			c.RedScore = c.RedScore || worst == 3
		}
	}
	c.Band = band(c.Score, c.RedScore)
	return c
}

// worstPoints is the most a parameter can score: 2 for supplemental oxygen, 3 for the others.
func worstPoints(p Parameter) int {
	if p.Recorded != nil && p.Recorded.Kind == rpm.AssessOxygen {
		return 2
	}
	return 3
}

// forgottenAfter is how old a reading may be and still be stale rather than missing: a day, twice
// the chart's lowest monitoring frequency. A stale parameter counts at its worst for clearing a
// NEWS2 alert; one from a device that left the patient long ago must not hold it open for ever.
const forgottenAfter = 24 * time.Hour

func (n *NEWS2) add(p Parameter) {
	n.Parameters = append(n.Parameters, p)
	n.Score += p.Points
	n.RedScore = n.RedScore || p.Points == 3
	n.Partial = n.Partial || p.Missing || p.Stale
	n.Incomplete = len(n.Missing()) >= incompleteAt
}

// band is the clinical risk of a total (RCP chart 2): 7+ high, 5–6 medium, a single red score
// low-medium, otherwise low.
func band(score int, red bool) Band {
	switch {
	case score >= 7:
		return BandHigh
	case score >= 5:
		return BandMedium
	case red:
		return BandLowMedium
	}
	return BandLow
}

func round(v float64, decimals int) float64 {
	f := math.Pow(10, float64(decimals))
	return math.Round(v*f) / f
}

// The bands below follow shared/clinical/NEWS2.md's table row by row.

func respirationPoints(v float64) int {
	switch {
	case v <= 8:
		return 3
	case v <= 11:
		return 1
	case v <= 20:
		return 0
	case v <= 24:
		return 2
	}
	return 3
}

func spo2Points(v float64, scale2 bool, onOxygen *bool) int {
	if !scale2 {
		switch {
		case v <= 91:
			return 3
		case v <= 93:
			return 2
		case v <= 95:
			return 1
		}
		return 0
	}
	oxygen := onOxygen != nil && *onOxygen
	switch {
	case v <= 83:
		return 3
	case v <= 85:
		return 2
	case v <= 87:
		return 1
	case v <= 92, !oxygen: // 88–92, or 93 and above on air
		return 0
	case v <= 94:
		return 1
	case v <= 96:
		return 2
	}
	return 3
}

func systolicPoints(v float64) int {
	switch {
	case v <= 90:
		return 3
	case v <= 100:
		return 2
	case v <= 110:
		return 1
	case v <= 219:
		return 0
	}
	return 3
}

func pulsePoints(v float64) int {
	switch {
	case v <= 40:
		return 3
	case v <= 50:
		return 1
	case v <= 90:
		return 0
	case v <= 110:
		return 1
	case v <= 130:
		return 2
	}
	return 3
}

func temperaturePoints(v float64) int {
	switch {
	case v <= 35.0:
		return 3
	case v <= 36.0:
		return 1
	case v <= 38.0:
		return 0
	case v <= 39.0:
		return 1
	}
	return 2
}
