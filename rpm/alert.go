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

// AlertRule is an alert rule as stored: its kind, code and severity, and the kind's settings as
// JSON (the alerts package reads and validates them). Overrides names the wider rule this one
// replaces for its team or patient.
type AlertRule struct {
	ID           string
	Scope        RuleScope
	TeamID       string
	PatientID    string
	Overrides    string
	Kind         string
	Code         string // "" for NEWS2 rules
	Severity     string
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
	RuleKind        string
	Code            string // the rule's code; "" for NEWS2 and device-wide technical rules
	DeviceID        string // technical alerts: the device it is about (part of its key)
	SourceDeviceID  string // the device whose readings raised it ("" for NEWS2)
	Direction       string
	Severity        string
	State           string
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
func (a Alert) Technical() bool { return TechnicalKind(a.RuleKind) }

// TechnicalKind reports whether alert rules of kind watch a device (no data, not reporting, low
// battery, flat line, clock skew) rather than the patient.
func TechnicalKind(kind string) bool {
	switch kind {
	case "no_data", "not_reporting", "low_battery", "flat_line", "clock_skew":
		return true
	}
	return false
}

// Open reports whether the alert is not yet resolved.
func (a Alert) Open() bool { return a.State != "resolved" }

// AlertEvent is one step of an alert's history.
type AlertEvent struct {
	ID        int64
	AlertID   string
	At        time.Time
	Kind      string
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
