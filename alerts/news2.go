// Package alerts holds Vigil's clinical scoring and alert logic: pure functions over readings and a
// clock passed in, with no I/O. This file is NEWS2, the National Early Warning Score 2 (Royal
// College of Physicians, 2017) — see shared/clinical/NEWS2.md.
package alerts

import (
	"math"
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

// Consciousness on the ACVPU scale: alert (Awake, to keep the word Alert for alerts), or new
// confusion, voice, pain, unresponsive.
type Consciousness string

// The consciousness levels NEWS2 distinguishes.
const (
	Awake    Consciousness = "alert"
	NewCVPU  Consciousness = "cvpu"
	unknownC Consciousness = ""
)

// NEWS2Input is what a NEWS2 score is computed from: the latest reading of each measured
// parameter, and what a clinician or the patient recorded about oxygen and consciousness (nil when
// nobody did). Scale2 is set for patients with a prescribed SpO₂ target of 88–92 %.
type NEWS2Input struct {
	Latest        map[string]rpm.Reading // by LOINC code
	OnOxygen      *bool
	Consciousness Consciousness
	Scale2        bool
}

// Parameter is one NEWS2 parameter's part of the score.
type Parameter struct {
	Name    string
	Code    string // LOINC code of a measured parameter, "" for oxygen and consciousness
	Value   float64
	Points  int
	Missing bool // no reading, or nothing recorded
	Stale   bool // a reading older than the freshness window: not counted
}

// NEWS2 is a score with how it was reached. Partial means some parameter was missing or stale and
// the total counts only the others — it can only underestimate.
type NEWS2 struct {
	Score      int
	Band       Band
	RedScore   bool // some single parameter scored 3
	Partial    bool
	Parameters []Parameter
}

// ComputeNEWS2 scores the input at now, counting only readings no older than freshness.
// Measured values are first rounded as the chart expects (respiration, SpO₂, pulse and systolic
// pressure to whole numbers, temperature to one decimal), halves away from zero; a value is then
// placed in the band that contains it, so the printed boundaries hold exactly.
func ComputeNEWS2(in NEWS2Input, now time.Time, freshness time.Duration) NEWS2 {
	var n NEWS2
	measured := []struct {
		name, code string
		decimals   int
		points     func(v float64) int
	}{
		{"Respiration rate", rpm.CodeRespRate, 0, respirationPoints},
		{"SpO₂", rpm.CodeSpO2, 0, func(v float64) int { return spo2Points(v, in.Scale2, in.OnOxygen) }},
		{"Systolic BP", rpm.CodeSystolicBP, 0, systolicPoints},
		{"Pulse", rpm.CodeHeartRate, 0, pulsePoints},
		{"Temperature", rpm.CodeBodyTemp, 1, temperaturePoints},
	}
	for _, m := range measured {
		p := Parameter{Name: m.name, Code: m.code}
		r, ok := in.Latest[m.code]
		switch {
		case !ok:
			p.Missing = true
		case now.Sub(r.EffectiveAt) > freshness:
			p.Value, p.Stale = r.Value, true
		default:
			p.Value = round(r.Value, m.decimals)
			p.Points = m.points(p.Value)
		}
		n.add(p)
	}
	air := Parameter{Name: "Air or oxygen", Missing: in.OnOxygen == nil}
	if in.OnOxygen != nil && *in.OnOxygen {
		air.Points = 2
	}
	n.add(air)
	cons := Parameter{Name: "Consciousness", Missing: in.Consciousness == unknownC}
	if in.Consciousness == NewCVPU {
		cons.Points = 3
	}
	n.add(cons)
	n.Band = band(n.Score, n.RedScore)
	return n
}

// Ceiling is the highest the score could be if every stale parameter still scored its worst (3):
// a score that fell only because readings went stale has not shown the patient is better.
func (n NEWS2) Ceiling() NEWS2 {
	c := n
	for _, p := range n.Parameters {
		if p.Stale {
			c.Score += 3 - p.Points
			c.RedScore = true
		}
	}
	c.Band = band(c.Score, c.RedScore)
	return c
}

func (n *NEWS2) add(p Parameter) {
	n.Parameters = append(n.Parameters, p)
	n.Score += p.Points
	n.RedScore = n.RedScore || p.Points == 3
	n.Partial = n.Partial || p.Missing || p.Stale
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
