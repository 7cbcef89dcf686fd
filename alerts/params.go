package alerts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// params is a rule's settings as stored (alert_rules.params). Durations are Go duration strings
// ("2m", "72h"), so the table reads well.
type params struct {
	Unit      string    `json:"unit,omitempty"`
	Direction Direction `json:"direction,omitempty"`
	Limit     *float64  `json:"limit,omitempty"`
	For       string    `json:"for,omitempty"`
	Repeat    int       `json:"repeat,omitempty"`
	Clear     *float64  `json:"clear,omitempty"`
	ClearFor  string    `json:"clear_for,omitempty"`
	Change    float64   `json:"change,omitempty"`
	Within    string    `json:"within,omitempty"`
	Silence   string    `json:"silence,omitempty"`
	MinBand   Band      `json:"min_band,omitempty"`
	RedScore  bool      `json:"red_score,omitempty"`
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
	r := Rule{ID: s.ID, Kind: Kind(s.Kind), Code: s.Code, Unit: p.Unit, Severity: Severity(s.Severity),
		Direction: p.Direction, Repeat: p.Repeat, Change: p.Change, MinBand: p.MinBand, RedScore: p.RedScore}
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
	}{{"for", p.For, &r.For}, {"clear_for", p.ClearFor, &r.ClearFor}, {"within", p.Within, &r.Within}, {"silence", p.Silence, &r.Silence}} {
		if d.text == "" {
			continue
		}
		v, err := time.ParseDuration(d.text)
		if err != nil {
			return Rule{}, fmt.Errorf("rule settings: %s is not a duration such as 2m or 72h", d.name)
		}
		*d.to = v
	}
	if r.Kind == Threshold && p.Limit == nil {
		return Rule{}, fmt.Errorf("a threshold needs a limit")
	}
	return r, r.Validate()
}

// Params is the rule's settings as stored, the inverse of ParseRule.
func (r Rule) Params() []byte {
	p := params{}
	switch r.Kind {
	case Threshold:
		limit, clear := r.Limit, r.Clear
		p.Unit, p.Direction, p.Limit, p.Repeat, p.Clear = r.Unit, r.Direction, &limit, r.Repeat, &clear
		p.For, p.ClearFor = duration(r.For), duration(r.ClearFor)
	case RateOfChange:
		p.Unit, p.Change, p.Within = r.Unit, r.Change, duration(r.Within)
	case NoData:
		p.Unit, p.Silence = r.Unit, duration(r.Silence)
	case NEWS2Rule:
		p.MinBand, p.RedScore = r.MinBand, r.RedScore
	}
	b, _ := json.Marshal(p)
	return b
}

func duration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	s := d.String()
	// time.Duration prints 2m0s; keep the short form a person would write.
	s = strings.TrimSuffix(s, "0s")
	s = strings.TrimSuffix(s, "0m")
	if s == "" {
		return "0s"
	}
	return s
}

// Describe says what the rule watches for, in a clinician's words: "SpO₂ below 90 % for 2m,
// clears above 92 %".
func (r Rule) Describe() string {
	name, unit := metricWords(r.Code)
	switch r.Kind {
	case Threshold:
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s %s %s", name, r.Direction, num(r.Limit), unit)
		if r.For > 0 {
			fmt.Fprintf(&b, " for %s", duration(r.For))
		}
		if r.Repeat > 1 {
			fmt.Fprintf(&b, " in %d readings in a row", r.Repeat)
		}
		opposite := Above
		if r.Direction == Above {
			opposite = Below
		}
		if r.Clear != r.Limit || r.ClearFor > 0 {
			fmt.Fprintf(&b, "; clears %s %s %s", opposite, num(r.Clear), unit)
			if r.ClearFor > 0 {
				fmt.Fprintf(&b, " for %s", duration(r.ClearFor))
			}
		}
		return b.String()
	case RateOfChange:
		verb := "rises"
		if r.Change < 0 {
			verb = "falls"
		}
		return fmt.Sprintf("%s %s by %s %s within %s", name, verb, num(abs(r.Change)), unit, duration(r.Within))
	case NoData:
		return fmt.Sprintf("no %s from a device for %s", name, duration(r.Silence))
	case NEWS2Rule:
		var parts []string
		if r.MinBand != "" {
			parts = append(parts, "NEWS2 risk "+string(r.MinBand)+" or higher")
		}
		if r.RedScore {
			parts = append(parts, "a single parameter scoring 3")
		}
		return strings.Join(parts, ", or ")
	}
	return string(r.Kind)
}

// Summary is an alert's one-line text when the rule fires on a value: "SpO₂ 87 % (below 90 %)".
func (r Rule) Summary(value float64) string {
	name, unit := metricWords(r.Code)
	switch r.Kind {
	case Threshold:
		return fmt.Sprintf("%s %s %s (%s %s %s)", name, num(value), unit, r.Direction, num(r.Limit), unit)
	case RateOfChange:
		return fmt.Sprintf("%s %s by %s %s within %s", name, map[bool]string{true: "rose", false: "fell"}[r.Change > 0],
			num(abs(r.Change)), unit, duration(r.Within))
	case NoData:
		return fmt.Sprintf("No %s for %s", name, duration(r.Silence))
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
func (r Rule) NEWS2Severity(n NEWS2) Severity {
	if n.Band == BandHigh {
		return High
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

// EncodeState is a rule state as stored; nil when the rule has nothing to remember beyond the
// time of the last reading (no row needed).
func EncodeState(st State) []byte {
	if !st.Firing && !st.Breaching && st.ClearingSince.IsZero() && len(st.Window) == 0 {
		return nil
	}
	b, _ := json.Marshal(st)
	return b
}

// DecodeState reads a stored state; nil or unreadable gives the empty state.
func DecodeState(b []byte) State {
	var st State
	if len(b) > 0 {
		_ = json.Unmarshal(b, &st)
	}
	return st
}
