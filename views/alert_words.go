package views

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// AlertItem is an alert as the pages show it: with its patient's name, and whether the viewer may
// act on it (a clinician on the patient's care team).
type AlertItem struct {
	Alert       rpm.Alert
	PatientName string
	CanAct      bool
}

// SnoozeChoices are the snooze lengths the pages offer, in minutes.
var SnoozeChoices = []Option{{"15", "15 minutes"}, {"60", "1 hour"}, {"240", "4 hours"}}

// alertProblems are the problems an alert form can come back with (?problem=…): fixed texts, so
// nothing but a key travels in the URL.
var alertProblems = map[string]string{
	"changed": "That alert had changed meanwhile (someone may have acknowledged or resolved it). Here is its current state.",
	"note":    "A note must be one line of at most 1000 characters.",
	"snooze":  "Choose how long to snooze: 15 minutes, 1 hour or 4 hours.",
	"mark":    "Say whether the alert was actionable.",
}

// AlertProblemKnown reports whether key names one of the alert forms' problems.
func AlertProblemKnown(key string) bool { _, ok := alertProblems[key]; return ok }

// severityLabel is a severity in words, capitalised.
func severityLabel(s rpm.Severity) string {
	switch s {
	case rpm.SeverityHigh:
		return "High"
	case rpm.SeverityMedium:
		return "Medium"
	case rpm.SeverityLow:
		return "Low"
	}
	return string(s)
}

// severityTone is the status-pill class of a severity (colour backs the words, never replaces them).
func severityTone(s rpm.Severity) string {
	switch s {
	case rpm.SeverityHigh:
		return "status-crit"
	case rpm.SeverityMedium:
		return "status-warn"
	}
	return "status-unknown"
}

// alertStateLabel is an alert's state in words.
func alertStateLabel(ctx context.Context, a rpm.Alert, now time.Time) string {
	switch {
	case a.State == rpm.AlertFiring && !a.RecoveredAt.IsZero():
		return "Recovered " + dateTime(ctx, a.RecoveredAt) + " — stays until acknowledged"
	case a.State == rpm.AlertFiring:
		return "Firing — not acknowledged"
	case a.State == rpm.AlertAcknowledged && a.SnoozedUntil.After(now):
		return "Snoozed until " + dateTime(ctx, a.SnoozedUntil)
	case a.State == rpm.AlertAcknowledged:
		return "Acknowledged " + dateTime(ctx, a.AcknowledgedAt)
	case a.State == rpm.AlertResolved:
		return "Resolved " + dateTime(ctx, a.ResolvedAt)
	}
	return string(a.State)
}

// withText says who an open alert is with now, by name: "with tier 1: Jisoo Kim, RN", or that no
// one is on its tier.
func withText(a rpm.Alert) string {
	if len(a.With) == 0 {
		return "no one at tier " + strconv.Itoa(a.Tier) + " of the care team"
	}
	return "with tier " + strconv.Itoa(a.Tier) + ": " + strings.Join(a.With, ", ")
}

// alertFacts are the short facts a banner or list shows beside an alert's summary, in order: late,
// recovered, who it is with, how far it escalated, and whether escalation is stuck.
// bannerMeta in static/js/live/format.js says the same.
func alertFacts(ctx context.Context, a rpm.Alert) []string {
	var out []string
	if a.Late {
		out = append(out, "raised late")
	}
	if !a.RecoveredAt.IsZero() && a.State == rpm.AlertFiring {
		out = append(out, "recovered "+dateTime(ctx, a.RecoveredAt)+", acknowledge to close")
	}
	if a.State != rpm.AlertResolved {
		out = append(out, withText(a))
	}
	if t := tierText(a.Tier); t != "" {
		out = append(out, t)
	}
	if a.EscalationStuck {
		out = append(out, "no one higher to escalate to")
	}
	return out
}

// tierText says how far an alert has escalated: "" at tier 1.
func tierText(tier int) string {
	if tier <= 1 {
		return ""
	}
	return "escalated to tier " + strconv.Itoa(tier)
}

// markText says whether the alert was judged worth answering.
func markText(a rpm.Alert) string {
	switch {
	case a.Actionable == nil:
		return ""
	case *a.Actionable:
		return "marked actionable"
	}
	return "marked not actionable"
}

// eventLabel is an alert event's kind in words.
func eventLabel(kind rpm.AlertEventKind) string {
	if s, ok := eventLabels[kind]; ok {
		return s
	}
	return string(kind)
}

var eventLabels = map[rpm.AlertEventKind]string{
	rpm.EventFired: "Fired", rpm.EventRetriggered: "Triggered again", rpm.EventAcknowledged: "Acknowledged",
	rpm.EventSnoozed: "Snoozed", rpm.EventEscalated: "Escalated", rpm.EventResolved: "Resolved",
	rpm.EventAutoResolved:     "Resolved by itself (condition cleared)",
	rpm.EventRecovered:        "Recovered (stays until acknowledged)",
	rpm.EventMarkedActionable: "Marked actionable", rpm.EventMarkedNotActionable: "Marked not actionable",
	rpm.EventNote: "Note",
}

// actorLabel names who did an event; Vigil itself when nobody did.
func actorLabel(e rpm.AlertEvent) string {
	if e.ActorName == "" {
		return "Vigil"
	}
	return e.ActorName
}

func alertURL(id string) string   { return "/alerts/" + id }
func patientURL(id string) string { return "/patients/" + id }

// pressed is aria-pressed for a mark button: whether the alert carries that mark.
func pressed(mark *bool, want bool) string {
	return strconv.FormatBool(mark != nil && *mark == want)
}
