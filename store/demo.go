package store

import (
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// DemoHospital is the made-up hospital that `vigil demo` seeds and the tests sign in to. Every name,
// MRN and birth date in it is invented.
type DemoHospital struct {
	Users    []DemoUser
	Teams    []DemoTeam
	Patients []DemoPatient
	Shares   []DemoShare
}

// DemoUser is a demo account. Sees says, in plain words, what the account may see.
type DemoUser struct {
	Username    string
	DisplayName string
	Roles       []rpm.Role
	Sees        string
}

// DemoPassword is every demo account's password at the built-in OpenID provider.
const DemoPassword = "vigil-demo"

// DemoSubject is the OpenID Connect subject of a demo user. The prefix marks demo accounts, so a
// demo run on another address (another issuer URL) takes them over instead of adding copies.
func DemoSubject(username string) string { return demoSubjectPrefix + username }

const demoSubjectPrefix = "vigil-demo:"

// DemoTeam is a care team with its members' escalation tiers.
type DemoTeam struct {
	Name        string
	Description string
	Members     map[string]rpm.Tier // username → tier
	// AckWindow is how long an alert waits for tier 1 before it escalates (the default when zero).
	AckWindow time.Duration
}

// DemoPatient is a patient with their care team, devices and, for the one with a portal account,
// the username they sign in with.
type DemoPatient struct {
	rpm.Patient
	Team     string
	Username string
	Devices  []rpm.Device
}

// DemoShare shares a patient (by MRN) with a user for a number of days from seeding.
type DemoShare struct {
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

// Demo is the demo hospital of API.md. Every patient has devices for the five measured NEWS2
// parameters: respiration and SpO₂ (the oximeter; some also wear a band), systolic pressure and
// pulse (the cuff), and temperature (the thermometer).
var Demo = DemoHospital{
	Users: []DemoUser{
		{"admin", "Morgan Blake", []rpm.Role{rpm.RoleAdmin}, "devices, teams, users and the audit log; no clinical data"},
		{"nurse.kim", "Jisoo Kim, RN", []rpm.Role{rpm.RoleClinician}, "the cardiology patients (first responder)"},
		{"dr.osei", "Dr Kwame Osei", []rpm.Role{rpm.RoleClinician}, "the cardiology patients (escalation)"},
		{"nurse.lee", "Hannah Lee, RN", []rpm.Role{rpm.RoleClinician}, "the pulmonary patients only"},
		{"dr.patel", "Dr Priya Patel", []rpm.Role{rpm.RolePCP}, "only the patients shared with her (Pat Rivera)"},
		{"pat.rivera", "Pat Rivera", []rpm.Role{rpm.RolePatient}, "their own record only"},
	},
	Teams: []DemoTeam{
		{cardiology, "Heart failure and hypertension patients monitored at home after discharge.",
			map[string]rpm.Tier{"nurse.kim": rpm.TierFirstResponder, "dr.osei": rpm.TierEscalation}, 5 * time.Minute},
		{pulmonary, "COPD and post-COVID patients monitored at home.",
			map[string]rpm.Tier{"nurse.lee": rpm.TierFirstResponder}, 5 * time.Minute},
	},
	Patients: []DemoPatient{
		demoPatient("H1000001", "Rivera", "Pat", "1958-04-12", rpm.SexFemale, cardiology, "pat.rivera", "BP", "OX", "WS", "TH"),
		demoPatient("H1000002", "Nakamura", "Hiroshi", "1949-11-03", rpm.SexMale, cardiology, "", "BP", "OX", "WS", "TH"),
		demoPatient("H1000003", "Okonkwo", "Adaeze", "1962-07-21", rpm.SexFemale, cardiology, "", "BP", "WR", "OX", "TH"),
		demoPatient("H1000004", "Schmidt", "Walter", "1941-02-09", rpm.SexMale, cardiology, "", "BP", "OX", "WS", "TH"),
		demoPatient("H1000005", "Dubois", "Claire", "1970-09-30", rpm.SexFemale, cardiology, "", "BP", "GL", "OX", "TH"),
		demoPatient("H1000006", "Haddad", "Samir", "1955-12-17", rpm.SexMale, cardiology, "", "BP", "OX", "TH"),
		demoPatient("H1000007", "Kowalski", "Anna", "1947-05-26", rpm.SexFemale, cardiology, "", "BP", "WS", "TH", "OX"),
		demoPatient("H1000101", "Mensah", "Kofi", "1952-03-14", rpm.SexMale, pulmonary, "", "OX", "TH", "WR", "BP"),
		demoPatient("H1000102", "O'Brien", "Siobhan", "1960-08-08", rpm.SexFemale, pulmonary, "", "OX", "TH", "BP"),
		demoPatient("H1000103", "Silva", "Rafael", "1944-10-01", rpm.SexMale, pulmonary, "", "OX", "BP", "TH"),
		demoPatient("H1000104", "Lindqvist", "Ingrid", "1966-01-19", rpm.SexFemale, pulmonary, "", "OX", "WR", "BP", "TH"),
		demoPatient("H1000105", "Ahmed", "Yusuf", "1939-06-05", rpm.SexMale, pulmonary, "", "OX", "TH", "BP"),
		demoPatient("H1000106", "Novak", "Petra", "1975-11-11", rpm.SexFemale, pulmonary, "", "OX", "WR", "BP", "TH"),
		demoPatient("H1000107", "Tanaka", "Emi", "1951-04-27", rpm.SexFemale, pulmonary, "", "OX", "TH", "BP"),
	},
	Shares: []DemoShare{
		{MRN: "H1000001", Grantee: "dr.patel", GrantedBy: "dr.osei",
			Reason: "Follow-up by her primary care physician after discharge", Days: 30},
	},
}

// demoModels maps a short device code to its kind and model.
var demoModels = map[string]struct {
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

// DemoHistory is how far back the demo's device assignments start from the time of seeding, so that
// `vigil demo` can store that much history for every device.
const DemoHistory = 30 * 24 * time.Hour

// demoVendor makes every demo device's vendor, so demo devices are easy to tell from real ones.
const demoVendor = "Vigil Demo Devices"

func demoPatient(mrn, family, given, born string, sex rpm.Sex, team, username string, devices ...string) DemoPatient {
	birth, err := time.Parse(time.DateOnly, born)
	if err != nil {
		panic(err)
	}
	p := DemoPatient{
		Patient:  rpm.Patient{MRN: mrn, FamilyName: family, GivenName: given, BirthDate: birth, Sex: sex, TimeZone: "Europe/London"},
		Team:     team,
		Username: username,
	}
	for _, code := range devices {
		m := demoModels[code]
		p.Devices = append(p.Devices, rpm.Device{
			Serial: "DEMO-" + code + "-" + mrn[1:], Vendor: demoVendor, Model: m.model,
			Kind: m.kind, Status: rpm.DeviceActive,
		})
	}
	return p
}
