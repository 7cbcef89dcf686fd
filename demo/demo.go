// Package demo is the demo hospital: the invented users, care teams, patients, devices and shares
// that `vigil demo` seeds (with store.SeedDemo), the built-in OpenID provider signs in, and the
// tests use. It is seed data, not storage: it imports only rpm, and nothing in it reads or writes
// the database.
package demo

import (
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// Hospital is a made-up hospital that `vigil demo` seeds and the tests sign in to (New makes the
// demo's; `vigil bench` adds its own patients to it). Every name, MRN and birth date in it is
// invented.
type Hospital struct {
	Users    []User
	Teams    []Team
	Patients []Patient
	Shares   []Share
}

// User is a demo account. Sees says, in plain words, what the account may see.
type User struct {
	Username    string
	DisplayName string
	Roles       []rpm.Role
	Sees        string
}

// Password is every demo account's password at the built-in OpenID provider.
const Password = "vigil-demo"

// Subject is the OpenID Connect subject of a demo user. SubjectPrefix marks demo accounts, so a
// demo run on another address (another issuer URL) takes them over instead of adding copies.
func Subject(username string) string { return SubjectPrefix + username }

// SubjectPrefix begins the OpenID Connect subject of every demo account.
const SubjectPrefix = "vigil-demo:"

// Team is a care team with its members' escalation tiers.
type Team struct {
	Name        string
	Description string
	Members     map[string]rpm.Tier // username → tier
	// AckWindow is how long an alert waits for tier 1 before it escalates (the default when zero).
	AckWindow time.Duration
}

// Patient is a patient with their care team, devices and, for the one with a portal account, the
// username they sign in with.
type Patient struct {
	rpm.Patient
	Team     string
	Username string
	Devices  []rpm.Device
}

// Share shares a patient (by MRN) with a user for a number of days from seeding.
type Share struct {
	MRN       string
	Grantee   string
	GrantedBy string
	Reason    string
	Days      int
}

const (
	cardiology = "Cardiology RPM"
	pulmonary  = "Pulmonary RPM"
)

// New returns the demo hospital of docs/API.md, built afresh on each call, so a caller may change its
// copy (the bench adds patients) without changing anyone else's. Every patient has devices for the
// five measured NEWS2 parameters: respiration and SpO₂ (the oximeter; some also wear a band),
// systolic pressure and pulse (the cuff), and temperature (the thermometer).
func New() Hospital {
	return Hospital{
		Users: []User{
			{"admin", "Morgan Blake", []rpm.Role{rpm.RoleAdmin}, "devices, teams, users and the audit log; no clinical data"},
			{"nurse.kim", "Jisoo Kim, RN", []rpm.Role{rpm.RoleClinician}, "the cardiology patients (first responder)"},
			{"dr.osei", "Dr Kwame Osei", []rpm.Role{rpm.RoleClinician}, "the cardiology patients (escalation)"},
			{"nurse.lee", "Hannah Lee, RN", []rpm.Role{rpm.RoleClinician}, "the pulmonary patients only"},
			{"dr.patel", "Dr Priya Patel", []rpm.Role{rpm.RolePCP}, "only the patients shared with her (Pat Rivera)"},
			{"pat.rivera", "Pat Rivera", []rpm.Role{rpm.RolePatient}, "their own record only"},
		},
		Teams: []Team{
			{cardiology, "Heart failure and hypertension patients monitored at home after discharge.",
				map[string]rpm.Tier{"nurse.kim": rpm.TierFirstResponder, "dr.osei": rpm.TierEscalation}, 5 * time.Minute},
			{pulmonary, "COPD and post-COVID patients monitored at home.",
				map[string]rpm.Tier{"nurse.lee": rpm.TierFirstResponder}, 5 * time.Minute},
		},
		Patients: []Patient{
			patient("H1000001", "Rivera", "Pat", "1958-04-12", rpm.SexFemale, cardiology, "pat.rivera", "BP", "OX", "WS", "TH"),
			patient("H1000002", "Nakamura", "Hiroshi", "1949-11-03", rpm.SexMale, cardiology, "", "BP", "OX", "WS", "TH"),
			patient("H1000003", "Okonkwo", "Adaeze", "1962-07-21", rpm.SexFemale, cardiology, "", "BP", "WR", "OX", "TH"),
			patient("H1000004", "Schmidt", "Walter", "1941-02-09", rpm.SexMale, cardiology, "", "BP", "OX", "WS", "TH"),
			patient("H1000005", "Dubois", "Claire", "1970-09-30", rpm.SexFemale, cardiology, "", "BP", "GL", "OX", "TH"),
			patient("H1000006", "Haddad", "Samir", "1955-12-17", rpm.SexMale, cardiology, "", "BP", "OX", "TH"),
			patient("H1000007", "Kowalski", "Anna", "1947-05-26", rpm.SexFemale, cardiology, "", "BP", "WS", "TH", "OX"),
			patient("H1000101", "Mensah", "Kofi", "1952-03-14", rpm.SexMale, pulmonary, "", "OX", "TH", "WR", "BP"),
			patient("H1000102", "O'Brien", "Siobhan", "1960-08-08", rpm.SexFemale, pulmonary, "", "OX", "TH", "BP"),
			patient("H1000103", "Silva", "Rafael", "1944-10-01", rpm.SexMale, pulmonary, "", "OX", "BP", "TH"),
			patient("H1000104", "Lindqvist", "Ingrid", "1966-01-19", rpm.SexFemale, pulmonary, "", "OX", "WR", "BP", "TH"),
			patient("H1000105", "Ahmed", "Yusuf", "1939-06-05", rpm.SexMale, pulmonary, "", "OX", "TH", "BP"),
			patient("H1000106", "Novak", "Petra", "1975-11-11", rpm.SexFemale, pulmonary, "", "OX", "WR", "BP", "TH"),
			patient("H1000107", "Tanaka", "Emi", "1951-04-27", rpm.SexFemale, pulmonary, "", "OX", "TH", "BP"),
		},
		Shares: []Share{
			{MRN: "H1000001", Grantee: "dr.patel", GrantedBy: "dr.osei",
				Reason: "Follow-up by her primary care physician after discharge", Days: 30},
		},
	}
}

// models maps a short device code to its kind and model.
var models = map[string]struct {
	kind  rpm.DeviceKind
	model string
}{
	"BP": {rpm.KindBPCuff, "CuffSense BP-200"},
	"OX": {rpm.KindPulseOximeter, "OxiLink OX-10"},
	"WS": {rpm.KindScale, "HomeScale WS-5"},
	"TH": {rpm.KindThermometer, "TempDot TH-3"},
	"GL": {rpm.KindGlucometer, "GlucoCheck GL-7"},
	"WR": {rpm.KindWearable, "PulseBand WR-1"},
}

// History is how far back the demo's device assignments start from the time of seeding, so that
// `vigil demo` can store that much history for every device.
const History = 30 * 24 * time.Hour

// Vendor is every demo device's vendor, so demo devices are easy to tell from real ones.
const Vendor = "Vigil Demo Devices"

func patient(mrn, family, given, born string, sex rpm.Sex, team, username string, devices ...string) Patient {
	birth, err := time.Parse(time.DateOnly, born)
	if err != nil {
		panic(err)
	}
	p := Patient{
		Patient:  rpm.Patient{MRN: mrn, FamilyName: family, GivenName: given, BirthDate: birth, Sex: sex, TimeZone: "Europe/London"},
		Team:     team,
		Username: username,
	}
	for _, code := range devices {
		m := models[code]
		p.Devices = append(p.Devices, rpm.Device{
			Serial: "DEMO-" + code + "-" + mrn[1:], Vendor: Vendor, Model: m.model,
			Kind: m.kind, Status: rpm.DeviceActive,
		})
	}
	return p
}
