package alerts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// params is a rule's settings as stored (alert_rules.params). Durations are Go duration strings
// ("2m", "72h"), so the table reads well.
type params struct {
	Unit      string        `json:"unit,omitempty"`
	Direction rpm.Direction `json:"direction,omitempty"`
	Limit     *float64      `json:"limit,omitempty"`
	For       string        `json:"for,omitempty"`
	Repeat    int           `json:"repeat,omitempty"`
	Clear     *float64      `json:"clear,omitempty"`
	ClearFor  string        `json:"clear_for,omitempty"`
	Change    float64       `json:"change,omitempty"`
	Within    string        `json:"within,omitempty"`
	Silence   string        `json:"silence,omitempty"`
	MinBand   Band          `json:"min_band,omitempty"`
	RedScore  bool          `json:"red_score,omitempty"`
	Critical  bool          `json:"critical,omitempty"`
	Missed    int           `json:"missed,omitempty"`
	MinSilent string        `json:"min_silence,omitempty"`
	Skew      string        `json:"skew,omitempty"`
}

// ParseRule reads a stored rule and validates it. A threshold without a clear limit clears at its
// own limit.
func ParseRule(s rpm.AlertRule) (Rule, error) {
	var p params
	dec := json.NewDecoder(bytes.NewReader(s.Params))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Rule{}, fmt.Errorf("rule settings: %w", err)
	}
	r := Rule{ID: s.ID, Kind: s.Kind, Code: s.Code, Unit: p.Unit, Severity: s.Severity,
		Direction: p.Direction, Repeat: p.Repeat, Change: p.Change, MinBand: p.MinBand, RedScore: p.RedScore,
		Critical: p.Critical, Missed: p.Missed}
	if p.Limit != nil {
		r.Limit = *p.Limit
		r.Clear = r.Limit
	}
	if p.Clear != nil {
		r.Clear = *p.Clear
	}
	for _, d := range []struct {
		name string
		text string
		to   *time.Duration
	}{{"for", p.For, &r.For}, {"clear_for", p.ClearFor, &r.ClearFor}, {"within", p.Within, &r.Within}, {"silence", p.Silence, &r.Silence},
		{"min_silence", p.MinSilent, &r.MinSilence}, {"skew", p.Skew, &r.Skew}} {
		if d.text == "" {
			continue
		}
		v, err := time.ParseDuration(d.text)
		if err != nil {
			return Rule{}, fmt.Errorf("rule settings: %s is not a duration such as 2m or 72h", d.name)
		}
		*d.to = v
	}
	if (r.Kind == rpm.Threshold || r.Kind == rpm.LowBattery) && p.Limit == nil {
		return Rule{}, fmt.Errorf("a %s rule needs a limit", r.Kind)
	}
	return r, r.Validate()
}

// Params is the rule's settings as stored, the inverse of ParseRule.
func (r Rule) Params() []byte {
	p := params{}
	switch r.Kind {
	case rpm.Threshold:
		limit, clear := r.Limit, r.Clear
		p.Unit, p.Direction, p.Limit, p.Clear = r.Unit, r.Direction, &limit, &clear
	case rpm.RateOfChange:
		p.Unit, p.Change, p.Within = r.Unit, r.Change, duration(r.Within)
	case rpm.NoData:
		p.Unit, p.Silence = r.Unit, duration(r.Silence)
	case rpm.NEWS2Rule:
		p.MinBand, p.RedScore = r.MinBand, r.RedScore
	case rpm.NotReporting:
		p.Missed, p.MinSilent = r.Missed, duration(r.MinSilence)
	case rpm.LowBattery:
		limit, clear := r.Limit, r.Clear
		p.Limit, p.Clear = &limit, &clear
	case rpm.FlatLine:
		p.Repeat = r.Repeat
	case rpm.ClockSkew:
		p.Skew = duration(r.Skew)
	}
	switch r.Kind {
	case rpm.Threshold, rpm.RateOfChange, rpm.NEWS2Rule:
		p.For, p.Repeat, p.ClearFor, p.Critical = duration(r.For), r.Repeat, duration(r.ClearFor), r.Critical
	}
	b, _ := json.Marshal(p)
	return b
}

// duration prints a duration as a person writes it and ParseDuration reads it back: 2m, 90s,
// 1h30m, 72h (not 2m0s).
func duration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return ShortDuration(d)
}

