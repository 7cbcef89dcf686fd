package rpm

import "time"

// RuleScope says whom a rule applies to: everyone, one care team's patients, or one patient.
type RuleScope string

// The rule scopes, widest first. A narrower rule may override a wider one.
const (
	ScopeHospital RuleScope = "hospital"
	ScopeTeam     RuleScope = "team"
	ScopePatient  RuleScope = "patient"
)

// RuleKind is what an alert rule watches for.
type RuleKind string

// The rule kinds. Threshold, RateOfChange and NEWS2Rule are clinical: they watch the patient.
// The others are technical: they watch a device, go to the care team at lower urgency, and never
// count as clinical alarms.
const (
	// Threshold: a value above or below a limit, confirmed for a duration or a number of
	// consecutive readings of one device, with a separate clear limit (hysteresis).
	Threshold RuleKind = "threshold"
	// RateOfChange: a change of at least Change within Within ("weight +2 kg in 3 days").
	RateOfChange RuleKind = "rate_of_change"
	// NEWS2Rule: the NEWS2 risk band reaches MinBand, or a single parameter scores 3.
	NEWS2Rule RuleKind = "news2"
	// NoData: no reading of Code from a device for Silence ("no SpO₂ for 15 min": a sensor off).
	NoData RuleKind = "no_data"
	// NotReporting: a device has sent no reading for Missed of its expected intervals, and at
	// least MinSilence.
	NotReporting RuleKind = "not_reporting"
	// LowBattery: a device reports its charge at or below Limit (a fraction), until it is back
	// to Clear.
	LowBattery RuleKind = "low_battery"
	// FlatLine: a device sends the same value of a continuous measure far longer than physiology
	// allows (a sensor stuck), at least Repeat readings in a row.
	FlatLine RuleKind = "flat_line"
	// ClockSkew: a device's clock runs ahead of Vigil's by more than Skew.
	ClockSkew RuleKind = "clock_skew"
)

// Technical reports whether rules of kind watch a device rather than the patient. Their alerts
// are kept one per device, and never latch or escalate.
func (k RuleKind) Technical() bool {
	switch k {
	case NoData, NotReporting, LowBattery, FlatLine, ClockSkew:
		return true
	}
	return false
}

// AlertState is where an alert is in its life: firing until someone acknowledges it, resolved at
// the end (migration 003).
type AlertState string

// The alert states.
const (
	AlertFiring       AlertState = "firing"
	AlertAcknowledged AlertState = "acknowledged"
	AlertResolved     AlertState = "resolved"
)

// Severity is how urgent an alert is.
type Severity string

// The severities, least urgent first.
const (
	SeverityLow    Severity = "low"
	SeverityMedium Severity = "medium"
	SeverityHigh   Severity = "high"
)

// Severities lists the severities, least urgent first.
var Severities = []Severity{SeverityLow, SeverityMedium, SeverityHigh}

// Rank orders severities: 1 for low up to 3 for high, 0 for none.
func (s Severity) Rank() int {
	return map[Severity]int{SeverityLow: 1, SeverityMedium: 2, SeverityHigh: 3}[s]
}

// Direction says which side of a limit is abnormal; an alert is scoped to it, so that
// acknowledging a high never silences a low. NEWS2 and technical rules have none.
type Direction string

// The directions.
const (
	Above Direction = "above"
	Below Direction = "below"
)

// AlertEventKind names one step of an alert's life, as its history records it (alert_events).
type AlertEventKind string

// The event kinds.
const (
	EventFired               AlertEventKind = "fired"
	EventRetriggered         AlertEventKind = "retriggered"
	EventAcknowledged        AlertEventKind = "acknowledged"
	EventSnoozed             AlertEventKind = "snoozed"
	EventEscalated           AlertEventKind = "escalated"
	EventResolved            AlertEventKind = "resolved"
	EventAutoResolved        AlertEventKind = "auto_resolved"
	EventRecovered           AlertEventKind = "recovered"
	EventMarkedActionable    AlertEventKind = "marked_actionable"
	EventMarkedNotActionable AlertEventKind = "marked_not_actionable"
	EventNote                AlertEventKind = "note"
)

