package handlers

import (
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/alerts"
	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/views"
)

// errRuleUnreadable answers a change of a rule whose stored settings do not parse (logged with the
// rule's id): the engine skips such a rule too, so it must be looked at.
var errRuleUnreadable = rpm.Errorf(rpm.EInternal, "This rule's stored settings cannot be read, so it cannot be changed here; IT will find it in the log.")

// maxReason bounds the reason given for a change of a rule.
const maxReason = 200

// ruleEdit is a rule's edit form as submitted: which rule, what to do ("save", "off", "on"), its
// settings as typed (to show again with the problems) and the reason for the change.
type ruleEdit struct {
	Rule, Action string
	Settings     views.RuleForm
	reason       string
	reasonOK     bool
}

// readRuleEdit reads the edit form of a rule whose kind and direction are base's: an override
// tunes a rule, it does not watch for something else.
func readRuleEdit(c echo.Context, base alerts.Rule) ruleEdit {
	e := ruleEdit{Rule: c.FormValue("rule"), Action: c.FormValue("action")}
	f := views.RuleForm{Kind: base.Kind, Direction: base.Direction, Severity: rpm.Severity(c.FormValue("severity"))}
	for name, to := range map[string]*string{"unit": &f.Unit, "limit": &f.Limit, "for": &f.For,
		"repeat": &f.Repeat, "clear": &f.Clear, "clear_for": &f.ClearFor, "change": &f.Change, "within": &f.Within,
		"silence": &f.Silence, "reason": &f.Reason} {
		*to = c.FormValue(name)
	}
	f.Critical = c.FormValue("critical") != ""
	e.Settings = f
	e.reason, e.reasonOK = formText(c, "reason", maxReason)
	return e
}

// A setting of the form: its field, its words on the page, the kinds of rule it belongs to, and
// what it holds.
type setting struct {
	field, words string
	kinds        []rpm.RuleKind
	value        func(f *views.RuleForm) string
	parse        func(text string) (any, string) // the value for the stored settings, or what is wrong
}

var (
	onsetKinds = []rpm.RuleKind{rpm.Threshold, rpm.RateOfChange}
	settings   = []setting{
		{"limit", "The limit", []rpm.RuleKind{rpm.Threshold}, func(f *views.RuleForm) string { return f.Limit }, number},
		{"clear", "The clear limit", []rpm.RuleKind{rpm.Threshold}, func(f *views.RuleForm) string { return f.Clear }, number},
		{"change", "The change", []rpm.RuleKind{rpm.RateOfChange}, func(f *views.RuleForm) string { return f.Change }, number},
		{"repeat", "Readings in a row", onsetKinds, func(f *views.RuleForm) string { return f.Repeat }, wholeNumber},
		{"for", "How long it must hold", onsetKinds, func(f *views.RuleForm) string { return f.For }, durationText},
		{"clear_for", "How long it must stay clear", onsetKinds, func(f *views.RuleForm) string { return f.ClearFor }, durationText},
		{"within", "The window", []rpm.RuleKind{rpm.RateOfChange}, func(f *views.RuleForm) string { return f.Within }, durationText},
		{"silence", "The silence", []rpm.RuleKind{rpm.NoData}, func(f *views.RuleForm) string { return f.Silence }, durationText},
	}
)

func number(text string) (any, string) {
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return nil, "must be a number"
	}
	return v, ""
}

func wholeNumber(text string) (any, string) {
	v, err := strconv.Atoi(text)
	if err != nil || v < 0 {
		return nil, "must be a whole number"
	}
	return v, ""
}

func durationText(text string) (any, string) {
	if d, err := time.ParseDuration(text); err != nil || d <= 0 {
		return nil, "must be a duration such as 90s, 2m or 72h"
	}
	return text, ""
}

// proposal checks the edit as a change of base, the rule in force it tunes (parsed), and returns
// the stored rule it proposes with every problem found: each setting's, then — when they all read
// — the rule's own consistency, then the reason, each a sentence safe to show.
func (e ruleEdit) proposal(base rpm.AlertRule, parsed alerts.Rule, whose string) (rpm.AlertRule, alerts.Rule, []string) {
	var problems []string
	if parsed.Kind == rpm.NEWS2Rule || parsed.Technical() && parsed.Kind != rpm.NoData {
		problems = append(problems, "This rule's settings cannot be tuned here; it can be switched off.")
	}
	params := map[string]any{"unit": e.Settings.Unit}
	f := e.Settings
	for _, s := range settings {
		text := strings.TrimSpace(s.value(&f))
		if text == "" || !slices.Contains(s.kinds, parsed.Kind) {
			continue
		}
		if v, wrong := s.parse(text); wrong != "" {
			problems = append(problems, s.words+" "+wrong+".")
		} else {
			params[s.field] = v
		}
	}
	if f.Critical && parsed.Kind != rpm.NoData {
		params["critical"] = true
	}
	if parsed.Kind == rpm.Threshold {
		params["direction"] = parsed.Direction
	}
	if !slices.Contains(rpm.Severities, f.Severity) {
		problems = append(problems, "Choose the severity: low, medium or high.")
	}
	var proposed rpm.AlertRule
	var rule alerts.Rule
	if len(problems) == 0 {
		b, _ := json.Marshal(params)
		proposed = rpm.AlertRule{Kind: base.Kind, Code: base.Code, Severity: f.Severity, Params: b, Enabled: true}
		var problem string
		if proposed, rule, problem = checkedRule(proposed); problem != "" {
			problems = append(problems, problem)
		}
	}
	if !e.reasonOK || e.reason == "" {
		problems = append(problems, "Say why "+whose+" needs this change (at most 200 characters).")
	}
	return proposed, rule, problems
}