// ShortDuration is d without its trailing zero units: 15m rather than 15m0s, 2h rather than 2h0m0s,
// 1h30m rather than 1h30m0s. ParseDuration reads it back as d.
func ShortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Describe says what the rule watches for, in a clinician's words: "SpO₂ below 90 % for 2m,
// clears above 92 %".
func (r Rule) Describe() string {
	name, unit := metricWords(r.Code)
	switch r.Kind {
	case rpm.Threshold:
		opposite := rpm.Above
		if r.Direction == rpm.Above {
			opposite = rpm.Below
		}
		return fmt.Sprintf("%s %s %s %s%s; clears %s %s %s for %s", name, r.Direction, num(r.Limit), unit, r.onsetWords(),
			opposite, num(r.Clear), unit, duration(r.clearFor()))
	case rpm.RateOfChange:
		verb := "rises"
		if r.Change < 0 {
			verb = "falls"
		}
		return fmt.Sprintf("%s %s by %s %s within %s%s; clears after %s without such a change", name, verb, num(abs(r.Change)),
			unit, duration(r.Within), r.onsetWords(), duration(r.clearFor()))
	case rpm.NoData:
		return fmt.Sprintf("no %s from a device for %s", name, duration(r.Silence))
	case rpm.NEWS2Rule:
		var parts []string
		if r.MinBand != "" {
			parts = append(parts, "NEWS2 risk "+string(r.MinBand)+" or higher")
		}
		if r.RedScore {
			parts = append(parts, "a single parameter scoring 3")
		}
		return strings.Join(parts, ", or ") + r.onsetWords() + "; clears after " + duration(r.clearFor()) + " below it on fresh readings"
	case rpm.NotReporting:
		return fmt.Sprintf("a device sends nothing for %d of its expected intervals (at least %s)", r.Missed, duration(r.MinSilence))
	case rpm.LowBattery:
		return fmt.Sprintf("a device's battery at or below %s %%; clears at %s %%", num(r.Limit*100), num(r.Clear*100))
	case rpm.FlatLine:
		return fmt.Sprintf("a device repeats one value of a continuous measure %d times in a row, longer than physiology allows", r.Repeat)
	case rpm.ClockSkew:
		return fmt.Sprintf("a device's clock runs more than %s ahead", duration(r.Skew))
	}
	return string(r.Kind)
}

// onsetWords says how an onset is confirmed: " for 2m", " in 3 readings in a row", " (critical:
// at once)".
func (r Rule) onsetWords() string {
	var b strings.Builder
	if r.For > 0 {
		fmt.Fprintf(&b, " for %s", duration(r.For))
	}
	if r.Repeat > 1 {
		fmt.Fprintf(&b, " in %d readings in a row", r.Repeat)
	}
	if b.Len() == 0 && r.Critical {
		b.WriteString(" (critical: at once)")
	}
	return b.String()
}

// Summary is an alert's one-line text when the rule fires on a value: "SpO₂ 87 % (below 90 %)".
func (r Rule) Summary(value float64) string {
	name, unit := metricWords(r.Code)
	switch r.Kind {
	case rpm.Threshold:
		return fmt.Sprintf("%s %s %s (%s %s %s)", name, num(value), unit, r.Direction, num(r.Limit), unit)
	case rpm.RateOfChange:
		return fmt.Sprintf("%s %s by %s %s within %s", name, map[bool]string{true: "rose", false: "fell"}[r.Change > 0],
			num(abs(r.Change)), unit, duration(r.Within))
	case rpm.NoData:
		return fmt.Sprintf("No %s for %s", name, duration(r.Silence))
	case rpm.NotReporting:
		return "Device not reporting"
	case rpm.LowBattery:
		return fmt.Sprintf("Device battery %s %%", num(math.Round(value*100)))
	case rpm.FlatLine:
		return fmt.Sprintf("%s stuck at %s %s: sensor or device fault?", name, num(value), unit)
	case rpm.ClockSkew:
		return fmt.Sprintf("Device clock %s ahead", duration(time.Duration(value)*time.Second))
	}
	return r.Describe()
}

// NEWS2Summary is a NEWS2 alert's text: "NEWS2 7 (high)", partial when inputs are missing.
func NEWS2Summary(n NEWS2) string {
	s := fmt.Sprintf("NEWS2 %d (%s)", n.Score, n.Band)
	if n.RedScore && n.Band != BandHigh && n.Band != BandMedium {
		s += ", a single red score"
	}
	if n.Partial {
		s += ", partial"
	}
	return s
}

// NEWS2Severity is the severity of a NEWS2 rule's alert for a score: high while the band is high,
// the rule's own otherwise.
func (r Rule) NEWS2Severity(n NEWS2) rpm.Severity {
	if n.Band == BandHigh {
		return rpm.SeverityHigh
	}
	return r.Severity
}

func metricWords(code string) (name, unit string) {
	if m, ok := rpm.MetricByCode(code); ok {
		return m.Name, m.UnitLabel
	}
	return code, ""
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