// AlertRule is an alert rule as stored: its kind, code and severity, and the kind's settings as
// JSON (the alerts package reads and validates them). Overrides names the wider rule this one
// replaces for its team or patient.
type AlertRule struct {
	ID           string
	Scope        RuleScope
	TeamID       string
	PatientID    string
	Overrides    string
	Kind         RuleKind
	Code         string // "" for NEWS2 and device-wide technical rules
	Severity     Severity
	Params       []byte
	Enabled      bool
	UpdatedAt    time.Time
	UpdatedBy    string
	UpdatedName  string // filled when listing
	ChangeReason string
}

// Alert is one alert of one patient: a rule's condition held (firing), someone is on it
// (acknowledged, maybe snoozed), or it is over (resolved).
type Alert struct {
	ID              string
	PatientID       string
	RuleID          string
	RuleKind        RuleKind
	Code            string // the rule's code; "" for NEWS2 and device-wide technical rules
	DeviceID        string // technical alerts: the device it is about (part of its key)
	SourceDeviceID  string // the device whose readings raised it ("" for NEWS2)
	Direction       Direction
	Severity        Severity
	State           AlertState
	Tier            int
	Summary         string
	OpenedAt        time.Time
	LastTriggeredAt time.Time
	TriggerCount    int
	EscalatedAt     time.Time
	AcknowledgedAt  time.Time
	SnoozedUntil    time.Time
	ResolvedAt      time.Time
	Actionable      *bool
	// RecoveredAt: the condition cleared while the alert stayed latched for an acknowledgement.
	RecoveredAt time.Time
	// Late: raised by readings that arrived after newer ones had been evaluated.
	Late bool
	// EscalationStuck: due to escalate, with no one on a higher tier of the patient's teams.
	EscalationStuck bool
	// With names who the alert is with now: the members of its tier on the patient's care teams
	// (filled when reading; empty when no one is on that tier).
	With []string
}

// Technical reports whether the alert is about a device rather than the patient's condition.
func (a Alert) Technical() bool { return a.RuleKind.Technical() }

// Open reports whether the alert is not yet resolved.
func (a Alert) Open() bool { return a.State != AlertResolved }

// AlertEvent is one step of an alert's history: what, when, by whom ("" for Vigil itself), and a
// note.
type AlertEvent struct {
	ID        int64
	AlertID   string
	At        time.Time
	Kind      AlertEventKind
	ActorID   string
	ActorName string // filled when listing
	Note      string
}

// ClinicalAssessment is a NEWS2 input recorded by a clinician: supplemental oxygen ("air" or
// "oxygen") or consciousness ("alert" or "cvpu"). A standing entry is the patient's usual state
// from the care plan ("on room air, alert at home"): it counts until a later entry replaces it,
// and a fresh observation overrides it while fresh.
type ClinicalAssessment struct {
	Kind       string
	Value      string
	RecordedAt time.Time
	RecordedBy string
	Standing   bool
}

// The clinical assessment kinds and their values.
const (
	AssessOxygen        = "supplemental_oxygen"
	AssessConsciousness = "consciousness"
	OnAir               = "air"
	OnOxygen            = "oxygen"
	ConsciousAlert      = "alert"
	ConsciousCVPU       = "cvpu"
)

// Alert audit actions.
const (
	ActionAlertList        = "alert.list"
	ActionAlertAcknowledge = "alert.acknowledge"
	ActionAlertSnooze      = "alert.snooze"
	ActionAlertResolve     = "alert.resolve"
	ActionAlertMark        = "alert.mark"
	ActionRuleChange       = "alert_rule.change"
	ActionRuleView         = "alert_rule.view"
	ActionAssessmentRecord = "assessment.record"
	ActionWebhookChange    = "webhook.change"
)

// ActionAlertView is reading one alert's history.
const ActionAlertView = "alert.view"
