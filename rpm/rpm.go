// Package rpm is Vigil's domain vocabulary: the people, teams, patients and devices of a remote
// patient monitoring programme. It is a leaf: it imports nothing else from Vigil, and every other
// package speaks in its types.
package rpm

import "time"

// Role is what a signed-in user may do in Vigil. A user may hold several.
type Role string

// The roles. An admin manages devices, teams, users and the audit log but sees no clinical data
// unless also a clinician.
const (
	RoleClinician Role = "clinician"
	RolePCP       Role = "pcp"
	RolePatient   Role = "patient"
	RoleAdmin     Role = "admin"
)

// Roles lists every role, in the order they are shown.
var Roles = []Role{RoleClinician, RolePCP, RolePatient, RoleAdmin}

// Label is the role in plain words.
func (r Role) Label() string {
	switch r {
	case RoleClinician:
		return "Clinician"
	case RolePCP:
		return "Primary care physician"
	case RolePatient:
		return "Patient"
	case RoleAdmin:
		return "IT admin"
	}
	return string(r)
}

// User is a person who signs in through OpenID Connect, identified by issuer and subject.
type User struct {
	ID          string
	Issuer      string
	Subject     string
	Username    string
	DisplayName string
	Email       string
	Roles       []Role
	Disabled    bool
	// TimeZone is the IANA zone the user reads times in, "" for the hospital's; Hour12 that they
	// read a 12-hour clock.
	TimeZone string
	Hour12   bool
}

// Tier is a care-team member's place in the escalation order: tier 1 answers alerts first.
type Tier int

// The escalation tiers.
const (
	TierFirstResponder Tier = 1
	TierEscalation     Tier = 2
	TierSenior         Tier = 3
)

// CareTeam is a group of clinicians who look after a set of patients. AckWindow is how long an
// alert may go unacknowledged before it escalates to the next tier.
type CareTeam struct {
	ID          string
	Name        string
	Description string
	AckWindow   time.Duration
}

// Sex is administrative sex, as FHIR's AdministrativeGender.
type Sex string

// The administrative sexes.
const (
	SexFemale  Sex = "female"
	SexMale    Sex = "male"
	SexOther   Sex = "other"
	SexUnknown Sex = "unknown"
)

// Patient is a person whose readings Vigil monitors. MRN is the hospital's medical record number;
// it is patient data and never appears in URLs or logs (the opaque ID does).
type Patient struct {
	ID         string
	MRN        string
	FamilyName string
	GivenName  string
	BirthDate  time.Time
	Sex        Sex
	TimeZone   string
}

// Name is the patient's name as a clinician reads it: "Given Family".
func (p Patient) Name() string {
	if p.GivenName == "" {
		return p.FamilyName
	}
	return p.GivenName + " " + p.FamilyName
}

// Age is the patient's age in whole years on the given day.
func (p Patient) Age(on time.Time) int {
	y1, m1, d1 := p.BirthDate.Date()
	y2, m2, d2 := on.Date()
	age := y2 - y1
	if m2 < m1 || (m2 == m1 && d2 < d1) {
		age--
	}
	return age
}

// DeviceKind is what a device measures.
type DeviceKind string

// The device kinds Vigil knows.
const (
	KindBPCuff         DeviceKind = "bp_cuff"
	KindPulseOximeter  DeviceKind = "pulse_oximeter"
	KindScale          DeviceKind = "scale"
	KindGlucometer     DeviceKind = "glucometer"
	KindThermometer    DeviceKind = "thermometer"
	KindWearable       DeviceKind = "wearable"
	KindBedsideMonitor DeviceKind = "bedside_monitor"
)

// DeviceStatus is a device's place in its life: in service, reported lost, or retired.
type DeviceStatus string

// The device statuses. Only an active device's credential works.
const (
	DeviceActive  DeviceStatus = "active"
	DeviceLost    DeviceStatus = "lost"
	DeviceRetired DeviceStatus = "retired"
)

// RiskClass is a medical device's regulatory risk class (I, II or III).
type RiskClass string

// Device is one physical device in the fleet, identified by vendor and serial number, with the
// status it last reported.
type Device struct {
	ID        string
	Serial    string
	Vendor    string
	Model     string
	Kind      DeviceKind
	Status    DeviceStatus
	MAC       string
	RiskClass RiskClass
	Notes     string
	CreatedAt time.Time
	// Reported by the device; zero until it first posts.
	LastSeenAt time.Time
	Battery    *float64 // 0–1
	Firmware   string
	SignalDBM  *int
	// Assigned says the device is on a patient now (admins are not told whom).
	Assigned bool
	// ExpectedEvery, for a device listed for its patient, is how often the care plan expects a
	// reading from it (0: the kind's usual, DefaultReportingInterval).
	ExpectedEvery time.Duration
}

// ReportingInterval is how often the device is expected to report.
func (d Device) ReportingInterval() time.Duration {
	if d.ExpectedEvery > 0 {
		return d.ExpectedEvery
	}
	return DefaultReportingInterval(d.Kind)
}

// DeviceKinds lists the kinds in the order they are shown.
var DeviceKinds = []DeviceKind{KindBPCuff, KindPulseOximeter, KindScale, KindThermometer, KindGlucometer, KindWearable, KindBedsideMonitor}

// Valid reports whether k is a kind Vigil knows.
func (k DeviceKind) Valid() bool {
	for _, x := range DeviceKinds {
		if x == k {
			return true
		}
	}
	return false
}

// DeviceReport is the status a device sends with its readings, and what intake saw of them:
// when the latest reading arrived (zero for a post without readings) and how far ahead of Vigil's
// clock the device stamped it.
type DeviceReport struct {
	DeviceID      string
	At            time.Time
	Battery       *float64
	Firmware      string
	SignalDBM     *int
	LastReadingAt time.Time
	ClockAhead    *time.Duration
}

// DefaultReportingInterval is how often a device of kind usually reports, when the care plan does
// not say: continuous monitors and wearables every few seconds, spot-check devices once a day.
func DefaultReportingInterval(kind DeviceKind) time.Duration {
	switch kind {
	case KindBedsideMonitor, KindPulseOximeter:
		return 10 * time.Second
	case KindWearable:
		return 30 * time.Second
	}
	return 24 * time.Hour
}
