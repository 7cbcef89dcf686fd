package handlers

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/alerts"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/views"
)

// maxReason bounds the reason given for a change of a rule.
const maxReason = 200

// formOf is a rule's settings as its edit form shows them.
func formOf(r alerts.Rule) views.RuleForm {
	f := views.RuleForm{Kind: string(r.Kind), Direction: string(r.Direction), Severity: string(r.Severity), Unit: r.Unit,
		Critical: r.Critical, For: dur(r.For), ClearFor: dur(r.ClearFor)}
	if r.Repeat > 0 {
		f.Repeat = strconv.Itoa(r.Repeat)
	}
	switch r.Kind {
	case alerts.Threshold:
		f.Limit, f.Clear = num(r.Limit), num(r.Clear)
	case alerts.RateOfChange:
		f.Change, f.Within = num(r.Change), dur(r.Within)
	case alerts.NoData:
		f.Silence = dur(r.Silence)
	}
	return f
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func dur(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// submittedForm is the edit form as the clinician filled it in, to show again with a problem.
func submittedForm(c echo.Context, base alerts.Rule) views.RuleForm {
	f := views.RuleForm{Kind: string(base.Kind), Direction: string(base.Direction)}
	for name, to := range map[string]*string{"severity": &f.Severity, "unit": &f.Unit, "limit": &f.Limit, "for": &f.For,
		"repeat": &f.Repeat, "clear": &f.Clear, "clear_for": &f.ClearFor, "change": &f.Change, "within": &f.Within,
		"silence": &f.Silence, "reason": &f.Reason} {
		*to = c.FormValue(name)
	}
	f.Critical = c.FormValue("critical") != ""
	return f
}

// proposedRule reads the edit form of the rule in force base into the rule it proposes, validated
// by alerts.ParseRule; problem says, specifically, what to correct. The direction, kind and code
// are base's: an override tunes a rule, it does not watch for something else.
func proposedRule(c echo.Context, base rpm.AlertRule, parsed alerts.Rule) (rpm.AlertRule, alerts.Rule, string) {
	if parsed.Kind == alerts.NEWS2Rule {
		return rpm.AlertRule{}, alerts.Rule{}, "The NEWS2 rule's settings cannot be tuned here."
	}
	params := map[string]any{"unit": c.FormValue("unit")}
	for _, f := range []struct {
		name, words string
		integer     bool
		kinds       alerts.Kind
	}{
		{"limit", "The limit", false, alerts.Threshold}, {"clear", "The clear limit", false, alerts.Threshold},
		{"repeat", "Readings in a row", true, alerts.Threshold}, {"repeat", "Readings in a row", true, alerts.RateOfChange},
		{"change", "The change", false, alerts.RateOfChange},
	} {
		text := c.FormValue(f.name)
		if parsed.Kind != f.kinds || text == "" {
			continue
		}
		v, err := strconv.ParseFloat(text, 64)
		if err != nil || f.integer && v != float64(int(v)) {
			kind := "a number"
			if f.integer {
				kind = "a whole number"
			}
			return rpm.AlertRule{}, alerts.Rule{}, f.words + " must be " + kind + "."
		}
		params[f.name] = v
	}
	for _, d := range []struct {
		name  string
		kinds []alerts.Kind
	}{
		{"for", []alerts.Kind{alerts.Threshold, alerts.RateOfChange}}, {"clear_for", []alerts.Kind{alerts.Threshold, alerts.RateOfChange}},
		{"within", []alerts.Kind{alerts.RateOfChange}}, {"silence", []alerts.Kind{alerts.NoData}},
	} {
		if text := c.FormValue(d.name); text != "" && slices.Contains(d.kinds, parsed.Kind) {
			params[d.name] = text
		}
	}
	if c.FormValue("critical") != "" && parsed.Kind != alerts.NoData {
		params["critical"] = true
	}
	if parsed.Kind == alerts.Threshold {
		params["direction"] = parsed.Direction
	}
	b, _ := json.Marshal(params)
	s := rpm.AlertRule{Kind: base.Kind, Code: base.Code, Severity: c.FormValue("severity"), Params: b, Enabled: true}
	r, err := alerts.ParseRule(s)
	if err != nil {
		// ParseRule's messages name only the setting, the code and units: safe to show.
		return rpm.AlertRule{}, alerts.Rule{}, "This rule cannot be saved: " + err.Error() + "."
	}
	if r.ClearFor > 0 && r.ClearFor < alerts.MinClearFor {
		return rpm.AlertRule{}, alerts.Rule{}, "The clear time must be at least 2m: a value back to normal for a moment does not end an episode."
	}
	s.Params = r.Params()
	if back, err := alerts.ParseRule(s); err != nil || back.Describe() != r.Describe() {
		return rpm.AlertRule{}, alerts.Rule{}, "This rule cannot be saved as written; write durations such as 90s, 10m or 72h."
	}
	return s, r, ""
}

// reasonOf reads the required reason for a change of a rule made for whose ("this patient", "this
// team", "the hospital"); the problem says what is missing.
func reasonOf(c echo.Context, whose string) (string, string) {
	reason, ok := formText(c, "reason", maxReason)
	if !ok || reason == "" {
		return "", "Say why " + whose + " needs this change (at most 200 characters)."
	}
	return reason, ""
}