// checkedRule validates a proposed rule as the engine will read it, and stores its settings in
// their canonical form; problem says what is wrong.
func checkedRule(s rpm.AlertRule) (rpm.AlertRule, alerts.Rule, string) {
	r, err := alerts.ParseRule(s)
	if err != nil {
		// ParseRule's messages name only the setting, the code and units: safe to show.
		return s, r, "This rule cannot be saved: " + err.Error() + "."
	}
	if r.ClearFor > 0 && r.ClearFor < alerts.MinClearFor {
		return s, r, "How long it must stay clear must be at least 2m: a value back to normal for a moment does not end an episode."
	}
	s.Params = r.Params()
	if back, err := alerts.ParseRule(s); err != nil || back.Describe() != r.Describe() {
		return s, r, "This rule cannot be saved as written; write durations such as 90s, 10m or 72h."
	}
	return s, r, ""
}

// ruleScope is where a rule change applies — one patient, one care team, the hospital — and what
// the flow needs from it.
type ruleScope struct {
	whose   string // "this patient", "this team", "the hospital"
	patient string // the patient, for the audit and the engine; "" for a team or the hospital
	done    string // where to go once saved
	// save stores the change of base and returns the id of the rule saved.
	save func(c echo.Context, base, change rpm.AlertRule) (string, error)
	// again shows the page again with the problems, the form as submitted.
	again func(c echo.Context, editing string, problems string, form views.RuleForm) error
	// onOff lets the form switch the rule back on as well as off (the hospital's defaults).
	onOff bool
}

// changeRule is the one flow of every rule edit: read the form as a change of base (tune it, or
// switch it off or on), report every problem on the form with nothing saved, or save it with its
// reason and who changed it, audit it, and let the engine resolve alerts of rules no longer in
// force.
func (h *Handlers) changeRule(c echo.Context, base rpm.AlertRule, scope ruleScope) error {
	parsed, err := alerts.ParseRule(base)
	if err != nil {
		h.log.Error("a stored alert rule cannot be read", "rule", base.ID, "err", err)
		return errRuleUnreadable
	}
	e := readRuleEdit(c, parsed)
	change, problems := base, []string(nil)
	switch {
	case e.Action == "off" || scope.onOff && e.Action == "on":
		change.Enabled = e.Action == "on"
		if !e.reasonOK || e.reason == "" {
			problems = append(problems, "Say why "+scope.whose+" needs this change (at most 200 characters).")
		}
	default:
		change, _, problems = e.proposal(base, parsed, scope.whose)
		change.Enabled = change.Enabled && (!scope.onOff || base.Enabled)
	}
	if len(problems) > 0 {
		form := e.Settings
		if e.Action == "off" || e.Action == "on" {
			form = formOf(parsed)
			form.Reason = e.Settings.Reason
		}
		return scope.again(c, base.ID, strings.Join(problems, " "), form)
	}
	u, _ := auth.Viewer(c)
	change.UpdatedBy, change.ChangeReason = u.ID, e.reason
	id, err := scope.save(c, base, change)
	if err != nil {
		return err
	}
	if err := h.audit(c, rpm.ActionRuleChange, scope.patient, "alert_rule", id); err != nil {
		return err
	}
	if scope.patient != "" {
		h.rulesChanged(c, scope.patient)
	}
	return c.Redirect(http.StatusSeeOther, scope.done)
}

// storedForm is a stored rule's settings as its edit form shows them; empty for a rule whose
// settings do not read (its row already says it is not valid and not evaluated).
func storedForm(s rpm.AlertRule) views.RuleForm {
	r, err := alerts.ParseRule(s)
	if err != nil {
		return views.RuleForm{Kind: s.Kind}
	}
	return formOf(r)
}

// formOf is a rule's settings as its edit form shows them.
func formOf(r alerts.Rule) views.RuleForm {
	f := views.RuleForm{Kind: r.Kind, Direction: r.Direction, Severity: r.Severity, Unit: r.Unit,
		Critical: r.Critical, For: dur(r.For), ClearFor: dur(r.ClearFor)}
	if r.Repeat > 0 {
		f.Repeat = strconv.Itoa(r.Repeat)
	}
	switch r.Kind {
	case rpm.Threshold:
		f.Limit, f.Clear = num(r.Limit), num(r.Clear)
	case rpm.RateOfChange:
		f.Change, f.Within = num(r.Change), dur(r.Within)
	case rpm.NoData:
		f.Silence = dur(r.Silence)
	}
	return f
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func dur(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return alerts.ShortDuration(d)
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
